// The live dashboard (/ and /lcars): values, mode and alarms, power flow, device switcher and
// the site's totals (the server's). The command console lives in console.js.

import { alarmsOf, formatPower, formatValue, modeOf, modeTerm } from './lib/format.js';
import { apiJSON, withQuery } from './lib/api.js';
import { LiveFeed } from './lib/live.js';
import { renderFeedState, renderMetrics, renderSoc } from './lib/render.js';
import { initConsole } from './console.js';
import { chosenDevice, deviceSwitch } from './lib/devices.js';
import { watchBmsSoc } from './bms.js';
import { followSystems, renderSystem, systemValues } from './lib/system.js';

const HUB = { x: 170, y: 125 };
const FLOW_MIN_W = 5; // below this a path counts as idle (sensor noise)

// Draw one path of the power-flow picture: towards the inverter (into = true) or away from it.
function drawFlow(node, watts, into) {
  const path = document.getElementById(`flow-${node}`);
  const label = document.getElementById(`flow-${node}-value`);
  if (!path || !label) return;
  const x = Number(path.dataset.x);
  const y = Number(path.dataset.y);
  // Stop the line at the edge of the hub and of the node box, so the arrow head shows.
  const dx = HUB.x - x;
  const dy = HUB.y - y;
  const length = Math.hypot(dx, dy);
  const ux = dx / length;
  const uy = dy / length;
  const nodeEdge = Math.min(45 / Math.abs(ux || 1e-9), 25 / Math.abs(uy || 1e-9)) + 3;
  const start = { x: x + ux * nodeEdge, y: y + uy * nodeEdge };
  const end = { x: HUB.x - ux * 30, y: HUB.y - uy * 30 };
  const [from, to] = into ? [start, end] : [end, start];
  path.setAttribute('d', `M${from.x.toFixed(1)},${from.y.toFixed(1)} L${to.x.toFixed(1)},${to.y.toFixed(1)}`);
  const active = watts !== null && Math.abs(watts) >= FLOW_MIN_W;
  path.classList.toggle('active', active);
  path.dataset.direction = active ? (into ? 'in' : 'out') : 'idle';
  label.textContent = watts === null ? '–' : formatPower(Math.abs(watts));
}

// The API's derived values (catalog.derive on the server): null when absent.
const watts = (values, key) => (values[key] === undefined ? null : Number(values[key]));

function renderFlow(values) {
  drawFlow('pv', watts(values, 'pv_power_total'), true);
  drawFlow('grid', watts(values, 'grid_power'), true);
  const battery = watts(values, 'battery_power');
  drawFlow('battery', battery, battery !== null && battery < 0);
  drawFlow('load', watts(values, 'load_power'), false);
}

// Labels of the catalog's fields (/api/catalog), loaded once.
let LABELS = {};

function renderStatus(snap) {
  const mode = modeOf(snap.values);
  const modeElement = document.getElementById('mode');
  modeElement.textContent = mode || 'not reported';
  modeElement.title = modeTerm(snap.values);
  const box = document.getElementById('alarms');
  const { alarms, reported } = alarmsOf(snap, LABELS);
  box.replaceChildren();
  if (!reported) {
    const none = document.createElement('span');
    none.className = 'sm-note';
    none.textContent = 'not reported (the daemon polls QPIWS for them)';
    box.append(none);
    return;
  }
  if (!alarms.length) {
    const ok = document.createElement('span');
    ok.className = 'sm-alarm ok';
    ok.textContent = 'No warnings or faults';
    box.append(ok);
  }
  for (const alarm of alarms) {
    const pill = document.createElement('span');
    pill.className = `sm-alarm ${alarm.fault ? 'fault' : 'warning'}`;
    pill.dataset.key = alarm.key;
    pill.textContent = `${alarm.fault ? 'Fault' : 'Warning'}: ${alarm.text}`;
    box.append(pill);
  }
}

// The site's totals over several inverters: the API's `totals` block (solarmon/web/totals.py adds
// them up once, a system by its own values; a total waiting for a device is null: a dash), shown.
function renderTotals(totals) {
  const panel = document.getElementById('totals-panel');
  panel.hidden = !totals;
  if (!totals) return;
  const shown = Object.fromEntries(Object.entries(totals.values).filter(([, w]) => w !== null));
  renderMetrics(shown, totals.units, panel);
  const note = document.getElementById('totals-note');
  const waiting = [...new Set(Object.values(totals.withheld).flat())];
  if (totals.missing.length) note.textContent = `Totals withheld: ${totals.missing.join(', ')} not answering.`;
  else if (waiting.length) note.textContent = `Some totals withheld: no live value from ${waiting.join(', ')}.`;
  else note.textContent = `All ${totals.devices.length} inverters added up.`;
}

const ENERGY_REFRESH_MS = 60000;
const ENERGY_WORDS = { day: 'today', month: 'this month', year: 'this year' };

// Today's (this month's, this year's) kWh and self-sufficiency, as /api/energy reports them: the
// newest period of the chosen length. A tap on a period button shows that one.
export function energyOf(body) {
  const last = body.periods.length - 1;
  const out = { period: body.periods[last] || '' };
  for (const kind of body.kinds) out[kind] = last >= 0 ? body.total[kind][last] : null;
  out.self_sufficiency = last >= 0 ? body.self_sufficiency_percent[last] : null;
  return out;
}

function initEnergy(device) {
  let period = 'day';
  const list = document.getElementById('energy-list');
  if (!list) return;
  const load = async () => {
    try {
      const body = await apiJSON(withQuery('/api/energy', { period, count: 1, device: device() }));
      const energy = energyOf(body);
      for (const item of list.querySelectorAll('[data-energy]')) {
        const value = energy[item.dataset.energy];
        item.querySelector('.v').textContent = value === null || value === undefined
          ? '–' : formatValue(value, item.dataset.energy === 'self_sufficiency' ? 0 : 2);
      }
      list.dataset.period = period;
      document.getElementById('energy-note').textContent = `Energy ${ENERGY_WORDS[period]} (${energy.period}, `
        + `${body.timezone} time), counted from the measured power. Self-sufficiency: the share of the `
        + 'house\'s use not bought from the grid.';
    } catch (err) {
      document.getElementById('energy-note').textContent = `No energy figures: ${err.message}.`;
    }
  };
  for (const button of document.querySelectorAll('[data-energy-period]')) {
    button.addEventListener('click', () => {
      period = button.dataset.energyPeriod;
      for (const other of document.querySelectorAll('[data-energy-period]')) {
        other.classList.toggle('active', other === button);
        other.setAttribute('aria-pressed', other === button ? 'true' : 'false');
      }
      load();
    });
  }
  load();
  setInterval(load, ENERGY_REFRESH_MS);
}

function main() {
  const feed = new LiveFeed({ device: chosenDevice() });
  feed.onDevices = deviceSwitch((device) => feed.setDevice(device));
  let last = { values: {} };
  let bmsSoc = null; // the BMS's SoC (issue 18), preferred over the inverter's estimate
  watchBmsSoc((soc) => { bmsSoc = soc; renderSoc(last.values || {}, bmsSoc); });
  const follow = followSystems(feed); // a system's block, kept between streamed samples
  feed.onUpdate = (snap) => {
    const { system, totals } = follow(snap);
    const shown = system ? systemValues({ ...snap, system }) : snap.values;
    last = { ...snap, values: shown };
    renderMetrics(shown, snap.units, document, snap.stale);
    renderSoc(shown, bmsSoc);
    renderFlow(shown);
    renderSystem(system);
    const systemNote = document.getElementById('flow-system-note');
    document.getElementById('flow-note').hidden = Boolean(system);
    systemNote.hidden = !system;
    if (system) {
      systemNote.textContent = system.totals_complete
        ? `The whole system: ${system.expected} units added up (grid: the units' own estimates).`
        : 'No system totals while a unit is not answering (see System units).';
    }
    renderStatus(snap);
    renderTotals(totals);
  };
  apiJSON('/api/catalog').then((body) => {
    LABELS = Object.fromEntries(Object.entries(body.fields).map(([key, f]) => [key, f.label]));
    if (feed.snapshot) renderStatus(feed.snapshot);
  }).catch(() => {}); // without labels the alarms read as their keys in words
  feed.onState = renderFeedState;
  document.getElementById('totals-panel').hidden = true;
  document.getElementById('system-panel').hidden = true;
  feed.start();
  initConsole(() => feed.device);
  initEnergy(() => feed.device);
  window.solarmon = { ...(window.solarmon || {}), feed };
}

main();
