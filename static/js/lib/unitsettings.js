// The settings page on a parallel system: words for the per-unit settings (charging currents,
// charger priority, output mode). /api/settings marks those rows `per_unit` and names the units;
// each unit's value is its own /api/data (device "<section>-unit<n>"), and a change goes to all
// units or one (`units` of POST /api/command). These functions only put that into words.

// Where a change goes, in words: "all 3 units" or "unit 2".
export function targetText(target, units) {
  return target === 'all' ? `all ${units.length} units` : `unit ${target}`;
}

// The units' values in one line: "60 A on every unit", or "differs between units".
export function summaryText(texts) {
  if (!texts.length) return 'not reported yet';
  const same = texts.every((text) => text === texts[0]);
  return same ? `${texts[0]} on every unit` : 'differs between units';
}

// What a unit's result in the daemon's `per_unit` reply means, in words (`now`: its value now).
export function resultText(entry, now) {
  if (entry.result === 'ack') return `unit ${entry.unit}: accepted ${entry.command}, now ${now}`;
  if (entry.result === 'not_sent') return `unit ${entry.unit}: not sent (an earlier unit refused)`;
  if (entry.result === 'nak') return `unit ${entry.unit}: refused ${entry.command} (NAK), still ${now}`;
  return `unit ${entry.unit}: ${entry.command} failed (${entry.result}), still ${now}`;
}

// The whole outcome: 'ok' when every unit took it, 'partial' when some did, else 'error'.
export function outcome(perUnit) {
  const took = perUnit.filter((entry) => entry.result === 'ack').length;
  if (took === perUnit.length) return 'ok';
  return took ? 'partial' : 'error';
}
