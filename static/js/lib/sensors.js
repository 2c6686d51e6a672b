// House, weather and BMS readings from /api/house, /api/weather and /api/battery as a flat list
// of {name, key, source, value, unit, ageS}. The body is {sources: {<source>: snapshot}}, each
// snapshot with values, units and ages (every sensor's own age).

export function readingsOf(body) {
  // A source named prefix:<name> contributes its values as <name>/<key> unless it holds one.
  return Object.entries(body.sources).flatMap(([source, snap]) => {
    const sub = source.includes(':') ? source.split(':').slice(1).join(':') : '';
    const keys = Object.keys(snap.values);
    return keys.map((key) => ({
      name: !sub ? key : (keys.length === 1 ? sub : `${sub}/${key}`),
      key,
      source,
      value: snap.values[key],
      unit: snap.units[key] ?? '',
      ageS: snap.ages[key] ?? snap.age_s,
    }));
  }).sort((a, b) => a.name.localeCompare(b.name));
}

// Cell readings of a BMS: names like battery/cell1, battery/cell_01_voltage, cell3.
export function cellsOf(readings) {
  return readings.filter((r) => /^battery[/_:]/.test(r.name) || /(^|[/_])cell[_ ]?\d+/.test(r.name))
    .map((r) => ({ ...r, label: r.name.replace(/^battery[/_:]/, '') }));
}
