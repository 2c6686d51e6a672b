// Chart.js set up for both themes: time axis (date-fns adapter), one y axis per unit, colours
// from the theme, compact on a phone. Charts are kept in window.solarmon.charts for the tests.

import { apiJSON, historyPoints, withQuery } from './api.js';

const PALETTES = {
  standard: ['#f08c00', '#2f5d8a', '#2e9e5b', '#d64545', '#7b61c9', '#0aa2c0', '#8a6d3b', '#e64980'],
  lcars: ['#ff9c33', '#88aaff', '#cc99ff', '#ffcc66', '#66cc99', '#ee5544', '#aaddff', '#ffaa88'],
};

export function theme() {
  return document.body.dataset.theme === 'lcars' ? 'lcars' : 'standard';
}

export function color(index) {
  const palette = PALETTES[theme()];
  return palette[index % palette.length];
}

function applyDefaults() {
  const Chart = window.Chart;
  const lcars = theme() === 'lcars';
  Chart.defaults.color = lcars ? '#ffe8cc' : '#3b4654';
  Chart.defaults.borderColor = lcars ? 'rgba(204, 153, 255, 0.25)' : 'rgba(0, 0, 0, 0.08)';
  Chart.defaults.font.family = lcars ? 'Antonio, "Arial Narrow", sans-serif' : getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = window.innerWidth < 576 ? 11 : 12;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;
}

export function register(name, chart) {
  window.solarmon = window.solarmon || {};
  window.solarmon.charts = window.solarmon.charts || {};
  window.solarmon.charts[name] = chart;
}

// The time axis for a span: hours with the date at each midnight up to a day and a half, days
// (with the month) up to four months, months beyond. Every tick then says which day it is.
export function timeAxis(spanHours) {
  const unit = spanHours <= 36 ? 'hour' : spanHours <= 24 * 120 ? 'day' : 'month';
  return {
    type: 'time',
    ticks: { maxRotation: 0, autoSkipPadding: 16, major: { enabled: true } },
    time: {
      unit, tooltipFormat: 'PPp',
      displayFormats: { hour: 'HH:mm', day: 'd MMM', month: 'MMM yyyy', year: 'yyyy' },
    },
  };
}

// A time-series chart. `kind` is line or area (bars are for energy only); series: [{label, unit,
// points}]; `spanHours` picks the time axis.
export function timeChart(canvas, kind, series, { stacked = false, spanHours = 24 } = {}) {
  applyDefaults();
  const units = [...new Set(series.map((s) => s.unit || ''))];
  const scales = { x: timeAxis(spanHours) };
  units.forEach((unit, i) => {
    scales[`y${i}`] = {
      type: 'linear', position: i % 2 ? 'right' : 'left', stacked,
      title: { display: Boolean(unit), text: unit },
      grid: { drawOnChartArea: i === 0 },
      ticks: { maxTicksLimit: 6 },
    };
  });
  const datasets = series.map((s, i) => ({
    label: s.unit ? `${s.label} (${s.unit})` : s.label,
    data: s.points,
    yAxisID: `y${units.indexOf(s.unit || '')}`,
    borderColor: color(i),
    backgroundColor: kind === 'line' ? color(i) : `${color(i)}55`,
    fill: kind === 'area' ? 'origin' : false,
    pointRadius: 0,
    borderWidth: 1.75,
    spanGaps: false,
    tension: 0.15,
  }));
  return new window.Chart(canvas, {
    type: 'line',
    data: { datasets },
    options: {
      parsing: false,
      normalized: true,
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 12, usePointStyle: true } },
        decimation: { enabled: false },
      },
      scales,
    },
  });
}

// Points per series to ask the server for: about two per horizontal pixel, at most 1000.
export function pointsFor(canvas) {
  const width = canvas.clientWidth || canvas.parentElement.clientWidth || 600;
  return Math.max(60, Math.min(1000, Math.round(width * 1.5)));
}

// Fetch /api/historical (or `path`, an endpoint of the same shape: a fleet site's history) and return
// [{label, unit, points}] for the given metrics (and their labels).
export async function loadHistory({ path = '/api/historical', source, device, metrics, hours, start, end, points }) {
  const body = await apiJSON(withQuery(path, {
    source, device, metrics: metrics.map((m) => m.key).join(','), hours, start, end, points,
  }));
  const byMetric = historyPoints(body);
  return {
    body,
    series: metrics.filter((m) => byMetric[m.key]).map((m) => ({
      key: m.key, label: m.label, unit: m.unit || byMetric[m.key].unit, points: byMetric[m.key].points,
    })),
    missing: metrics.filter((m) => !byMetric[m.key] || !byMetric[m.key].points.some((p) => p.y !== null)),
  };
}

// "120 points, 1-minute averages" — what the server sent, for the status line.
export function describeHistory(body, series) {
  const count = series.reduce((n, s) => n + s.points.filter((p) => p.y !== null).length, 0);
  const step = body && body.step_s ? ` every ${body.step_s >= 60 ? `${Math.round(body.step_s / 60)} min` : `${body.step_s} s`}` : '';
  const tier = body && body.tier ? ` (${body.tier === 'raw' ? 'raw samples' : `${body.tier} averages`})` : '';
  return `${count} data points${step}${tier}, downsampled by the server.`;
}
