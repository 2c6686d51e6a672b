// The charts page (/charts, /charts/lcars): range (24 h, 7 d, 30 d, custom dates), chart type,
// metric choice, and the daily energy bars.

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
let historyChart = null;
let requestSeq = 0;

function picks() {
  const box = el('metric-picks');
  METRICS.forEach((metric, i) => {
    const wrap = document.createElement('div');
    wrap.className = 'form-check form-check-inline m-0';
    const input = document.createElement('input');
    Object.assign(input, { type: 'checkbox', className: 'form-check-input', id: `metric-${i}`, value: metric.key, checked: metric.on });
    const label = document.createElement('label');
    Object.assign(label, { className: 'form-check-label', htmlFor: input.id, textContent: metric.label });
    wrap.append(input, label);
    box.append(wrap);
  });
}

function chosenRange() {
  const value = document.querySelector('input[name="range"]:checked').value;
  if (value !== 'custom') return { hours: Number(value) };
  const start = el('range-start').value;
  const end = el('range-end').value;
  if (!start || !end) return null;
  // Whole local days: from the start date's midnight to the end of the end date.
  const from = new Date(`${start}T00:00:00`);
  const to = new Date(`${end}T00:00:00`);
  to.setDate(to.getDate() + 1);
  return { start: from.toISOString(), end: to.toISOString() };
}

async function drawHistory() {
  const range = chosenRange();
  const status = el('chart-status');
  if (!range) {
    status.textContent = 'Pick a start and an end date.';
    return;
  }
  const metrics = METRICS.filter((m) => document.querySelector(`#metric-picks input[value="${m.key}"]`).checked);
  if (!metrics.length) {
    status.textContent = 'Pick at least one metric.';
    return;
  }
  const seq = ++requestSeq;
  status.textContent = 'Loading…';
  const canvas = el('history-chart');
  try {
    const device = chosenDevice() || undefined;
    const result = await loadHistory({ device, metrics, points: pointsFor(canvas), ...range });
    if (seq !== requestSeq) return; // a newer request is on its way
    if (historyChart) historyChart.destroy();
    historyChart = timeChart(canvas, el('chart-type').value, result.series);
    register('history', historyChart);
    const missing = result.missing.length ? ` No data for: ${result.missing.map((m) => m.label).join(', ')}.` : '';
    status.textContent = describeHistory(result.body, result.series) + missing;
  } catch (error) {
    if (seq === requestSeq) status.textContent = `Could not load the history: ${error.message}.`;
  }
}

async function drawEnergy() {
  const status = el('energy-status');
  try {
    // A phone shows two weeks of bars, a wider screen a month.
    const count = window.innerWidth < 576 ? 14 : 31;
    const body = await apiJSON(withQuery('/api/energy', { period: 'day', count }));
    const periods = body.periods || [];
    const totals = body.total || {};
    const datasets = ENERGY_KINDS.filter(([kind]) => Array.isArray(totals[kind])).map(([kind, label], i) => ({
      label: `${label} (kWh)`,
      data: totals[kind].map((v) => (v === null ? null : Number(v))),
      backgroundColor: color(i),
      borderWidth: 0,
    }));
    window.Chart.defaults.maintainAspectRatio = false;
    const chart = new window.Chart(el('energy-chart'), {
      type: 'bar',
      data: { labels: periods, datasets },
      options: {
        animation: false,
        plugins: { legend: { position: 'bottom', labels: { boxWidth: 12 } } },
        scales: { x: { ticks: { maxRotation: 0, autoSkipPadding: 12 } }, y: { title: { display: true, text: 'kWh' } } },
      },
    });
    register('energy', chart);
    status.textContent = periods.length
      ? `Energy per day, ${periods[0]} to ${periods[periods.length - 1]} (${body.timezone || 'local time'}).`
      : 'No energy data yet.';
  } catch (error) {
    status.textContent = `Could not load the daily energy: ${error.message}.`;
  }
}

function main() {
  picks();
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 7 * 86400000);
  const isoDay = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  el('range-start').value = isoDay(weekAgo);
  el('range-end').value = isoDay(today);
  el('range-start').max = isoDay(today);
  el('range-end').max = isoDay(today);
  for (const radio of document.querySelectorAll('input[name="range"]')) {
    radio.addEventListener('change', () => {
      el('custom-range').hidden = radio.value !== 'custom';
      if (radio.value !== 'custom') drawHistory();
    });
  }
  el('range-apply').addEventListener('click', drawHistory);
  el('chart-type').addEventListener('change', drawHistory);
  el('metric-picks').addEventListener('change', drawHistory);
  drawHistory();
  drawEnergy();
  watchStatus();
  offerDevices(() => drawHistory());
}

main();
