// One site of the fleet (/fleet/site/<site>): status and values from GET /api/fleet/<site>, and the
// history from GET /api/fleet/<site>/historical — /api/historical's shape, drawn by the same
// chart code and metric list as the charts page of a single site.

import { apiJSON } from './lib/api.js';
import { describeHistory, loadHistory, pointsFor, register, timeChart } from './lib/charts.js';
import { METRICS } from './charts.js';
import { formatAge, formatValue } from './lib/format.js';
import { kwhText, notLive, showFleetBadge, statusBadge, statusReason } from './fleet-common.js';

const el = (id) => document.getElementById(id);
const HOUR_MS = 3600e3;
const REFRESH_MS = 15000;
const DEFAULT_KEYS = ['pv_power_total', 'load_power', 'battery_capacity'];
const EXTRA = [{ key: 'load_power', label: 'Load (all outputs)', unit: 'W' }];
const CHOICES = [...METRICS, ...EXTRA];
let chart = null;
let seq = 0;

function site() {
  return el('fleet-site-root').dataset.site;
}

function base() {
  return `/api/fleet/${encodeURIComponent(site())}`;
}

function setValue(key, text) {
  const box = document.querySelector(`[data-site-value="${key}"] .v`);
  if (box) box.textContent = text;
}

async function drawSite() {
  try {
    const body = await apiJSON(base());
    const status = el('site-status');
    status.replaceChildren(statusBadge(body), document.createTextNode(` ${statusReason(body, body.lookback_s)}`));
    el('site-values').classList.toggle('sm-fleet-old', notLive(body));
    for (const key of ['pv_w', 'load_w', 'soc_percent', 'battery_w', 'grid_w']) setValue(key, formatValue(body[key], 0));
    setValue('energy_pv', kwhText((body.energy_today_wh || {}).pv));
    setValue('energy_load', kwhText((body.energy_today_wh || {}).load));
    const age = body.values_age_s ?? body.age_s;
    el('site-values-age').textContent = notLive(body) && age !== null && age !== undefined
      ? `Not live: these are the site's last values, ${formatAge(age)} old.` : '';
    const alerts = el('site-alerts');
    alerts.replaceChildren(...(body.alerts.length ? body.alerts : [null]).map((a) => {
      const li = document.createElement('li');
      li.textContent = a ? `${a.rule} (${a.severity}, ${a.source})` : 'none';
      if (a) li.className = `sm-sev-${a.severity}`;
      return li;
    }));
    showEvents(body);
    showFleetBadge(body.status === 'up' ? 'online' : 'stale', `site ${body.status}`);
  } catch (error) {
    el('site-status').textContent = `Could not load the site: ${error.message}.`;
    showFleetBadge(error.status === 0 ? 'unreachable' : 'offline', error.status === 404 ? 'unknown site' : 'store unavailable',
      error.message);
  }
}

// What the site's bridge forwarded to the central broker (fleet.broker): availability per topic and
// the newest alert messages, as they happened.
function showEvents(body) {
  el('site-events').hidden = !body.broker;
  if (!body.broker) return;
  const events = body.events || { availability: {}, alerts: [] };
  const item = (text) => Object.assign(document.createElement('li'), { textContent: text });
  const availability = Object.entries(events.availability)
    .map(([topic, v]) => item(`${topic}: ${v.state} (${formatAge(Date.now() / 1000 - v.ts)} ago)`));
  el('site-availability').replaceChildren(...(availability.length ? availability : [item('no availability heard yet')]));
  el('site-alert-events').replaceChildren(...events.alerts.map((a) => item(
    `${a.state === 'firing' ? 'fired' : 'cleared'}: ${a.message || a.rule} (${formatAge(Date.now() / 1000 - a.received_ts)} ago)`)));
}

function picks() {
  const box = el('metric-picks');
  const chosen = new URLSearchParams(window.location.search).get('metrics');
  const keys = chosen ? chosen.split(',') : DEFAULT_KEYS;
  CHOICES.forEach((metric, i) => {
    const wrap = document.createElement('div');
    wrap.className = 'form-check form-check-inline m-0';
    const input = document.createElement('input');
    Object.assign(input, { type: 'checkbox', className: 'form-check-input', id: `metric-${i}`, value: metric.key,
      checked: keys.includes(metric.key) });
    const label = document.createElement('label');
    Object.assign(label, { className: 'form-check-label', htmlFor: input.id, textContent: metric.label });
    wrap.append(input, label);
    box.append(wrap);
  });
}

async function drawHistory() {
  const hours = Number(document.querySelector('input[name="range"]:checked').value);
  const metrics = CHOICES.filter((m) => document.querySelector(`#metric-picks input[value="${m.key}"]`).checked);
  const query = new URLSearchParams({ range: String(hours), metrics: metrics.map((m) => m.key).join(',') });
  window.history.replaceState(null, '', `?${query}`);
  const status = el('chart-status');
  if (!metrics.length) {
    status.textContent = 'Pick at least one metric.';
    return;
  }
  const mine = ++seq;
  status.textContent = 'Loading…';
  const end = Date.now();
  const start = end - hours * HOUR_MS;
  const canvas = el('site-history-chart');
  try {
    const result = await loadHistory({ path: `${base()}/historical`, metrics, points: pointsFor(canvas),
      start: new Date(start).toISOString(), end: new Date(end).toISOString() });
    if (mine !== seq) return;
    if (chart) chart.destroy();
    chart = timeChart(canvas, 'line', result.series, { spanHours: hours });
    chart.options.scales.x.min = start;
    chart.options.scales.x.max = end;
    chart.update();
    register('site-history', chart);
    const missing = result.missing.length ? ` No data for: ${result.missing.map((m) => m.label).join(', ')}.` : '';
    status.textContent = `Last ${hours} h from the central store: ${describeHistory(result.body, result.series)}${missing}`;
  } catch (error) {
    if (mine === seq) status.textContent = `Could not load the history: ${error.message}.`;
  }
}

function main() {
  const range = new URLSearchParams(window.location.search).get('range');
  if (['24', '168', '720'].includes(range)) el(`range-${range}`).checked = true;
  picks();
  for (const radio of document.querySelectorAll('input[name="range"]')) radio.addEventListener('change', drawHistory);
  el('metric-picks').addEventListener('change', drawHistory);
  drawSite();
  drawHistory();
  setInterval(drawSite, REFRESH_MS);
}

if (el('fleet-site-root')) main();
