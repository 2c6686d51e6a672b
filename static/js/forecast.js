// The /forecast page: today's expected curve with the produced one on top, tomorrow's, the
// projected state of charge, the surplus windows and the calibration, from GET /api/forecast.

import { register, timeChart } from './lib/charts.js';
import { clock, hourPoints, kwh, loadForecast, outlookSentence, surplusText } from './forecast-common.js';

const el = (id) => document.getElementById(id);
const REFRESH_MS = 60000;
let charts = {};

function text(id, value) {
  el(id).textContent = value === null || value === undefined ? '–' : value;
}

function cell(value, cls = '') {
  const td = document.createElement('td');
  td.textContent = value;
  if (cls) td.className = cls;
  return td;
}

function renderArrays(arrays) {
  const body = el('fc-arrays');
  body.replaceChildren(...arrays.map((a) => {
    const tr = document.createElement('tr');
    const cal = a.calibration;
    const status = !cal ? 'no history yet' : cal.status === 'ok' ? `from ${cal.compared_with}`
      : cal.status === 'too_few_hours' ? 'too few hours yet (factor 1)' : 'clamped: check peak_kw';
    tr.append(cell(a.name), cell(`${a.tilt_deg}° tilt, azimuth ${a.azimuth_deg}°`), cell(a.peak_kw, 'text-end'),
      cell(cal ? cal.factor.toFixed(2) : '–', 'text-end fc-factor'), cell(cal ? cal.hours : 0, 'text-end fc-hours'),
      cell(cal ? cal.curtailed_hours : 0, 'text-end'), cell(status));
    return tr;
  }));
}

function draw(name, canvasId, series) {
  if (charts[name]) charts[name].destroy();
  charts[name] = timeChart(el(canvasId), 'line', series);
  register(name, charts[name]);
}

function render(body) {
  if (!body.available) {
    text('forecast-status', body.reason || 'No forecast yet.');
    return;
  }
  const age = body.age_s === undefined ? '' : ` made ${Math.round(body.age_s / 60)} min ago`;
  text('forecast-status', `Forecast for ${body.location ? body.location.name : 'this site'}${age}.`);
  text('fc-today-kwh', kwh(body.today.expected_kwh));
  text('fc-produced-kwh', kwh(body.today.produced_kwh));
  text('fc-tomorrow-kwh', kwh(body.tomorrow.expected_kwh));
  const hours = [...body.today.hours, ...body.tomorrow.hours];
  draw('forecast', 'forecast-chart', [
    { label: 'Expected', unit: 'W', points: hourPoints(hours, 'expected_w') },
    { label: 'Produced', unit: 'W', points: hourPoints(body.today.hours, 'produced_w') },
  ]);
  const outlook = body.outlook;
  text('fc-outlook-note', outlookSentence(outlook, body.outlook_reason));
  el('forecast-outlook-panel').dataset.cutoff = outlook && outlook.cutoff_before_sunrise ? 'before-sunrise' : '';
  if (outlook) {
    text('fc-soc-sunrise', outlook.soc_at_sunrise_pct === null ? null : `${Math.round(outlook.soc_at_sunrise_pct)} %`);
    text('fc-full-at', clock(outlook.full_at_ts) || 'not before tomorrow evening');
    text('fc-cutoff-at', clock(outlook.cutoff_at_ts) || 'not reached');
    text('fc-surplus', surplusText(outlook.surplus));
    text('fc-capacity', `${outlook.capacity_kwh} kWh (${outlook.capacity_source}), cut-off at ${outlook.cutoff_pct} %`);
    draw('forecast-soc', 'forecast-soc-chart', [
      { label: 'Projected state of charge', unit: '%', points: outlook.points.map((p) => ({ x: p.ts * 1000, y: p.soc_pct })) },
    ]);
  }
  renderArrays(body.arrays);
  text('fc-attribution', body.attribution);
}

async function refresh() {
  try {
    render(await loadForecast());
  } catch (err) {
    text('forecast-status', `The forecast is not available: ${err.message}`);
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
