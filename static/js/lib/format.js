// Formatting of values, units and ages for display. Derived values (PV total, battery, grid and
// load power) and the fault rule come from the API: the pages only render them.

const FORMATTERS = new Map();

function formatter(digits) {
  if (!FORMATTERS.has(digits)) {
    FORMATTERS.set(digits, new Intl.NumberFormat(undefined, {
      minimumFractionDigits: digits, maximumFractionDigits: digits,
    }));
  }
  return FORMATTERS.get(digits);
}

// A number with a fixed number of decimals; strings and booleans as words; '–' when unknown.
export function formatValue(value, digits = 1) {
  if (value === null || value === undefined || value === '') return '–';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  const number = Number(value);
  if (typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(number))) {
    return Number.isFinite(number) ? formatter(digits).format(number) : '–';
  }
  return String(value);
}

// "3 s", "5 min", "2 h", "4 d": how old a reading is.
export function formatAge(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return 'unknown';
  const s = Math.max(0, Math.round(seconds));
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

// A power in W, or kW from 10 kW up, with its unit.
export function formatPower(watts) {
  if (watts === null || watts === undefined || !Number.isFinite(watts)) return '–';
  const abs = Math.abs(watts);
  return abs >= 10000 ? `${formatValue(watts / 1000, 1)} kW` : `${formatValue(watts, 0)} W`;
}

// "battery_low_alarm" -> "Battery low alarm"; MQTT names keep their levels: "living_room/temperature"
// -> "Living room · temperature".
export function words(key) {
  return String(key).split('/').map((part, i) => {
    const text = part.replace(/^is_/, '').replace(/_/g, ' ').trim();
    return i === 0 ? text.charAt(0).toUpperCase() + text.slice(1) : text;
  }).join(' · ');
}

// How the battery is doing, in words, from the API's signed battery_power (+ charging).
export function batteryState(values) {
  const watts = Number(values.battery_power);
  if (values.battery_power === undefined || values.battery_power === null || !Number.isFinite(watts)) return null;
  return watts > 2 ? 'Charging' : watts < -2 ? 'Discharging' : 'Idle';
}

// The inverter's faults and warnings as the API lists them (`faults`, `warnings`: catalog keys,
// decided by the server's one rule), with their labels. `reported` is false when no QPIWS bit is
// among the live values (the snapshot's kinds tell).
export function alarmsOf(snap, labels = {}) {
  const kinds = snap.kinds || {};
  const reported = Object.values(kinds).some((kind) => kind === 'fault' || kind === 'warning');
  const text = (key) => labels[key] || words(key);
  const alarms = [
    ...(snap.faults || []).map((key) => ({ key, text: text(key), fault: true })),
    ...(snap.warnings || []).map((key) => ({ key, text: text(key), fault: false })),
  ];
  return { alarms, reported };
}

// QMOD's mode names (PI30: the API's `device_mode`) in a householder's words: what feeds the house.
export const MODE_WORDS = {
  Line: 'Grid', Battery: 'Solar + battery', 'Power On': 'Starting up', Standby: 'Standby (not powering the house)',
  Fault: 'Fault', 'Power saving': 'Power saving', Shutdown: 'Shutting down',
};

// The mode in words, null when not reported. The protocol's own term goes in a tooltip (modeTerm).
export function modeOf(values) {
  const mode = values.device_mode;
  if (mode === undefined || mode === null || mode === '') return null;
  return MODE_WORDS[mode] || words(mode);
}

// The protocol's term of the mode, for the tooltip: 'Inverter mode "Line" (QMOD)'.
export function modeTerm(values) {
  const mode = values.device_mode;
  return mode === undefined || mode === null || mode === '' ? '' : `Inverter mode "${mode}" (QMOD)`;
}

// The one date format of the pages: local time as the browser writes it, the ISO form on hover.
export function formatWhen(date) {
  const d = date instanceof Date ? date : new Date(date);
  return Number.isNaN(d.getTime()) ? String(date) : d.toLocaleString();
}

// Every <time datetime="..."> of the page (the server writes UTC) in local time, ISO as tooltip.
export function showTimes(root = document) {
  for (const element of root.querySelectorAll('time[datetime]')) {
    const d = new Date(element.dateTime);
    if (Number.isNaN(d.getTime())) continue;
    element.title = d.toISOString();
    element.textContent = formatWhen(d);
  }
}
