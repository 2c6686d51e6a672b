// What the fleet page and a site's drill-down share: the words of a site's status and of its
// ages, the greyed-out rule for values that are not live, and the header badge.
// The status itself is decided by the server (GET /api/fleet): the pages only say it.

import { formatAge, formatPower, formatValue } from './lib/format.js';

export const STATUS_WORDS = { up: 'up', stale: 'stale', down: 'down' };

// Why a stale site is stale, in words (the server's stale_reason).
export function staleWhy(site) {
  const sample = formatAge(site.sample_age_s);
  const data = formatAge(site.data_age_s);
  switch (site.stale_reason) {
    case 'no_recent_sample': return `no data from the site for ${sample} (its uplink or agent is down)`;
    case 'data_old': return `the site sends, but its inverter data is ${data} old (its daemon is not writing)`;
    case 'no_recent_sample_and_data_old': return `no data from the site for ${sample}, and that was ${data} old`;
    default: return '';
  }
}

// Why a site is not up, in words ('' when it is): shown next to its status badge.
export function statusReason(site, lookbackS) {
  if (site.status === 'stale') return staleWhy(site);
  if (site.status === 'down') return `nothing from the site in ${formatAge(lookbackS)}`;
  return '';
}

// True when a site's values are not the present (stale or down): the pages grey them with their age.
export function notLive(site) {
  return site.status !== 'up';
}

// A value's text; a stale site's with its age ("812 W, 20 min old").
export function valueText(site, value, kind) {
  const text = kind === 'W' ? formatPower(value) : kind === '%' ? (value === null ? '–' : `${formatValue(value, 0)} %`)
    : formatValue(value, 1);
  if (value === null || value === undefined || !notLive(site)) return text;
  return `${text}, ${formatAge(site.values_age_s ?? site.age_s)} old`;
}

// kWh of a Wh figure.
export function kwhText(wh) {
  return wh === null || wh === undefined ? '–' : formatValue(wh / 1000, 1);
}

// A status badge element (text, not only colour).
export function statusBadge(site) {
  const badge = document.createElement('span');
  badge.className = 'sm-fleet-status';
  badge.dataset.status = site.status;
  badge.textContent = STATUS_WORDS[site.status] || site.status;
  return badge;
}

// The header badge on the fleet pages: the hub's view of the fleet, not a local inverter's.
export function showFleetBadge(state, text, title = '') {
  const badge = document.getElementById('live-status');
  if (!badge) return;
  badge.dataset.state = state;
  badge.textContent = text;
  badge.title = title;
}
