// The house page: every MQTT sensor with value, unit and age; the weather now (Open-Meteo);
// 24 h charts of both.

import { apiJSON } from './lib/api.js';
import { describeHistory, loadHistory, pointsFor, register, timeChart } from './lib/charts.js';
import { formatAge, formatValue, words } from './lib/format.js';
import { showLiveState } from './lib/live.js';
import { cellsOf, readingsOf } from './lib/sensors.js';

const el = (id) => document.getElementById(id);
const MAX_CHART_SERIES = 8;

function digitsFor(value) {
  const number = Number(value);
  if (!Number.isFinite(number)) return 0;
  return Number.isInteger(number) && Math.abs(number) >= 10 ? 0 : 1;
}

function cell(text, cls = '') {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

async function sensors() {
  let readings = [];
  try {
    readings = readingsOf(await apiJSON('/api/house'));
    showLiveState('live');
  } catch (error) {
    el('sensors-none').textContent = `House sensors not available: ${error.message}.`;
    showLiveState('offline');
  }
  const cells = new Set(cellsOf(readings).map((r) => r.name));
  const list = readings.filter((r) => !cells.has(r.name));
  el('sensors-table').hidden = list.length === 0;
  el('sensors-none').hidden = list.length > 0;
  el('sensors').replaceChildren(...list.map((r) => {
    const row = document.createElement('tr');
    row.dataset.sensor = r.name;
    row.append(cell(words(r.name.replace(/^house[/_:]/, ''))),
      cell(`${formatValue(r.value, digitsFor(r.value))} ${r.unit}`.trim(), 'text-end'),
      cell(formatAge(r.ageS), 'text-end'));
    return row;
  }));
  return list;
}

async function weather() {
  let readings = [];
  try {
    readings = readingsOf(await apiJSON('/api/weather'));
  } catch (error) {
    el('weather-none').textContent = `Weather not available: ${error.message}.`;
  }
  const box = el('weather');
  box.hidden = readings.length === 0;
  el('weather-none').hidden = readings.length > 0;
  box.replaceChildren(...readings.flatMap((r) => {
    const dt = document.createElement('dt');
    dt.textContent = words(r.name.replace(/^weather[/_:]/, ''));
    const dd = document.createElement('dd');
    dd.textContent = `${formatValue(r.value, digitsFor(r.value))} ${r.unit}`.trim();
    return [dt, dd];
  }));
  return readings;
}

async function chart(name, source, readings, canvasId, statusId) {
  const canvas = el(canvasId);
  const metrics = readings.filter((r) => Number.isFinite(Number(r.value))).slice(0, MAX_CHART_SERIES)
    .map((r) => ({ key: r.name, label: words(r.name), unit: r.unit }));
  if (!metrics.length) {
    el(statusId).textContent = 'Nothing to chart yet.';
    return;
  }
  try {
    const result = await loadHistory({ source, metrics, hours: 24, points: pointsFor(canvas) });
    register(name, timeChart(canvas, 'line', result.series));
    el(statusId).textContent = describeHistory(result.body, result.series);
  } catch (error) {
    el(statusId).textContent = `Could not load the history: ${error.message}.`;
  }
}

async function main() {
  const [house, outside] = await Promise.all([sensors(), weather()]);
  chart('house', 'house', house, 'house-chart', 'house-chart-status');
  chart('weather', 'weather', outside, 'weather-chart', 'weather-chart-status');
  setInterval(sensors, 10000);
  setInterval(weather, 60000);
}

main();
