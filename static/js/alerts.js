// The alerts page: active alerts (with the operator's acknowledgement), past alerts, rules and
// channels, all from GET /api/alerts; refreshed every 15 s.

import { apiJSON } from './lib/api.js';
import { formatWhen } from './lib/format.js';
import { watchStatus } from './lib/live.js';
import { labelCells } from './lib/tables.js';

const el = (id) => document.getElementById(id);
const TOKEN_KEY = 'solarmon.commandToken'; // the console's: one operator token per browser tab
const REFRESH_MS = 15000;

function when(ts) {
  return ts ? formatWhen(new Date(ts * 1000)) : '–';
}

function cell(row, text, cls = '') {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

// A time in the pages' one format (local), the ISO form on hover.
function timeCell(row, ts) {
  const td = cell(row, when(ts));
  if (ts) td.title = new Date(ts * 1000).toISOString();
  return td;
}

function severityCell(row, severity) {
  const td = cell(row, severity, `sm-sev sm-sev-${severity}`);
  td.dataset.severity = severity;
}

// POST the acknowledgement: the session's CSRF token (security part) and, without a login, the
// operator token this tab was given.
async function postAck(id) {
  const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const csrf = document.querySelector('meta[name="csrf-token"]');
  if (csrf) headers['X-CSRF-Token'] = csrf.content;
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch('/api/alerts/ack', {
    method: 'POST', headers, body: JSON.stringify({ id }), cache: 'no-store', credentials: 'same-origin',
  });
  if (!response.ok) {
    let message = response.statusText;
    try {
      message = (await response.json()).message || message;
    } catch (err) {
      // not JSON: keep the status text
    }
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
}

async function acknowledge(id, button) {
  button.disabled = true;
  try {
    await postAck(id);
    document.dispatchEvent(new Event('solarmon:alerts-changed'));
    await load();
  } catch (err) {
    button.disabled = false;
    el('alerts-status').textContent = `Not acknowledged: ${err.message}`;
    if (err.status === 401 || err.status === 403) el('alerts-token-form').hidden = false;
  }
}

function renderActive(active) {
  const body = el('alerts-active');
  body.replaceChildren();
  el('alerts-active-table').hidden = !active.length;
  el('alerts-status').textContent = active.length ? '' : 'No active alert.';
  for (const a of active) {
    const row = document.createElement('tr');
    row.dataset.alertId = a.id;
    severityCell(row, a.severity);
    cell(row, `${a.rule} · ${a.device}`);
    timeCell(row, a.fired_ts);
    cell(row, a.message);
    const td = cell(row, '', 'text-end');
    if (a.acknowledged) {
      td.textContent = `${a.acked_by || 'yes'}, ${when(a.acked_ts)}`;
    } else {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'btn btn-sm btn-outline-secondary sm-ack';
      button.textContent = 'Acknowledge';
      button.addEventListener('click', () => acknowledge(a.id, button));
      td.appendChild(button);
    }
    body.appendChild(row);
  }
}

function renderRecent(recent) {
  const body = el('alerts-recent');
  body.replaceChildren();
  el('alerts-recent-table').hidden = !recent.length;
  el('alerts-recent-none').hidden = !!recent.length;
  for (const a of recent) {
    const row = document.createElement('tr');
    severityCell(row, a.severity);
    cell(row, `${a.rule} · ${a.device}`);
    timeCell(row, a.fired_ts);
    timeCell(row, a.cleared_ts);
    cell(row, a.message);
    body.appendChild(row);
  }
}

// The catalog's labels and units (/api/catalog), loaded once: rules read in words with units.
let FIELDS = {};

// "60" -> "1 min", "90" -> "1 min 30 s", "3600" -> "1 h".
export function duration(seconds) {
  const s = Math.round(Number(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s / 60} min`;
  const m = Math.round((s % 3600) / 60);
  return m ? `${Math.floor(s / 3600)} h ${m} min` : `${s / 3600} h`;
}

// One condition ("below 20", "at or above battery_float_charge_voltage - 1") with the metric's
// unit after each number and catalog labels for metric keys.
export function conditionWords(text, unit, fields = FIELDS) {
  const named = String(text).replace(/[a-z][a-z0-9_]{2,}/g, (key) => (fields[key] ? fields[key].label.toLowerCase() : key));
  return unit ? named.replace(/(-?\d+(?:\.\d+)?)(?![\d.])/g, `$1 ${unit}`) : named;
}

// A rule as a sentence: "Battery capacity below 20 % for 1 min; clears at or above 20 %".
export function ruleSentence(rule, fields = FIELDS) {
  const field = fields[rule.metric];
  const label = field ? field.label : rule.metric.replace(/_/g, ' ');
  const unit = field ? field.unit : '';
  const where = rule.source === 'inverter' || rule.source === '*' ? '' : ` (${rule.source})`;
  const hold = rule.for_s ? ` for ${duration(rule.for_s)}` : '';
  const clearHold = rule.clear_for_s ? ` for ${duration(rule.clear_for_s)}` : '';
  return `${label}${where} ${conditionWords(rule.condition, unit, fields)}${hold}; `
    + `clears ${conditionWords(rule.clear, unit, fields)}${clearHold}`;
}

function renderRules(rules) {
  const body = el('alerts-rules');
  body.replaceChildren();
  for (const r of rules) {
    const row = document.createElement('tr');
    cell(row, r.name);
    const when = cell(row, ruleSentence(r));
    when.title = `${r.source} ${r.metric} ${r.condition}`; // the rule as written in the config
    severityCell(row, r.severity);
    body.appendChild(row);
  }
}

function renderChannels(channels) {
  const list = el('alerts-channels');
  list.replaceChildren();
  const names = Object.keys(channels);
  el('alerts-channels-none').hidden = !!names.length;
  for (const name of names) {
    const c = channels[name];
    const item = document.createElement('li');
    item.dataset.ok = c.ok ? 'true' : 'false';
    item.textContent = `${name}: ${c.ok ? 'ok' : `failing (${c.last_error})`} · sent ${c.delivered}, `
      + `given up ${c.failed}, queued ${c.queued}`;
    list.appendChild(item);
  }
}

async function load() {
  if (!Object.keys(FIELDS).length) {
    try {
      FIELDS = (await apiJSON('/api/catalog')).fields;
    } catch (err) {
      FIELDS = {}; // without the catalog the rules read with their keys
    }
  }
  let body;
  try {
    body = await apiJSON('/api/alerts?limit=100');
  } catch (err) {
    el('alerts-status').textContent = `Alerts unavailable: ${err.message}`;
    return;
  }
  if (!body.enabled) {
    el('alerts-status').textContent = 'Alerts are off on this server (alerts.enabled in web.yaml).';
    return;
  }
  renderActive(body.active);
  renderRecent(body.recent);
  renderRules(body.rules);
  renderChannels(body.channels);
  labelCells(); // the stacked cards on a phone show each column's name
}

if (el('alerts-root')) { // the tests import this module's functions without the page
  el('alerts-token-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, el('alerts-token').value.trim());
    el('alerts-token-form').hidden = true;
    el('alerts-status').textContent = 'Token set for this browser tab: acknowledge again.';
  });
  watchStatus();
  load();
  setInterval(load, REFRESH_MS);
}
