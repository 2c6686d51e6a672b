// The BMS section of the battery page: each pack the daemon polls (from /api/battery's `bms`, shaped
// by the server: solarmon/web/bms.py) with its pack values, a cell bar chart whose bars show the
// balancer's activity, temperatures, switches and alarms in words; and the cell spread over 24 h.
// The page only renders what the API declares.

import { apiJSON } from './lib/api.js';
import { color, describeHistory, loadHistory, pointsFor, register, timeChart } from './lib/charts.js';
import { formatAge, formatValue } from './lib/format.js';

const el = (id) => document.getElementById(id);

function node(tag, cls, text) {
  const element = document.createElement(tag);
  if (cls) element.className = cls;
  if (text !== undefined) element.textContent = text;
  return element;
}

function itemText(item) {
  if (typeof item.value === 'boolean') return item.value ? 'on' : 'off';
  if (typeof item.value === 'string') return item.value;
  return `${formatValue(item.value, item.precision ?? 1)} ${item.unit || ''}`.trim();
}

function list(items, name) {
  const dl = node('dl', 'sm-weather sm-bms-list');
  dl.dataset.bmsList = name;
  for (const item of items) {
    const dd = node('dd', '', itemText(item));
    dd.dataset.bms = item.key;
    dl.append(node('dt', '', item.label), dd);
  }
  return dl;
}

// The cell bar chart: one bar per cell (V); a balancing cell's bar in the theme's second colour.
function cellChart(canvas, bms) {
  const Chart = window.Chart;
  const volts = bms.cells.map((c) => c.voltage);
  const low = Math.min(...volts);
  const high = Math.max(...volts);
  const pad = Math.max(0.01, (high - low) * 0.5);
  const existing = Chart.getChart(canvas);
  const data = {
    labels: bms.cells.map((c) => String(c.n)),
    datasets: [{
      label: 'Cell voltage (V)', data: volts, borderWidth: 0,
      backgroundColor: bms.cells.map((c) => (c.balancing ? color(1) : color(0))),
    }],
  };
  if (existing) {
    existing.data = data;
    existing.update();
    return existing;
  }
  return new Chart(canvas, {
    type: 'bar',
    data,
    options: {
      animation: false, maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: { y: { min: Math.max(0, low - pad), max: high + pad, title: { display: true, text: 'V' } },
                x: { title: { display: true, text: 'cell' } } },
    },
  });
}

function packBlock(bms) {
  const block = node('div', 'sm-bms');
  block.dataset.bmsSource = bms.source;
  const head = node('h3', 'sm-bms-name', bms.name);
  const age = bms.age_s === null || bms.age_s === undefined ? '' : ` · ${formatAge(bms.age_s)} old`;
  head.append(node('small', 'sm-note', `${bms.ok ? '' : ' · not answering'}${age}`));
  const alarms = node('ul', 'sm-bms-alarms');
  alarms.dataset.bmsAlarms = '';
  if (bms.alarms.length === 0) alarms.append(node('li', 'sm-ok', 'No alarm.'));
  for (const alarm of bms.alarms) {
    alarms.append(node('li', alarm.kind === 'fault' ? 'sm-fault' : 'sm-warning',
      `${alarm.kind === 'fault' ? 'Protection' : 'Alarm'}: ${alarm.label}`));
  }
  const balancer = bms.balancer || {};
  const balancing = bms.cells.filter((c) => c.balancing).map((c) => c.n);
  const activity = balancer.active
    ? `Balancer active${balancing.length ? ` on cells ${balancing.join(', ')}` : ''}`
      + `${balancer.current_a ? ` at ${formatValue(balancer.current_a, 2)} A` : ''}`
    : `Balancer idle${balancer.enabled === 0 || balancer.enabled === false ? ' (switched off)' : ''}`;
  const box = node('div', 'sm-chart-box sm-bms-cells');
  const canvas = node('canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `Cell voltages of ${bms.name}; balancing cells highlighted`);
  box.append(canvas);
  block.append(head, alarms, list(Object.values(bms.pack), 'pack'), node('p', 'sm-note sm-bms-balancer', activity),
    box, list(bms.temperatures, 'temperatures'), list(bms.switches, 'switches'));
  return { block, canvas };
}

export async function refreshBms() {
  let body;
  try {
    body = await apiJSON('/api/battery');
  } catch (error) {
    el('bms-none').textContent = `BMS values not available: ${error.message}.`;
    return null;
  }
  const packs = Object.values(body.bms || {});
  el('bms-none').hidden = packs.length > 0;
  el('bms-spread-panel').hidden = packs.length === 0;
  const blocks = packs.map(packBlock);
  el('bms-packs').replaceChildren(...blocks.map((b) => b.block));
  blocks.forEach((b, i) => register(`bmsCells${i}`, cellChart(b.canvas, packs[i])));
  return packs;
}

async function spreadChart(packs) {
  const canvas = el('bms-spread-chart');
  const series = [];
  let last = null;
  try {
    for (const bms of packs) {
      const result = await loadHistory({ device: bms.name, hours: 24, points: pointsFor(canvas),
        metrics: [{ key: 'cell_voltage_delta', label: `${bms.name} cell spread`, unit: 'V' }] });
      series.push(...result.series.map((s) => ({ ...s, label: `${bms.name} cell spread` })));
      last = result.body;
    }
    register('bmsSpread', timeChart(canvas, 'line', series));
    el('bms-spread-chart-status').textContent = describeHistory(last, series);
  } catch (error) {
    el('bms-spread-chart-status').textContent = `Could not load the history: ${error.message}.`;
  }
}

// The battery page's BMS part: now, every 10 s, and the spread chart once.
export async function startBms() {
  const packs = await refreshBms();
  setInterval(refreshBms, 10000);
  if (packs && packs.length) spreadChart(packs);
  else el('bms-spread-chart-status').textContent = 'No BMS: no cell spread to draw.';
}

// The BMS's state of charge (or null), refreshed every 10 s, for the SoC bar of any page:
// `onChange(soc)` is called after each refresh.
export function watchBmsSoc(onChange) {
  const refresh = async () => {
    try {
      const body = await apiJSON('/api/battery');
      onChange(body.soc || null);
    } catch {
      onChange(null);
    }
  };
  refresh();
  setInterval(refresh, 10000);
}
