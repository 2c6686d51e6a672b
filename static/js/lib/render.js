// Writing snapshots into the page: every [data-metric] element, the state-of-charge bar, the
// data age in each panel header and the offline banner. Shared by the dashboard and battery pages.

import { batteryState, formatAge, formatValue } from './format.js';
import { showLiveState } from './live.js';

// Fill every [data-metric="key"] element from the snapshot's values (the API's derived values
// among them) and the battery state in words. A value the API lists as `stale` (too old to be
// live) is not among the values: its tile shows '–', greyed, with its age as a tooltip.
export function renderMetrics(values, units = {}, root = document, stale = {}) {
  const all = { ...values, battery_state: batteryState(values) };
  for (const element of root.querySelectorAll('[data-metric]')) {
    const key = element.dataset.metric;
    const digits = Number(element.dataset.digits ?? 1);
    const valueElement = element.querySelector('.v');
    if (!valueElement) continue;
    // A tile may say what an exact 0 means (data-zero): a solar charger reads 0 V at night, which
    // is not a dead battery.
    const zero = element.dataset.zero && all[key] !== undefined && Number(all[key]) === 0;
    // A three-phase system's voltage is one value per phase ({L1, L2, L3}: the API's system tiles).
    const phases = all[key] !== null && typeof all[key] === 'object' ? all[key] : null;
    valueElement.textContent = zero ? element.dataset.zero
      : phases ? Object.values(phases).map((v) => formatValue(v, digits)).join(' · ') : formatValue(all[key], digits);
    element.classList.toggle('zero', Boolean(zero));
    const unitShown = element.querySelector('.u');
    if (unitShown) unitShown.hidden = Boolean(zero);
    element.classList.toggle('aged', key in stale);
    if (key in stale) element.title = `no live value: the last one is ${formatAge(stale[key])} old`;
    else if (phases) element.title = Object.keys(phases).join(' · ');
    else element.removeAttribute('title');
    if (phases) element.dataset.phases = Object.keys(phases).join(' ');
    else delete element.dataset.phases;
    const unitElement = element.querySelector('.u');
    if (unitElement && units[key] && !unitElement.textContent) unitElement.textContent = units[key];
  }
  return all;
}

// The state of charge: the bar of the battery panel and the battery node of the power flow. A
// BMS's state of charge when one reports (`preferred`: /api/battery's `soc`, with its source
// named), else the inverter's estimate from the battery voltage.
export function renderSoc(values, preferred = null) {
  const fromBms = preferred && Number.isFinite(Number(preferred.value));
  const soc = Number(fromBms ? preferred.value : values.battery_capacity);
  const fill = document.getElementById('soc-fill');
  const text = document.getElementById('soc-value');
  if (!fill || !text) return;
  const source = document.getElementById('soc-source');
  if (source) source.textContent = fromBms ? preferred.label : 'inverter estimate';
  const known = (fromBms || values.battery_capacity !== undefined) && Number.isFinite(soc);
  const node = document.getElementById('flow-battery-soc');
  if (node) node.textContent = known ? `${formatValue(soc, 0)} %` : 'SoC –';
  text.textContent = known ? formatValue(soc, 0) : '–';
  fill.style.width = known ? `${Math.max(0, Math.min(100, soc))}%` : '0';
  fill.classList.toggle('low', known && soc < 25);
  fill.classList.toggle('mid', known && soc >= 25 && soc < 50);
}

// The feed's state: the badge, "Data: 3 s old", panel ages, and the banner when offline or stale.
export function renderFeedState(state, ageS, reason) {
  showLiveState(state);
  const ageText = ageS === null ? 'no reading yet' : `${formatAge(ageS)} old`;
  const ageElement = document.getElementById('data-age');
  if (ageElement) ageElement.textContent = ageText;
  for (const element of document.querySelectorAll('[data-age]')) {
    element.textContent = ageS === null ? '' : `updated ${formatAge(ageS)} ago`;
  }
  // Not live: the power-flow picture freezes (no moving arrows) and greys, whatever the cause.
  const live = state === 'live' || state === 'polling';
  const flow = document.getElementById('power-flow');
  if (flow) flow.dataset.live = live ? 'true' : 'false';
  const frozen = document.getElementById('flow-frozen');
  if (frozen) frozen.hidden = live || state === 'connecting';
  const banner = document.getElementById('offline-banner');
  if (!banner) return;
  const stale = state === 'stale' || state === 'offline' || state === 'unreachable';
  document.body.classList.toggle('sm-stale', stale);
  for (const element of document.querySelectorAll('.sm-metric')) element.classList.toggle('stale', stale);
  const shown = ageS === null ? '' : ` The values shown are ${formatAge(ageS)} old.`;
  banner.dataset.state = state;
  if (state === 'unreachable') {
    banner.hidden = false;
    banner.textContent = `Server unreachable: this page cannot reach solarmon (${reason || 'no answer'}); `
      + `the inverter may be fine.${shown}`;
  } else if (state === 'offline') {
    banner.hidden = false;
    banner.textContent = `Inverter not answering: ${reason || 'no data'}.${shown}`;
  } else if (state === 'stale') {
    banner.hidden = false;
    banner.textContent = `Data stale: the last reading is ${formatAge(ageS)} old. ` +
      'Is the daemon running and the inverter connected?';
  } else {
    banner.hidden = true;
  }
}
