// House, weather and BMS readings from /api/house and /api/weather as a flat list of
// {name, value, unit, ageS}, whatever the exact body (a per-sensor map or a snapshot).

function entry(name, raw, fallback) {
  if (raw && typeof raw === 'object' && !Array.isArray(raw)) {
    const ts = Number(raw.ts ?? raw.timestamp ?? fallback.ts);
    let ageS = raw.age_s ?? null;
    if (ageS === null && Number.isFinite(ts) && fallback.offsetS !== null) ageS = Date.now() / 1000 - fallback.offsetS - ts;
    if (ageS === null) ageS = fallback.ageS;
    return { name, value: raw.value, unit: raw.unit ?? fallback.units[name] ?? '', ageS: ageS === null ? null : Number(ageS) };
  }
  const own = fallback.ages && fallback.ages[name] !== undefined ? Number(fallback.ages[name]) : fallback.ageS;
  return { name, value: raw, unit: fallback.units[name] ?? '', ageS: own };
}

export function readingsOf(body) {
  if (!body || typeof body !== 'object') return [];
  if (body.sources && typeof body.sources === 'object') {
    // /api/house and /api/weather: {sources: {"house": snapshot, "house:<name>": snapshot, ...}}.
    // A source named prefix:<name> contributes its values as <name>/<key> unless it holds one.
    return Object.entries(body.sources).flatMap(([source, snap]) => {
      const sub = source.includes(':') ? source.split(':').slice(1).join(':') : '';
      return readingsOf(snap).map((r) => ({
        ...r, name: !sub ? r.name : (Object.keys(snap.values || {}).length === 1 ? sub : `${sub}/${r.name}`),
        source, key: r.name,
      }));
    }).sort((a, b) => a.name.localeCompare(b.name));
  }
  const fallback = {
    ts: body.ts, ageS: body.age_s ?? null, units: body.units || {}, ages: body.ages || null,
    offsetS: body.ts !== undefined && body.age_s !== undefined ? Date.now() / 1000 - (Number(body.ts) + Number(body.age_s)) : null,
  };
  let map = body.sensors ?? body.values ?? body.current ?? body.readings ?? {};
  if (Array.isArray(map)) {
    return map.map((s) => entry(String(s.name ?? s.sensor ?? s.topic ?? s.key), s, fallback));
  }
  if (map && typeof map !== 'object') map = {};
  return Object.entries(map).map(([name, raw]) => entry(name, raw, fallback))
    .sort((a, b) => a.name.localeCompare(b.name));
}

// Cell readings of a BMS: names like battery/cell1, battery/cell_01_voltage, cell3.
export function cellsOf(readings) {
  return readings.filter((r) => /^battery[/_:]/.test(r.name) || /(^|[/_])cell[_ ]?\d+/.test(r.name))
    .map((r) => ({ ...r, label: r.name.replace(/^battery[/_:]/, '') }));
}
