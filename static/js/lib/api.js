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
export async function apiJSON(url, { method = 'GET', body = undefined, token = '' } = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  else if (method !== 'GET' && csrfToken()) headers['X-CSRF-Token'] = csrfToken();
  let response;
  try {
    response = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'same-origin',
    });
  } catch (err) {
    throw new ApiError(0, 'network', 'the server does not answer');
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

// A snapshot as the pages use it: {source, device, ts, ageS, values, units, ok, error}.
// Accepts /api/data's body and a live-stream sample event alike.
export function normalizeSnapshot(body) {
  if (!body || typeof body !== 'object') return null;
  const inner = body.data && typeof body.data === 'object' && body.data.values ? body.data : body;
  const values = {};
  const units = { ...(inner.units || {}) };
  for (const [key, raw] of Object.entries(inner.values || {})) {
    if (raw && typeof raw === 'object' && 'value' in raw) {
      values[key] = raw.value;
      if (raw.unit !== undefined) units[key] = raw.unit;
    } else {
      values[key] = raw;
    }
  }
  const source = body.source || inner.source || (body.device ? `${INVERTER_PREFIX}${body.device}` : '');
  return {
    source,
    device: body.device || sectionOf(source),
    ts: Number(body.ts ?? inner.ts ?? body.timestamp ?? NaN),
    ageS: body.age_s === undefined ? null : Number(body.age_s),
    values,
    units,
    ok: (inner.ok ?? body.ok) !== false,
    error: body.error || inner.error || null,
    devices: Array.isArray(body.devices) ? body.devices : null,
  };
}

// /api/historical's body as chart points: {metric: {unit, points: [{x: ms, y}]}}.
export function historyPoints(body) {
  const out = {};
  if (!body || !body.series) return out;
  const times = (body.t || []).map((t) => Number(t) * 1000);
  for (const [metric, series] of Object.entries(body.series)) {
    const values = Array.isArray(series) ? series : (series.avg || series.values || []);
    const points = [];
    values.forEach((y, i) => {
      if (Array.isArray(y)) points.push({ x: Number(y[0]) * 1000, y: y[1] });
      else points.push({ x: times[i], y: y === null || y === undefined ? null : Number(y) });
    });
    out[metric] = { unit: series.unit || '', points };
  }
  return out;
}
