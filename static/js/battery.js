// The battery page: live values (a system's shared battery: its system values), today's energy in
// and out, 24 h charts and the per-cell section.

import { apiJSON, withQuery } from './lib/api.js';
import { describeHistory, loadHistory, pointsFor, register, timeChart } from './lib/charts.js';
import { formatAge, formatValue, words } from './lib/format.js';
import { LiveFeed } from './lib/live.js';
import { renderFeedState, renderMetrics, renderSoc } from './lib/render.js';
import { cellsOf, readingsOf } from './lib/sensors.js';
import { chosenDevice, deviceSwitch } from './lib/devices.js';
import { startBms, watchBmsSoc } from './bms.js';
import { followSystems, renderBatteryUnits, systemValues } from './lib/system.js';

const el = (id) => document.getElementById(id);
const device = () => chosenDevice() || undefined;

const built = {};
const asked = {}; // the latest request per chart: an earlier answer arriving late is not drawn

async function chart(name, canvasId, statusId, kind, metrics) {
  const canvas = el(canvasId);
  const ticket = (asked[name] || 0) + 1;
  asked[name] = ticket;
  try {
    const result = await loadHistory({ device: device(), metrics, hours: 24, points: pointsFor(canvas) });
    if (asked[name] !== ticket) return;
    if (built[name]) built[name].destroy(); // drawn again: a system's own keys
    built[name] = timeChart(canvas, kind, result.series);
    register(name, built[name]);
    el(statusId).textContent = describeHistory(result.body, result.series);
  } catch (error) {
    if (asked[name] === ticket) el(statusId).textContent = `Could not load the history: ${error.message}.`;
  }
}

// Today's kWh in and out of the battery of the inverter shown (all of them when none is chosen).
async function energyToday() {
  try {
    const body = await apiJSON(withQuery('/api/energy', { period: 'day', count: 1, device: device() }));
    const devices = body.devices || {};
    const mine = device() ? devices[`inverter:${device()}`] : null;
    const kinds = mine || body.total || Object.values(devices)[0] || {};
    const last = (kind) => (Array.isArray(kinds[kind]) && kinds[kind].length ? kinds[kind][kinds[kind].length - 1] : null);
    renderMetrics({ battery_charge_kwh: last('battery_charge'), battery_discharge_kwh: last('battery_discharge') },
      {}, el('battery-energy'));
  } catch (error) {
    el('energy-note').textContent = `Energy not available: ${error.message}.`;
  }
}

// The per-cell section: a BMS's values from /api/battery (MQTT battery/#): cell voltages
// (battery/cell1..N) as tiles in cell order, its other values (temperature, SoC...) as a list
// under them; without any, the note that no BMS is connected.
async function cells() {
  let readings = [];
  const none = el('cells-none');
  none.dataset.text = none.dataset.text || none.textContent; // the template's "no BMS" words
  try {
    const body = await apiJSON('/api/battery');
    readings = readingsOf(body);
    // A part that is off says so (the API's reason), rather than waiting for a BMS.
    none.textContent = body.configured === false
      ? `${body.reason[0].toUpperCase()}${body.reason.slice(1)}.` : none.dataset.text;
  } catch (error) {
    none.textContent = `BMS values not available: ${error.message}.`;
  }
  const number = (r) => Number((r.name.match(/\d+/) || ['0'])[0]);
  const list = cellsOf(readings).sort((a, b) => number(a) - number(b) || a.name.localeCompare(b.name));
  const isCell = new Set(list.map((c) => c.name));
  const others = readings.filter((r) => !isCell.has(r.name));
  none.hidden = readings.length > 0;
  const box = el('cells');
  box.hidden = list.length === 0;
  box.replaceChildren(...list.map((cell) => {
    const div = document.createElement('div');
    div.className = 'sm-cell';
    div.dataset.cell = cell.name;
    const name = document.createElement('small');
    name.textContent = `${words(cell.label.replace(/^cell(\d)/i, 'cell $1'))} · ${formatAge(cell.ageS)}`;
    div.append(name, `${formatValue(cell.value, 3)} ${cell.unit}`.trim());
    return div;
  }));
  const values = el('bms-values');
  values.hidden = others.length === 0;
  values.replaceChildren(...others.flatMap((r) => {
    const dt = document.createElement('dt');
    dt.textContent = words(r.name);
    const dd = document.createElement('dd');
    dd.dataset.sensor = r.name;
    const v = Number(r.value);
    const digits = Number.isInteger(v) ? 0 : (Math.abs(v) < 10 ? 2 : 1); // 87 %, 18.5 °C, 3.25 A
    dd.textContent = `${formatValue(r.value, digits)} ${r.unit} · ${formatAge(r.ageS)}`.replace(/ +·/, ' ·');
    return [dt, dd];
  }));
}

function main() {
  const feed = new LiveFeed({ device: device() || '' });
  // Another inverter: its live values at once, its charts and energy on the reload.
  feed.onDevices = deviceSwitch(() => window.location.reload());
  let last = { values: {} };
  let bmsSoc = null; // the BMS's SoC, preferred over the inverter's estimate
  // A parallel / three-phase system: its one shared battery, from the system's values (the API's
  // `system` block, as on the dashboard; withheld ones are dashes), and each unit's current.
  const follow = followSystems(feed);
  let charted = false;
  feed.onUpdate = (snap) => {
    const { system } = follow(snap);
    if (system && !charted) {
      charted = true;
      charts(system.keys);
    }
    const shown = system ? systemValues({ ...snap, system }) : snap.values;
    last = { ...snap, values: shown };
    renderMetrics(shown, snap.units, el('battery-now'), snap.stale);
    renderSoc(shown, bmsSoc);
    renderBatteryUnits(system);
  };
  watchBmsSoc((soc) => { bmsSoc = soc; renderSoc(last.values || {}, bmsSoc); });
  feed.onState = renderFeedState;
  feed.start();
  window.solarmon = { ...(window.solarmon || {}), feed };
  energyToday();
  cells();
  startBms();
  setInterval(cells, 10000);
  setInterval(energyToday, 60000);
  charts();
}

// The 24 h charts. A system's history is under its own keys (the API's `system.keys`: the system
// value each shown key stands for), so its charts are drawn again with them once its block arrives.
function charts(keys = {}) {
  const mine = (metrics) => metrics.map((m) => ({ ...m, key: keys[m.key] || m.key }));
  chart('battery', 'battery-chart', 'battery-chart-status', 'line', mine([
    { key: 'battery_voltage', label: 'Voltage', unit: 'V' },
    { key: 'battery_capacity', label: 'Charge', unit: '%' },
  ]));
  chart('batteryPower', 'battery-power-chart', 'battery-power-chart-status', 'line', mine([
    { key: 'battery_charging_current', label: 'Charge current', unit: 'A' },
    { key: 'battery_discharge_current', label: 'Discharge current', unit: 'A' },
    { key: 'battery_power', label: 'Power (+ charging)', unit: 'W' },
  ]));
}

main();
