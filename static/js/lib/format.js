// Formatting of values, units and ages for display, and the values the pages derive.

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

function num(values, ...keys) {
  for (const key of keys) {
    const value = Number(values[key]);
    if (values[key] !== undefined && values[key] !== null && values[key] !== '' && Number.isFinite(value)) {
      return value;
    }
  }
  return null;
}

function truthy(value) {
  return value === true || value === 1 || value === '1' || value === 'true' || value === 'True';
}

// Values the inverter does not report directly: PV power, battery net current and power, grid
// power (estimated from the balance of the others, since off-grid units do not measure it).
export function derive(values) {
  const out = {};
  const pvW = num(values, 'pv_input_power', 'pv_charging_power');
  const pvV = num(values, 'pv_input_voltage');
  const pvA = num(values, 'pv_input_current_for_battery', 'pv_input_current');
  out.pv_power = pvW ?? (pvV !== null && pvA !== null ? pvV * pvA : null);
  const battV = num(values, 'battery_voltage');
  const charge = num(values, 'battery_charging_current');
  const discharge = num(values, 'battery_discharge_current');
  const net = charge === null && discharge === null ? null : (charge || 0) - (discharge || 0);
  out.battery_net_current = net;
  out.battery_power = battV !== null && net !== null ? battV * net : null;
  if (net === null) out.battery_state = null;
  else out.battery_state = net > 0.05 ? 'Charging' : net < -0.05 ? 'Discharging' : 'Idle';
  const load = num(values, 'ac_output_active_power');
  const gridMeasured = num(values, 'grid_power', 'ac_input_active_power', 'ac_input_power');
  const gridV = num(values, 'ac_input_voltage');
  if (gridMeasured !== null) {
    out.grid_power = gridMeasured;
  } else if ((gridV !== null && gridV < 90) || /^(battery|b)$/i.test(String(values.device_mode ?? ''))) {
    out.grid_power = 0;
  } else if (load !== null) {
    const balance = load + (out.battery_power || 0) - (out.pv_power || 0);
    out.grid_power = Math.max(0, balance);
  } else {
    out.grid_power = null;
  }
  return out;
}

// QPIWS bits that are faults only while a1 (inverter fault) is set, warnings otherwise (PI30).
const CONDITIONAL_FAULTS = new Set([
  'over_temperature_fault', 'fan_locked_fault', 'battery_voltage_too_high_fault', 'overload_fault',
]);

// The inverter's warnings and faults in words, from the decoded QPIWS bits (mppsolar's names, as
// the daemon writes them: line_fail_warning, bus_over_fault, ...). `reported` is false when the
// values hold no QPIWS bit at all.
export function alarmsOf(values) {
  const alarms = [];
  let reported = false;
  const inverterFault = truthy(values.inverter_fault);
  for (const [key, value] of Object.entries(values)) {
    // QFLAG switches (primary_source_interrupt_alarm...) are settings, not alarms: not matched.
    if (!/(_fault|_warning|_fail)$/.test(key)) continue;
    if (/^(rated_|default_)/.test(key) || typeof value === 'string' && !/^(0|1|true|false|True|False)$/.test(value)) continue;
    reported = true;
    if (!truthy(value)) continue;
    const fault = CONDITIONAL_FAULTS.has(key) ? inverterFault : /_fault$|_fail$/.test(key) && !/_warning$/.test(key);
    const text = words(key.replace(/_(fault|warning)$/, ''));
    alarms.push({ key, text, fault });
  }
  alarms.sort((a, b) => Number(b.fault) - Number(a.fault) || a.text.localeCompare(b.text));
  return { alarms, reported };
}

export function modeOf(values) {
  const mode = values.device_mode ?? values.mode ?? values.inverter_mode;
  return mode === undefined || mode === null || mode === '' ? null : words(mode);
}
