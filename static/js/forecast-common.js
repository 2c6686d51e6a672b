// The forecast's shared helpers (the /forecast page and the dashboard panel): fetch
// /api/forecast, say times and energies in words, and turn its hours into chart points.
// Everything shown is computed by the server (solarmon/forecast/); nothing is re-derived here.

import { apiJSON } from './lib/api.js';

export async function loadForecast() {
  return apiJSON('/api/forecast');
}

// "14:30", or "tomorrow 06:10" when it is not today (local time of the browser).
export function clock(ts) {
  if (ts === null || ts === undefined) return null;
  const when = new Date(ts * 1000);
  const text = when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const today = new Date();
  if (when.toDateString() === today.toDateString()) return text;
  const tomorrow = new Date(today.getTime() + 86400000);
  return when.toDateString() === tomorrow.toDateString() ? `tomorrow ${text}` : `${when.toLocaleDateString()} ${text}`;
}

export function kwh(value) {
  return value === null || value === undefined ? '–' : Number(value).toFixed(1);
}

// Chart points {x: ms, y} at each hour's middle; null y leaves a gap.
export function hourPoints(hours, key) {
  return hours.map((h) => ({ x: (h.start_ts + 1800) * 1000, y: h[key] === undefined ? null : h[key] }));
}

// The outlook in one sentence, for the panel and the page.
export function outlookSentence(outlook, reason) {
  if (!outlook) return reason || 'No battery outlook yet.';
  if (outlook.cutoff_before_sunrise) {
    return `The battery is projected to reach the cut-off at ${clock(outlook.cutoff_at_ts)}, before sunrise.`;
  }
  const sunrise = outlook.soc_at_sunrise_pct === null ? '' : ` and have ${Math.round(outlook.soc_at_sunrise_pct)} % at sunrise`;
  return `The battery should last the night${sunrise}.`;
}

export function surplusText(windows) {
  if (!windows || !windows.length) return 'none expected';
  return windows.map((w) => `${clock(w.start_ts)}–${clock(w.end_ts)} (${kwh(w.surplus_kwh)} kWh)`).join(', ');
}
