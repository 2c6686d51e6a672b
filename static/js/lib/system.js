// A parallel or three-phase system on the dashboard: the per-unit strip, the L1/L2/L3 loads and
// the imbalance, from /api/data's `system` block (solarmon/web/systems.py decides what is up, which
// phase a unit feeds and whether the totals are complete; this file only draws it).

import { formatPower, formatValue } from './format.js';

// One unit's card: name, phase or "parallel", mode, load %, load power, fault; greyed and saying
// "not answering" when the unit dropped out.
function unitCard(unit) {
  const card = document.createElement('li');
  card.className = 'sm-unit';
  card.dataset.device = unit.device;
  card.dataset.up = unit.up ? 'true' : 'false';
  card.classList.toggle('down', !unit.up);
  card.classList.toggle('faulted', Boolean(unit.fault));
  const line = (cls, text) => {
    const element = document.createElement('div');
    element.className = cls;
    element.textContent = text;
    card.append(element);
    return element;
  };
  line('sm-unit-name', `Unit ${unit.number} · ${unit.phase || 'parallel'}`);
  if (!unit.up) {
    line('sm-unit-status', 'Not answering');
    return card;
  }
  line('sm-unit-status', unit.mode || 'mode not reported');
  const load = line('sm-unit-load', '');
  load.dataset.metric = 'load';
  load.textContent = `${unit.load_percent === null ? '–' : formatValue(unit.load_percent, 0)} % · `
    + `${unit.load_power === null ? '–' : formatPower(unit.load_power)}`;
  const fault = line(`sm-alarm ${unit.fault ? 'fault' : 'ok'} sm-unit-fault`, unit.fault ? `Fault: ${unit.fault}` : 'No fault');
  fault.dataset.fault = unit.fault || '';
  return card;
}

// Hide the tiles a system cannot fill (the API's `unreported`), and a panel left without a tile;
// a single inverter gets them all back.
function hideUnreported(keys) {
  for (const element of document.querySelectorAll('[data-system-hidden]')) {
    element.hidden = false;
    delete element.dataset.systemHidden;
  }
  for (const key of keys) {
    for (const tile of document.querySelectorAll(`.sm-metric[data-metric="${key}"]`)) {
      tile.hidden = true;
      tile.dataset.systemHidden = 'true';
      const panel = tile.closest('.sm-panel');
      if (panel && ![...panel.querySelectorAll('.sm-metric[data-metric]')].some((t) => !t.hidden)) {
        panel.hidden = true;
        panel.dataset.systemHidden = 'true';
      }
    }
  }
}

// The system panel: hidden for a single inverter (the page then looks exactly as before).
export function renderSystem(system) {
  const panel = document.getElementById('system-panel');
  if (!panel) return;
  panel.hidden = !system;
  hideUnreported(system ? system.unreported : []);
  if (!system) return;
  document.getElementById('system-units').replaceChildren(...system.units.map(unitCard));
  const summary = document.getElementById('system-summary');
  const kind = system.layout === 'three-phase' ? 'Three-phase system' : 'Parallel system';
  const faulted = system.faulted ? `, ${system.faulted} with a fault` : '';
  summary.textContent = `${kind}: ${system.answering} of ${system.expected} units answering${faulted}.`;
  const missing = document.getElementById('system-missing');
  missing.hidden = system.totals_complete;
  missing.textContent = system.totals_complete ? '' : `Totals withheld: ${system.missing.join(', ') || 'a unit'} `
    + 'not answering (a total over fewer units would be wrong).';
  const phases = document.getElementById('system-phases');
  const shown = Object.keys(system.phases).length === 3;
  phases.hidden = system.layout !== 'three-phase';
  for (const phase of ['L1', 'L2', 'L3']) {
    const value = phases.querySelector(`[data-phase="${phase}"] .v`);
    value.textContent = shown ? formatPower(system.phases[phase]) : '–';
  }
  phases.querySelector('[data-phase="imbalance"] .v').textContent = system.imbalance_percent === null
    ? '–' : formatValue(system.imbalance_percent, 1);
}

// The values the power flow and the tiles show for a system: its totals stand for a unit's own (the
// API's `flow`, and `tiles` with every tile key: a number, a three-phase voltage per phase, or null
// while withheld: a dash). A tile no system can fill (`unreported`) has no value.
export function systemValues(snap) {
  if (!snap.system) return snap.values;
  const values = { ...snap.values };
  const { flow, tiles, unreported } = snap.system;
  for (const key of ['pv_power_total', 'load_power', 'battery_power', 'grid_power']) {
    if (key in flow) values[key] = flow[key];
    else delete values[key];
  }
  for (const [key, value] of Object.entries(tiles)) {
    if (value === null) delete values[key];
    else values[key] = value;
  }
  for (const key of unreported) delete values[key];
  return values;
}

// A system's block and the site's totals come with /api/data only: a streamed sample asks for them
// again (at most every half second) and the last ones are kept meanwhile. Returns snap -> { system,
// systems, totals }: the block of the device shown (null for a single inverter), the API's systems
// (device -> its units) and its totals over several inverters (null with one). Shared by the
// dashboard and the battery page.
export function followSystems(feed) {
  let systems = {};
  let kept = { device: null, system: null };
  let totals = null;
  let refresh = null;
  const ask = () => {
    if (!refresh) refresh = setTimeout(() => { refresh = null; feed.poll(); }, 500);
  };
  return (snap) => {
    const polled = Boolean(snap.systems); // an /api/data body, not a streamed sample
    if (polled) {
      systems = snap.systems;
      totals = snap.totals || null;
    } else if (totals) {
      ask();
    }
    if (snap.system) kept = { device: snap.device, system: snap.system };
    if (!(snap.device in systems)) return { system: null, systems, totals };
    if (!snap.system) ask();
    return { system: snap.system || (kept.device === snap.device ? kept.system : null), systems, totals };
  };
}

// The battery page's list of a system's units: each unit's share of the shared battery's current
// (the API's per-unit `battery_charging_current` / `battery_discharge_current`), or that it is not
// answering; hidden for a single inverter.
export function renderBatteryUnits(system) {
  const panel = document.getElementById('battery-units-panel');
  if (!panel) return;
  panel.hidden = !system;
  if (!system) return;
  const amps = (value) => (value === null ? '–' : formatValue(value, 0));
  document.getElementById('battery-units').replaceChildren(...system.units.map((unit) => {
    const item = document.createElement('li');
    item.className = 'sm-unit';
    item.dataset.device = unit.device;
    item.dataset.up = unit.up ? 'true' : 'false';
    item.classList.toggle('down', !unit.up);
    const name = document.createElement('div');
    name.className = 'sm-unit-name';
    name.textContent = `Unit ${unit.number} · ${unit.phase || 'parallel'}`;
    const current = document.createElement('div');
    current.className = 'sm-unit-load sm-unit-current';
    current.textContent = unit.up
      ? `charging ${amps(unit.battery_charging_current)} A · discharging ${amps(unit.battery_discharge_current)} A`
      : 'Not answering';
    item.append(name, current);
    return item;
  }));
  const note = document.getElementById('battery-units-note');
  note.textContent = system.totals_complete
    ? `One battery shared by ${system.expected} units: the values above are the system's.`
    : `The battery's values are withheld: ${system.missing.join(', ') || 'a unit'} not answering.`;
}

