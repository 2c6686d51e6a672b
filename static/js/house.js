// The house page: every MQTT sensor with value, unit and age; the weather now (Open-Meteo);
// 24 h charts of both.

import { apiJSON } from './lib/api.js';
import { describeHistory, loadHistory, pointsFor, register, timeChart } from './lib/charts.js';
import { formatAge, formatValue, words } from './lib/format.js';
import { watchStatus } from './lib/live.js';
import { cellsOf, readingsOf } from './lib/sensors.js';

const el = (id) => document.getElementById(id);
const MAX_CHART_SERIES = 8;
// WMO weather interpretation codes, as Open-Meteo reports them.
const WEATHER_CODES = {
  0: 'clear sky', 1: 'mainly clear', 2: 'partly cloudy', 3: 'overcast', 45: 'fog', 48: 'rime fog',
  51: 'light drizzle', 53: 'drizzle', 55: 'dense drizzle', 56: 'freezing drizzle', 57: 'freezing drizzle',
  61: 'light rain', 63: 'rain', 65: 'heavy rain', 66: 'freezing rain', 67: 'heavy freezing rain',
  71: 'light snow', 73: 'snow', 75: 'heavy snow', 77: 'snow grains', 80: 'rain showers',
  81: 'rain showers', 82: 'violent rain showers', 85: 'snow showers', 86: 'heavy snow showers',
  95: 'thunderstorm', 96: 'thunderstorm with hail', 99: 'thunderstorm with heavy hail',
};

// The weather fetcher's names (solarmon/weather/client.py) in words, with Open-Meteo's default
// units for when a value came without one.
const WEATHER_NAMES = {
  temperature: ['Temperature', '°C'], humidity: ['Humidity', '%'], apparent_temperature: ['Feels like', '°C'],
  precipitation: ['Precipitation', 'mm'], rain: ['Rain', 'mm'], weather_code: ['Conditions', ''],
  cloud_cover: ['Cloud cover', '%'], pressure: ['Pressure', 'hPa'], wind_speed: ['Wind', 'km/h'],
  wind_direction: ['Wind direction', '°'], wind_gusts: ['Gusts', 'km/h'],
  shortwave_radiation: ['Sunshine (shortwave)', 'W/m²'], tilted_irradiance: ['Sunshine on the panels', 'W/m²'],
};

function weatherLabel(name) {
  const key = name.replace(/^weather[/:]/, '');
  return WEATHER_NAMES[key] ? WEATHER_NAMES[key][0] : words(key);
}

function weatherText(r) {
  if (/weather_code$/.test(r.name) && WEATHER_CODES[Number(r.value)]) {
    return `${WEATHER_CODES[Number(r.value)]} (code ${r.value})`;
  }
  const unit = r.unit || (WEATHER_NAMES[r.name] ? WEATHER_NAMES[r.name][1] : '');
  return `${formatValue(r.value, digitsFor(r.value))} ${unit}`.trim();
}

function capitalised(text) {
  return text ? text[0].toUpperCase() + text.slice(1) : '';
}

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

// Fetch readings from `url` and show them in `listId` (rows from `render`), or say in `noneId`
// that there are none, that the part is off (the API's `reason`), or why they could not be had.
async function show(url, what, noneId, listId, keep, render) {
  let readings = [];
  try {
    const body = await apiJSON(url);
    readings = readingsOf(body).filter(keep);
    if (body.configured === false) el(noneId).textContent = `${capitalised(body.reason)}.`;
  } catch (error) {
    el(noneId).textContent = `${what} not available: ${error.message}.`;
  }
  el(listId).hidden = readings.length === 0;
  el(noneId).hidden = readings.length > 0;
  return readings.map(render);
}

// House sensors, except BMS cells (they belong to the battery page).
async function sensors() {
  const listed = [];
  const rows = await show('/api/house', 'House sensors', 'sensors-none', 'sensors-table', (r) => cellsOf([r]).length === 0, (r) => {
    const row = document.createElement('tr');
    row.dataset.sensor = r.name;
    row.append(cell(words(r.name.replace(/^house[/:]/, ''))),
      cell(`${formatValue(r.value, digitsFor(r.value))} ${r.unit}`.trim(), 'text-end'),
      cell(formatAge(r.ageS), 'text-end'));
    listed.push(r);
    return row;
  });
  el('sensors').replaceChildren(...rows);
  return listed;
}

async function weather() {
  const shown = [];
  const items = await show('/api/weather', 'Weather', 'weather-none', 'weather', () => true, (r) => {
    const dt = document.createElement('dt');
    dt.textContent = weatherLabel(r.name);
    const dd = document.createElement('dd');
    dd.textContent = weatherText(r);
    shown.push(r);
    return [dt, dd];
  });
  // In the order people read a forecast (temperature first), unknown names after.
  const order = (name) => {
    const i = Object.keys(WEATHER_NAMES).indexOf(name.replace(/^weather[/:]/, ''));
    return i < 0 ? 99 : i;
  };
  const sorted = items.map((pair, i) => [pair, shown[i]]).sort((a, b) => order(a[1].name) - order(b[1].name));
  el('weather').replaceChildren(...sorted.flatMap(([pair]) => pair));
  return shown;
}

// Whether /api/historical takes `source=` (house, weather): asked of the API's OpenAPI document,
// so the page neither sends requests the server refuses nor charts an inverter's data instead.
async function historyOfSources() {
  try {
    const doc = await apiJSON('/api/openapi.json');
    const params = doc.paths['/api/historical'].get.parameters || [];
    return params.some((p) => p.name === 'source');
  } catch (error) {
    return false;
  }
}

async function chart(name, source, readings, canvasId, statusId, supported) {
  const canvas = el(canvasId);
  const numeric = readings.filter((r) => Number.isFinite(Number(r.value)) && !/weather_code$/.test(r.name));
  const box = canvas.parentElement;
  if (!numeric.length) {
    el(statusId).textContent = 'Nothing to chart yet.';
    box.hidden = true;
    return;
  }
  if (!supported) {
    el(statusId).textContent = 'The server keeps no history for these sensors yet.';
    box.hidden = true;
    return;
  }
  const from = numeric[0].source || source;
  const metrics = numeric.filter((r) => (r.source || source) === from).slice(0, MAX_CHART_SERIES)
    .map((r) => ({ key: r.key || r.name, label: words(r.name), unit: r.unit }));
  try {
    const result = await loadHistory({ source: from, metrics, hours: 24, points: pointsFor(canvas) });
    if (result.body && result.body.source && result.body.source !== from) {
      // The server answered for another source (an inverter): it keeps no history of this one.
      el(statusId).textContent = 'The server keeps no history for these sensors yet.';
      box.hidden = true;
      return;
    }
    box.hidden = false;
    register(name, timeChart(canvas, 'line', result.series));
    el(statusId).textContent = describeHistory(result.body, result.series);
  } catch (error) {
    el(statusId).textContent = `Could not load the history: ${error.message}.`;
  }
}

async function main() {
  const [house, outside, supported] = await Promise.all([sensors(), weather(), historyOfSources()]);
  chart('house', 'house', house, 'house-chart', 'house-chart-status', supported);
  chart('weather', 'weather', outside, 'weather-chart', 'weather-chart-status', supported);
  setInterval(sensors, 10000);
  setInterval(weather, 60000);
  watchStatus();
}

main();
