// The charts page (/charts, /charts/lcars): range (24 h, 7 d, 30 d, custom dates) with earlier /
// later, chart type and metrics — all in the page's URL, so a view can be bookmarked or shared —,
// a CSV of exactly what is shown (/api/export.csv), and energy bars per day, month or year.
// A parallel / three-phase system's history is under its own keys: the API's `system.keys` says which
// system value each key here stands for (solarmon/web/systems.py); a key it has none for is offered
// disabled.

import { apiJSON, withQuery } from './lib/api.js';
import { watchStatus } from './lib/live.js';
import { chosenDevice, offerDevices } from './lib/devices.js';
import { color, describeHistory, loadHistory, pointsFor, register, timeChart } from './lib/charts.js';

export const METRICS = [
  { key: 'pv_input_power', label: 'PV power', unit: 'W', on: true },
  { key: 'pv_power_total', label: 'PV power (all trackers)', unit: 'W', on: false },
  { key: 'ac_output_active_power', label: 'Load', unit: 'W', on: true },
  { key: 'battery_voltage', label: 'Battery voltage', unit: 'V', on: true },
  { key: 'battery_capacity', label: 'Battery charge', unit: '%', on: false },
  { key: 'battery_charging_current', label: 'Charge current', unit: 'A', on: false },
  { key: 'battery_discharge_current', label: 'Discharge current', unit: 'A', on: false },
  { key: 'battery_power', label: 'Battery power (+ charging)', unit: 'W', on: false },
  { key: 'grid_power', label: 'Grid power (estimated)', unit: 'W', on: false },
  { key: 'ac_input_voltage', label: 'Grid voltage', unit: 'V', on: false },
  { key: 'inverter_heat_sink_temperature', label: 'Heat sink', unit: '°C', on: false },
];
const ENERGY_KINDS = [
  ['pv', 'PV'], ['load', 'Load'], ['battery_charge', 'Battery in'], ['battery_discharge', 'Battery out'], ['grid', 'Grid'],
];

const el = (id) => document.getElementById(id);
const HOUR_MS = 3600e3;
const PHONE_PX = 576;
const MAX_PHONE_AXES = 2; // more y axes than this leave no room for the plot on a phone
const PRESETS = ['24', '168', '720'];
const ENERGY_COUNTS = { day: 31, month: 12, year: 5 };
let historyChart = null;
let energyChart = null;
let requestSeq = 0;

// The view: range, custom dates, end of a preset range (null: now), type, metrics, energy period.
const view = { range: '24', from: '', to: '', end: null, type: 'line', metrics: [], energy: 'day' };

const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;

// The view from the page's URL (?range=168&end=...&metrics=a,b&type=area&energy=month).
export function viewFromQuery(search, defaults) {
  const q = new URLSearchParams(search);
  const out = { ...defaults };
  const range = q.get('range');
  if (PRESETS.includes(range) || range === 'custom') out.range = range;
  if (/^\d{4}-\d{2}-\d{2}$/.test(q.get('from') || '')) out.from = q.get('from');
  if (/^\d{4}-\d{2}-\d{2}$/.test(q.get('to') || '')) out.to = q.get('to');
  const end = Date.parse(q.get('end') || '');
  out.end = Number.isFinite(end) ? end : null;
  if (['line', 'area'].includes(q.get('type'))) out.type = q.get('type');
  const keys = (q.get('metrics') || '').split(',').filter((k) => METRICS.some((m) => m.key === k));
  if (keys.length) out.metrics = keys;
  if (q.get('energy') in ENERGY_COUNTS) out.energy = q.get('energy');
  return out;
}

// The URL's query for a view (device kept).
export function queryOfView(v, deviceName = '') {
  const q = new URLSearchParams();
  if (deviceName) q.set('device', deviceName);
  q.set('range', v.range);
  if (v.range === 'custom') {
    q.set('from', v.from);
    q.set('to', v.to);
  } else if (v.end !== null) {
    q.set('end', new Date(v.end).toISOString());
  }
  q.set('metrics', v.metrics.join(','));
  q.set('type', v.type);
  q.set('energy', v.energy);
  return `?${q.toString()}`;
}

// The time window of a view: {start, end} (ms) or {error} for dates that cannot be shown.
export function windowOf(v, now = Date.now()) {
  if (v.range === 'custom') {
    if (!v.from || !v.to) return { error: 'Pick a start and an end date.' };
    if (v.from > v.to) return { error: `The start date (${v.from}) is after the end date (${v.to}): swap them.` };
    const start = new Date(`${v.from}T00:00:00`);
    const end = new Date(`${v.to}T00:00:00`);
    end.setDate(end.getDate() + 1); // whole local days: to the end of the end date
    return { start: start.getTime(), end: end.getTime() };
  }
  const end = v.end === null ? now : v.end;
  return { start: end - Number(v.range) * HOUR_MS, end };
}

// One step earlier (-1) or later (+1): the window moves by its own length, never past now.
export function stepView(v, direction, now = Date.now()) {
  if (v.range === 'custom') {
    const w = windowOf(v, now);
    if (w.error) return v;
    const days = Math.round((w.end - w.start) / (24 * HOUR_MS));
    const shift = (day) => {
      const d = new Date(`${day}T00:00:00`);
      d.setDate(d.getDate() + direction * days);
      return isoDay(d);
    };
    const moved = { ...v, from: shift(v.from), to: shift(v.to) };
    return moved.to > isoDay(new Date(now)) ? v : moved;
  }
  const end = (v.end === null ? now : v.end) + direction * Number(v.range) * HOUR_MS;
  return { ...v, end: end >= now - 60e3 ? null : end };
}

// The API's `system.keys` of a device (null: not a system, or not known), asked once per device.
const systemKeys = new Map();
function keysOf(device) {
  if (!systemKeys.has(device)) {
    systemKeys.set(device, apiJSON(withQuery('/api/data', { device: device || undefined }))
      .then((body) => (body.system ? body.system.keys : null))
      .catch(() => { systemKeys.delete(device); return null; }));
  }
  return systemKeys.get(device);
}

// A system's keys: the metrics it has a value for, under that value's key; the others are disabled
// (a single inverter gets them all back).
export function metricsOfSystem(metrics, keys) {
  if (!keys) return { metrics, none: [] };
  return { metrics: metrics.filter((m) => keys[m.key]).map((m) => ({ ...m, key: keys[m.key] })),
    none: metrics.filter((m) => !keys[m.key]) };
}

function markSystemPicks(keys) {
  for (const input of document.querySelectorAll('#metric-picks input')) {
    input.disabled = Boolean(keys) && !keys[input.value];
    input.parentElement.title = input.disabled ? 'A parallel / three-phase system has no such value of its own' : '';
  }
}

function picks() {
  const box = el('metric-picks');
  METRICS.forEach((metric, i) => {
    const wrap = document.createElement('div');
    wrap.className = 'form-check form-check-inline m-0';
    const input = document.createElement('input');
    Object.assign(input, { type: 'checkbox', className: 'form-check-input', id: `metric-${i}`, value: metric.key,
      checked: view.metrics.includes(metric.key) });
    const label = document.createElement('label');
    Object.assign(label, { className: 'form-check-label', htmlFor: input.id, textContent: metric.label });
    wrap.append(input, label);
    box.append(wrap);
  });
}

// Read the controls into the view, put the view in the URL and the CSV link.
function syncView() {
  view.range = document.querySelector('input[name="range"]:checked').value;
  view.from = el('range-start').value;
  view.to = el('range-end').value;
  view.type = el('chart-type').value;
  view.metrics = METRICS.filter((m) => document.querySelector(`#metric-picks input[value="${m.key}"]`).checked)
    .map((m) => m.key);
  window.history.replaceState(null, '', queryOfView(view, chosenDevice()));
}

function showView() {
  const radio = el(`range-${view.range}`);
  if (radio) radio.checked = true;
  el('custom-range').hidden = view.range !== 'custom';
  if (view.from) el('range-start').value = view.from;
  if (view.to) el('range-end').value = view.to;
  el('chart-type').value = view.type;
  el('range-next').disabled = view.range !== 'custom' && view.end === null;
}

async function drawHistory() {
  syncView();
  showView();
  const status = el('chart-status');
  const w = windowOf(view);
  const csv = el('csv-link');
  if (w.error) {
    status.textContent = w.error; // caught here: reversed dates never reach the server
    csv.hidden = true;
    return;
  }
  const seq = ++requestSeq;
  const keys = await keysOf(chosenDevice());
  if (seq !== requestSeq) return; // a newer request is on its way
  markSystemPicks(keys);
  const chosen = metricsOfSystem(METRICS.filter((m) => view.metrics.includes(m.key)), keys);
  let { metrics } = chosen;
  const notOfSystem = chosen.none.length ? ` A system has no ${chosen.none.map((m) => m.label).join(', ')} of its own.` : '';
  if (!metrics.length) {
    status.textContent = `Pick at least one metric.${notOfSystem}`;
    csv.hidden = true;
    return;
  }
  // A phone has room for two y axes: metrics of further units wait until others are unticked.
  let dropped = [];
  if (window.innerWidth < PHONE_PX) {
    const units = [...new Set(metrics.map((m) => m.unit))].slice(0, MAX_PHONE_AXES);
    dropped = metrics.filter((m) => !units.includes(m.unit));
    metrics = metrics.filter((m) => units.includes(m.unit));
  }
  const range = { start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() };
  csv.hidden = false;
  csv.href = withQuery('/api/export.csv', { device: chosenDevice() || undefined,
    metrics: metrics.map((m) => m.key).join(','), ...range });
  status.textContent = 'Loading…';
  const canvas = el('history-chart');
  try {
    const result = await loadHistory({ device: chosenDevice() || undefined, metrics, points: pointsFor(canvas), ...range });
    if (seq !== requestSeq) return; // a newer request is on its way
    if (historyChart) historyChart.destroy();
    historyChart = timeChart(canvas, view.type, result.series, { spanHours: (w.end - w.start) / HOUR_MS });
    historyChart.options.scales.x.min = w.start;
    historyChart.options.scales.x.max = w.end;
    historyChart.update();
    register('history', historyChart);
    const missing = result.missing.length ? ` No data for: ${result.missing.map((m) => m.label).join(', ')}.` : '';
    const hidden = dropped.length ? ` On a phone at most ${MAX_PHONE_AXES} units at once: not drawn: `
      + `${dropped.map((m) => m.label).join(', ')}.` : '';
    const when = `${new Date(w.start).toLocaleString()} to ${new Date(w.end).toLocaleString()}`;
    status.textContent = `${when}: ${describeHistory(result.body, result.series)}${missing}${hidden}${notOfSystem}`;
  } catch (error) {
    if (seq === requestSeq) status.textContent = `Could not load the history: ${error.message}.`;
  }
}

const ENERGY_WORDS = { day: 'day', month: 'month', year: 'year' };

async function drawEnergy() {
  const status = el('energy-status');
  for (const button of document.querySelectorAll('[data-energy-period]')) {
    const on = button.dataset.energyPeriod === view.energy;
    button.classList.toggle('active', on);
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
  }
  try {
    // A phone shows two weeks of daily bars, a wider screen a month.
    const count = view.energy === 'day' && window.innerWidth < PHONE_PX ? 14 : ENERGY_COUNTS[view.energy];
    const body = await apiJSON(withQuery('/api/energy', { period: view.energy, count, device: chosenDevice() || undefined }));
    const periods = body.periods || [];
    const totals = body.total || {};
    const datasets = ENERGY_KINDS.filter(([kind]) => Array.isArray(totals[kind])).map(([kind, label], i) => ({
      label: `${label} (kWh)`,
      data: totals[kind].map((v) => (v === null ? null : Number(v))),
      backgroundColor: color(i),
      borderWidth: 0,
    }));
    window.Chart.defaults.maintainAspectRatio = false;
    if (energyChart) energyChart.destroy();
    energyChart = new window.Chart(el('energy-chart'), {
      type: 'bar',
      data: { labels: periods, datasets },
      options: {
        animation: false,
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
        scales: { x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: { title: { display: true, text: 'kWh' } } },
      },
    });
    register('energy', energyChart);
    status.textContent = periods.length
      ? `Energy per ${ENERGY_WORDS[view.energy]}, ${periods[0]} to ${periods[periods.length - 1]} (${body.timezone || 'local time'}).`
      : 'No energy data yet.';
  } catch (error) {
    status.textContent = `Could not load the energy: ${error.message}.`;
  }
}

function main() {
  const defaults = { ...view, metrics: METRICS.filter((m) => m.on).map((m) => m.key) };
  const today = new Date();
  defaults.from = isoDay(new Date(today.getTime() - 7 * 86400000));
  defaults.to = isoDay(today);
  Object.assign(view, viewFromQuery(window.location.search, defaults));
  picks();
  el('range-start').max = isoDay(today);
  el('range-end').max = isoDay(today);
  showView();
  for (const radio of document.querySelectorAll('input[name="range"]')) {
    radio.addEventListener('change', () => {
      view.end = null;
      el('custom-range').hidden = radio.value !== 'custom';
      if (radio.value !== 'custom') drawHistory();
      else syncView();
    });
  }
  el('range-apply').addEventListener('click', drawHistory);
  el('range-start').addEventListener('change', () => { el('range-end').min = el('range-start').value; });
  el('chart-type').addEventListener('change', drawHistory);
  el('metric-picks').addEventListener('change', drawHistory);
  for (const [id, direction] of [['range-prev', -1], ['range-next', 1]]) {
    el(id).addEventListener('click', () => {
      syncView();
      Object.assign(view, stepView(view, direction));
      showView();
      drawHistory();
    });
  }
  for (const button of document.querySelectorAll('[data-energy-period]')) {
    button.addEventListener('click', () => {
      view.energy = button.dataset.energyPeriod;
      syncView();
      drawEnergy();
    });
  }
  drawHistory();
  drawEnergy();
  watchStatus();
  offerDevices(() => drawHistory());
}

if (el('chart-controls')) main(); // the tests import this module's functions without the page
