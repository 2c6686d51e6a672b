// The command console on the dashboard: free-form queries and their replies (or NAK, or the reason
// the server refused). Settings are changed on the settings page (settings.js), which offers only
// what the daemon allows, preset to the inverter's value now. Commands go out under the signed-in
// operator's session (with the page's CSRF token); without a session an API token can be typed in.

import { apiJSON } from './lib/api.js';
import { formatValue, words } from './lib/format.js';

const TOKEN_KEY = 'solarmon.commandToken';

function el(id) {
  return document.getElementById(id);
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

export function initConsole(currentDevice) {
  if (!el('console')) return;
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

  // The status endpoint tells whether commands are configured; without it we find out on send.
  apiJSON('/api/status').then((status) => {
    if (status && status.commands_enabled === false) {
      disableConsole('Commands are off on this server: no operator account or API token exists yet '
        + '(python web_interface.py user add NAME --role operator). The values above still update.');
    }
  }).catch(() => {});
}
