// The command console on the dashboard: free-form queries, settings from typed controls (choices
// and ranges from the codec's describe_settings, passed in data-settings), a confirmation step for
// dangerous settings, and the reply: ACK with the value the inverter now reports, NAK, or the
// reason the server refused. Commands go out under the signed-in operator's session (with the
// page's CSRF token); without a session an API token can be typed in instead.

import { apiJSON } from './lib/api.js';
import { formatValue, words } from './lib/format.js';

const TOKEN_KEY = 'solarmon.commandToken';

function el(id) {
  return document.getElementById(id);
}

// One describe_settings() entry (solarmon/inverter/setters.py): prefix, label, kind "choice" with
// choices [{value, label, command}] or "range" with min/max/step, format "nn.n", unit, dangerous,
// current_key (where the live values hold the current setting), available + reason.
export function settingOf(raw, index) {
  const choices = Array.isArray(raw.choices)
    ? raw.choices.map((c) => ({ value: String(c.value), label: String(c.label ?? c.value), command: c.command || null }))
    : null;
  return {
    id: String(index),
    prefix: String(raw.prefix ?? ''),
    label: String(raw.label ?? raw.prefix ?? ''),
    unit: String(raw.unit ?? ''),
    kind: raw.kind === 'range' ? 'range' : 'choice',
    choices,
    min: raw.min ?? null,
    max: raw.max ?? null,
    step: raw.step ?? null,
    format: raw.format || null,
    dangerous: Boolean(raw.dangerous),
    available: raw.available !== false && (raw.kind === 'range' || (choices && choices.length > 0)),
    reason: raw.reason || '',
    currentKey: raw.current_key || null,
  };
}

// The command string: the codec's own for a choice; prefix + the value in its format for a range
// ("nn.n": two digits, a point, one digit, as PBCV48.0).
export function commandFor(setting, value) {
  if (setting.kind === 'choice') {
    const choice = setting.choices.find((c) => c.value === value);
    return choice && choice.command ? choice.command : `${setting.prefix}${value}`;
  }
  const match = /^(n+)(?:\.(n+))?$/.exec(setting.format || '');
  const decimals = match && match[2] ? match[2].length : 0;
  const width = match ? match[1].length + (decimals ? decimals + 1 : 0) : 0;
  return `${setting.prefix}${Number(value).toFixed(decimals).padStart(width, '0')}`;
}

let currentValues = () => ({});

function renderValueControl(setting) {
  const box = el('setting-value-box');
  box.replaceChildren();
  const label = document.createElement('label');
  label.className = 'form-label';
  label.htmlFor = 'setting-value';
  label.textContent = setting.unit ? `Value (${setting.unit})` : 'Value';
  let control;
  if (setting.kind === 'choice') {
    control = document.createElement('select');
    control.className = 'form-select';
    for (const choice of setting.choices) control.append(new Option(choice.label, choice.value));
  } else {
    control = document.createElement('input');
    control.type = 'number';
    control.className = 'form-control';
    if (setting.min !== null) control.min = setting.min;
    if (setting.max !== null) control.max = setting.max;
    control.step = setting.step ?? 'any';
    control.required = true;
    if (setting.min !== null) control.value = setting.min;
  }
  control.id = 'setting-value';
  box.append(label, control);
  control.disabled = !setting.available;
  el('setting-send').disabled = !setting.available;
  const parts = [];
  if (!setting.available) parts.push(`Not available yet: ${setting.reason || 'the inverter has not reported its limits'}.`);
  if (setting.kind === 'range') parts.push(`Allowed: ${setting.min} to ${setting.max} ${setting.unit} in steps of ${setting.step}.`);
  const now = setting.currentKey && currentValues()[setting.currentKey];
  if (now !== undefined && now !== null && now !== '') parts.push(`Now: ${now}${setting.unit ? ` ${setting.unit}` : ''}.`);
  if (setting.dangerous) parts.push('Dangerous: you will be asked to confirm.');
  el('setting-help').textContent = parts.join(' ');
}

function showReply(command, result, error) {
  const box = el('console-reply');
  box.replaceChildren();
  const head = document.createElement('div');
  const list = document.createElement('dl');
  let summary;
  if (error) {
    head.className = 'alert alert-danger mb-0';
    summary = error.kind === 'nak' ? `${command}: NAK — the inverter refused it.` : `${command}: refused — ${error.message}`;
  } else if (result && result.ok === false) {
    head.className = 'alert alert-danger mb-0';
    summary = result.error === 'nak' ? `${command}: NAK — the inverter refused it.` : `${command}: ${words(result.error || 'refused')} — ${result.message || ''}`;
  } else {
    head.className = 'alert alert-success mb-0';
    const verified = result && result.verified && Object.keys(result.verified).length ? result.verified : null;
    summary = verified ? `${command}: ACK — the inverter now reports:` : `${command}: ${result && result.class === 'query' ? 'reply' : 'ACK'}`;
    const units = (result && result.units) || {};
    for (const [key, value] of Object.entries(verified || (result && result.reply) || {})) {
      const dt = document.createElement('dt');
      dt.textContent = words(key);
      const dd = document.createElement('dd');
      dd.textContent = `${formatValue(value, typeof value === 'number' && !Number.isInteger(value) ? 1 : 0)} ${units[key] || ''}`.trim();
      list.append(dt, dd);
    }
  }
  head.textContent = summary;
  head.dataset.result = error || (result && result.ok === false) ? 'error' : 'ok';
  if (list.childElementCount) head.append(list);
  box.append(head);
  const item = document.createElement('li');
  item.textContent = `${new Date().toLocaleTimeString()} ${summary}`;
  el('console-log').prepend(item);
}

function disableConsole(reason) {
  el('console-state').textContent = reason;
  el('console-body').hidden = true;
  el('console-auth').hidden = true;
}

export function initConsole(currentDevice, liveValues = () => ({})) {
  if (!el('console')) return;
  currentValues = liveValues;
  const settings = JSON.parse(el('console').dataset.settings || '[]').map(settingOf);
  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  el('console-token').value = token;
  const role = el('console').dataset.role || '';
  const signedIn = role === 'operator' || role === 'admin';
  if (signedIn && !token) {
    el('console-auth').hidden = true;
    el('console-state').textContent = `Signed in as ${el('console').dataset.user} (${role}): commands go out `
      + `under your name${role === 'admin' ? '' : '; dangerous settings need an admin'}.`;
  }
  el('console-auth').addEventListener('submit', (event) => {
    event.preventDefault();
    token = el('console-token').value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    el('console-state').textContent = token ? 'Token set for this browser tab.' : 'No token: commands will be refused.';
  });

  async function send(command, confirm) {
    try {
      const result = await apiJSON('/api/command', {
        method: 'POST', token, body: { command, device: currentDevice() || undefined, confirm },
      });
      showReply(command, result, null);
    } catch (error) {
      if (error.status === 404) disableConsole('Commands are not available on this server.');
      if (error.status === 401) error.message = 'sign in as an operator (or use an API token) to send commands';
      showReply(command, error.payload && error.payload.ok === false ? error.payload : null,
        error.payload && error.payload.ok === false ? null : error);
    }
  }

  el('query-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const command = el('query-input').value.trim().toUpperCase();
    if (command) send(command, false);
  });

  if (settings.length) {
    el('setting-form').hidden = false;
    const select = el('setting-select');
    for (const setting of settings) select.append(new Option(setting.label, setting.id));
    select.addEventListener('change', () => renderValueControl(settings[Number(select.value)]));
    renderValueControl(settings[0]);
    let pending = null;
    el('setting-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const setting = settings[Number(select.value)];
      const command = commandFor(setting, el('setting-value').value);
      if (setting.dangerous) {
        pending = command;
        const choice = setting.kind === 'choice' ? setting.choices.find((c) => c.command === command) : null;
        el('confirm-text').textContent = `${setting.label} → ${choice ? choice.label : `${el('setting-value').value} ${setting.unit}`} `
          + `(${command}). This setting is marked dangerous: a wrong value can cut the power to the house `
          + 'or harm the battery. Send it?';
        el('confirm-box').hidden = false;
      } else {
        send(command, false);
      }
    });
    el('confirm-yes').addEventListener('click', () => {
      el('confirm-box').hidden = true;
      if (pending) send(pending, true);
      pending = null;
    });
    el('confirm-no').addEventListener('click', () => {
      el('confirm-box').hidden = true;
      pending = null;
    });
  }

  // The status endpoint tells whether commands are configured; without it we find out on send.
  apiJSON('/api/status').then((status) => {
    if (status && status.commands_enabled === false) {
      disableConsole('Commands are off on this server: no operator account or API token exists yet '
        + '(python web_interface.py user add NAME --role operator). The values above still update.');
    }
  }).catch(() => {});
}
