// Talking to the JSON API: fetch helpers and the shapes the pages rely on, in one place.
// The API's shapes are documented in docs/INTERFACES.md (web data path) and docs/DASHBOARDS.md.

export class ApiError extends Error {
  constructor(status, kind, message) {
    super(message || kind || `HTTP ${status}`);
    this.status = status;
    this.kind = kind || `http_${status}`;
  }
}

// The page's CSRF token (layout.html's meta tag, from the server's session), or ''.
export function csrfToken() {
  if (typeof document === 'undefined') return '';
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

// GET or POST a JSON endpoint; errors become ApiError with the API's own reason when it gave one.
// A POST from the page carries the session's CSRF token (the server refuses it without); a bearer
// token, when given, is used instead of the session.
// `timeoutMs` gives up on a server that accepts the request but never answers (status 0, like
// no answer at all).
export async function apiJSON(url, { method = 'GET', body = undefined, token = '', timeoutMs = 0 } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  else if (method !== 'GET' && csrfToken()) headers['X-CSRF-Token'] = csrfToken();
  let response;
  const abort = timeoutMs > 0 && typeof AbortController !== 'undefined' ? new AbortController() : null;
  const timer = abort ? setTimeout(() => abort.abort(), timeoutMs) : null;
  try {
    response = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'same-origin', signal: abort ? abort.signal : undefined,
    });
  } catch (err) {
    throw new ApiError(0, 'network', 'the server does not answer');
  } finally {
    if (timer) clearTimeout(timer);
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch (err) {
    payload = null;
  }
  if (!response.ok) {
    const kind = payload && payload.error ? String(payload.error) : `http_${response.status}`;
    const message = payload && payload.message ? String(payload.message) : response.statusText;
    const error = new ApiError(response.status, kind, message);
    error.payload = payload;
    throw error;
  }
  return payload;
}

// Build a query string, leaving out empty values.
export function withQuery(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export const INVERTER_PREFIX = 'inverter:';

// The device (mpp-solar.conf section) of a source id such as "inverter:main", else null.
export function sectionOf(source) {
  return typeof source === 'string' && source.startsWith(INVERTER_PREFIX)
    ? source.slice(INVERTER_PREFIX.length) : null;
}

// A snapshot as the pages use it, from /api/data's body or a stream event (the same shape:
// docs/API.md): {source, device, ts, ageS, values, units, kinds, ages, stale, faults, warnings, ok,
// error, devices}.
export function normalizeSnapshot(body) {
  if (!body || typeof body !== 'object' || !body.values) return null;
  return {
    source: body.source,
    device: body.device || sectionOf(body.source),
    ts: Number(body.ts),
    ageS: body.age_s === undefined ? null : Number(body.age_s),
    values: body.values,
    units: body.units,
    kinds: body.kinds,
    ages: body.ages,
    stale: body.stale,
    faults: body.faults,
    warnings: body.warnings,
    ok: body.ok,
    error: body.error,
    devices: Array.isArray(body.devices) ? body.devices : null,
    // A parallel / three-phase system (solarmon/web/systems.py): /api/data only, not the stream.
    system: body.system || null,
    systems: body.systems || null,
    memberOf: body.member_of || null,
    // The site's totals over several inverters (solarmon/web/totals.py): /api/data only.
    totals: body.totals || null,
  };
}

// /api/historical's body as chart points: {metric: {unit, points: [{x: ms, y}]}}.
export function historyPoints(body) {
  const out = {};
  const times = body.t.map((t) => Number(t) * 1000);
  for (const [metric, series] of Object.entries(body.series)) {
    const points = series.avg.map((y, i) => ({ x: times[i], y: y === null ? null : Number(y) }));
    out[metric] = { unit: series.unit || '', points };
  }
  return out;
}
