// The fleet page (/fleet, /fleet/lcars): every site from GET /api/fleet, sorted and filtered by the
// server (the view is in the URL: ?sort=soc&order=desc&problem=stale&q=farm), refreshed every 15 s.
// A stale site's values are greyed with their age; a down site shows none.

import { apiJSON, withQuery } from './lib/api.js';
import { formatAge } from './lib/format.js';
import { labelCells } from './lib/tables.js';
import { kwhText, notLive, showFleetBadge, statusBadge, statusReason, valueText } from './fleet-common.js';

const el = (id) => document.getElementById(id);
const REFRESH_MS = 15000;
const SORTS = ['name', 'status', 'soc', 'pv', 'load', 'alerts'];
const view = { sort: 'name', order: 'asc', problem: '', q: '' };
let seq = 0;

// The view from the page's URL (unknown values fall back to the defaults; the server checks too).
export function viewFromQuery(search) {
  const q = new URLSearchParams(search);
  const out = { ...view };
  if (SORTS.includes(q.get('sort'))) out.sort = q.get('sort');
  if (['asc', 'desc'].includes(q.get('order'))) out.order = q.get('order');
  const problem = q.get('problem') || '';
  if (/^[a-z_,]*$/.test(problem)) out.problem = problem;
  const name = q.get('q') || '';
  if (/^[A-Za-z0-9_.:-]{0,64}$/.test(name)) out.q = name;
  return out;
}

function td(text, cls = '') {
  const cell = document.createElement('td');
  cell.textContent = text;
  if (cls) cell.className = cls;
  return cell;
}

function siteUrl(name) {
  const lcars = document.body.dataset.theme === 'lcars';
  return `/fleet/site/${encodeURIComponent(name)}${lcars ? '/lcars' : ''}`;
}

function row(site, lookbackS) {
  const tr = document.createElement('tr');
  tr.dataset.site = site.site;
  tr.dataset.status = site.status;
  if (notLive(site)) tr.classList.add('sm-fleet-old');
  const name = document.createElement('td');
  const link = document.createElement('a');
  link.href = siteUrl(site.site);
  link.textContent = site.site;
  name.append(link);
  const status = document.createElement('td');
  status.append(statusBadge(site));
  if (site.status !== 'up') {
    const why = document.createElement('span');
    why.className = 'sm-fleet-why';
    why.textContent = ` ${statusReason(site, lookbackS)}`;
    status.append(why);
  }
  const energy = site.energy_today_wh || {};
  const alerts = td(site.alert_count ? site.alerts.map((a) => `${a.rule} (${a.severity})`).join(', ') : '–',
    site.alert_count ? 'sm-fleet-has-alerts' : '');
  tr.append(name, status,
    td(valueText(site, site.pv_w, 'W'), 'text-end sm-fleet-value'),
    td(valueText(site, site.load_w, 'W'), 'text-end sm-fleet-value'),
    td(valueText(site, site.soc_percent, '%'), 'text-end sm-fleet-value'),
    td(site.status === 'down' ? '–' : `${kwhText(energy.pv)} / ${kwhText(energy.load)} kWh`, 'text-end sm-fleet-value'),
    alerts,
    td(site.age_s === null ? 'none' : formatAge(site.age_s), 'text-end'));
  return tr;
}

function showView() {
  el('fleet-q').value = view.q;
  el('fleet-sort').value = view.sort;
  el('fleet-order').value = view.order;
  const problem = el('fleet-problem');
  problem.value = [...problem.options].some((o) => o.value === view.problem) ? view.problem : '';
  for (const th of document.querySelectorAll('#fleet-table th[data-sort]')) {
    th.setAttribute('aria-sort', th.dataset.sort === view.sort ? (view.order === 'asc' ? 'ascending' : 'descending') : 'none');
  }
}

export async function draw() {
  const mine = ++seq;
  const query = { sort: view.sort, order: view.order, problem: view.problem, q: view.q };
  window.history.replaceState(null, '', withQuery(window.location.pathname, query));
  showView();
  try {
    const body = await apiJSON(withQuery('/api/fleet', query));
    if (mine !== seq) return;
    for (const key of ['up', 'stale', 'down', 'alerts']) el(`count-${key}`).textContent = body.counts[key];
    el('fleet-sites').replaceChildren(...body.sites.map((s) => row(s, body.lookback_s)));
    labelCells(el('fleet-root'));
    const shown = body.sites.length === body.total ? `${body.total} sites` : `${body.sites.length} of ${body.total} sites`;
    el('fleet-status').textContent = `${shown}, as the central store had them ${formatAge(body.cache_age_s)} ago.`;
    const problems = body.counts.stale + body.counts.down;
    showFleetBadge(problems ? 'stale' : 'online', `fleet: ${body.counts.up} up, ${problems} not`,
      `${body.counts.up} up, ${body.counts.stale} stale, ${body.counts.down} down`);
  } catch (error) {
    if (mine !== seq) return;
    el('fleet-status').textContent = `Could not load the fleet: ${error.message}.`;
    showFleetBadge(error.status === 0 ? 'unreachable' : 'offline', error.status === 0 ? 'server unreachable' : 'store unavailable', error.message);
  }
}

function main() {
  Object.assign(view, viewFromQuery(window.location.search));
  const controls = el('fleet-controls');
  controls.addEventListener('submit', (event) => { event.preventDefault(); draw(); });
  for (const [id, key] of [['fleet-sort', 'sort'], ['fleet-order', 'order'], ['fleet-problem', 'problem']]) {
    el(id).addEventListener('change', () => { view[key] = el(id).value; draw(); });
  }
  el('fleet-q').addEventListener('input', () => {
    const value = el('fleet-q').value.trim();
    if (!/^[A-Za-z0-9_.:-]{0,64}$/.test(value)) return; // the server would refuse it: wait for more typing
    view.q = value;
    draw();
  });
  for (const button of document.querySelectorAll('button.sm-fleet-sort')) {
    button.addEventListener('click', () => {
      const sort = button.dataset.sort;
      view.order = view.sort === sort && view.order === 'asc' ? 'desc' : 'asc';
      view.sort = sort;
      draw();
    });
  }
  draw();
  setInterval(draw, REFRESH_MS);
}

if (el('fleet-controls')) main();
