// The dashboard's forecast panel: expected kWh today (produced so far) and tomorrow, and whether
// the battery lasts the night. Loaded by its own script tag: dashboard.js is not touched.

import { clock, kwh, loadForecast, outlookSentence, surplusText } from './forecast-common.js';

const el = (id) => document.getElementById(id);
const REFRESH_MS = 60000;

async function refresh() {
  const panel = el('forecast-panel');
  if (!panel) return;
  try {
    const body = await loadForecast();
    if (!body.available) {
      el('fcp-note').textContent = body.reason || 'No forecast yet.';
      return;
    }
    el('fcp-today').textContent = kwh(body.today.expected_kwh);
    el('fcp-produced').textContent = kwh(body.today.produced_kwh);
    el('fcp-tomorrow').textContent = kwh(body.tomorrow.expected_kwh);
    const outlook = body.outlook;
    el('fcp-note').textContent = outlookSentence(outlook, body.outlook_reason);
    panel.dataset.cutoff = outlook && outlook.cutoff_before_sunrise ? 'before-sunrise' : '';
    el('fcp-surplus').textContent = outlook ? surplusText(outlook.surplus) : '–';
    el('fcp-full').textContent = outlook ? (clock(outlook.full_at_ts) || 'not before tomorrow evening') : '–';
  } catch (err) {
    el('fcp-note').textContent = err.status === 503 ? 'The forecast is off.' : `No forecast: ${err.message}`;
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
