// The alerts page: active alerts (with the operator's acknowledgement), past alerts, rules and
// channels, all from GET /api/alerts; refreshed every 15 s.

import { apiJSON } from './lib/api.js';
import { watchStatus } from './lib/live.js';
import { labelCells } from './lib/tables.js';

const el = (id) => document.getElementById(id);
const TOKEN_KEY = 'solarmon.commandToken'; // the console's: one operator token per browser tab
const REFRESH_MS = 15000;

function when(ts) {
  return ts ? new Date(ts * 1000).toLocaleString() : '–';
}

function cell(row, text, cls = '') {
  const td = document.createElement('td');
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
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
    cell(row, when(a.fired_ts));
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
    cell(row, when(a.fired_ts));
    cell(row, when(a.cleared_ts));
    cell(row, a.message);
    body.appendChild(row);
  }
}

function renderRules(rules) {
  const body = el('alerts-rules');
  body.replaceChildren();
  for (const r of rules) {
    const row = document.createElement('tr');
    cell(row, r.name);
    const hold = r.for_s ? ` for ${r.for_s} s` : '';
    cell(row, `${r.source} ${r.metric} ${r.condition}${hold}; clears ${r.clear}`);
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

el('alerts-token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, el('alerts-token').value.trim());
  el('alerts-token-form').hidden = true;
  el('alerts-status').textContent = 'Token set for this browser tab: acknowledge again.';
});

watchStatus();
load();
setInterval(load, REFRESH_MS);
