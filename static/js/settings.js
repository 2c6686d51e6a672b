// The settings page: one row per setting the daemon allows (/api/settings), each with the
// inverter's value now (/api/data, by the row's catalog key), what it accepts, and a control
// preset to the value now. A change is confirmed "from X to Y" first; after the ACK the row shows
// the value the inverter reports (the daemon re-reads it: the reply's `verified`) at once.
// On a parallel system (/api/settings names `units`) a per-unit row shows each unit's value (its
// own /api/data) and applies a value to all units (the default) or one; output mode is read-only.

import { apiJSON, withQuery } from './lib/api.js';
import { chosenDevice } from './lib/devices.js';
import { formatAge, formatValue } from './lib/format.js';
import { showLiveState } from './lib/live.js';
import { outcome, resultText, summaryText, targetText } from './lib/unitsettings.js';

const POLL_MS = 5000;
const el = (id) => document.getElementById(id);

// The choice of `row` that is set when the API shows `value` (each choice declares its
// `data_value`: a name, a number, or 1/0 for a flag), else null.
export function choiceFor(row, value) {
  if (value === undefined || value === null || !Array.isArray(row.choices)) return null;
  return row.choices.find((c) => (typeof c.data_value === 'number'
    ? Number(value) === c.data_value : String(value) === String(c.data_value))) || null;
}

// The value now in words: the choice's label, or the number with its unit, or 'not reported'.
export function nowText(row, value, unit = '') {
  if (value === undefined || value === null || value === '') return 'not reported yet';
  const choice = choiceFor(row, value);
  if (choice) return choice.label;
  if (typeof value === 'number') return `${formatValue(value, 1)}${unit ? ` ${unit}` : ''}`;
  return String(value);
}

// The wire command for a range row's number: prefix + nn.n (PBCV48.0).
export function rangeCommand(row, number) {
  return `${row.prefix}${Number(number).toFixed(1).padStart(4, '0')}`;
}

// What the row accepts, in words.
export function allowedText(row) {
  if (row.available === false) return `Not available yet: ${row.reason || 'the inverter has not reported its limits'}.`;
  if (row.kind === 'range') return `Allowed: ${row.min} to ${row.max} ${row.unit || ''} in steps of ${row.step}.`;
  return `Choices: ${row.choices.map((c) => c.label).join(', ')}.`;
}

class SettingsPage {
  constructor(root) {
    this.root = root;
    this.role = root.dataset.role || '';
    this.device = chosenDevice();
    this.rows = [];
    this.data = null; // the last /api/data body
    this.verified = new Map(); // row index -> {value, sentAt}: the ACK's value until the data catches up
    this.pending = null;
    this.units = []; // a parallel system's units: [{unit, device}]
    this.unitData = new Map(); // unit device -> {body, at}: its last /api/data
    this.unitMarks = new Map(); // "index|device" -> {value, sentAt}: as `verified`, per unit
  }

  perUnit(row) {
    return Boolean(row.per_unit) && this.units.length > 0;
  }

  async start() {
    el('settings-confirm-yes').addEventListener('click', () => this.confirmYes());
    el('settings-confirm-no').addEventListener('click', () => this.closeConfirm());
    try {
      const body = await apiJSON(withQuery('/api/settings', { device: this.device }));
      this.device = body.device;
      this.units = body.units || [];
      this.rows = body.settings.filter((row) => !row.read_only || this.units.length);
    } catch (error) {
      el('settings-state').textContent = `No settings: ${error.message}.`;
      showLiveState('offline');
      return;
    }
    await this.poll();
    this.render();
    setInterval(() => this.poll().then(() => this.refresh()), POLL_MS);
  }

  async poll() {
    try {
      this.data = await apiJSON(withQuery('/api/data', { device: this.device }));
      this.dataAt = Date.now() / 1000;
      showLiveState('online');
      el('data-age').textContent = `read ${formatAge(this.data.age_s)} ago`;
    } catch (error) {
      showLiveState(error.kind === 'stale' ? 'stale' : 'offline');
      el('data-age').textContent = error.message;
    }
    await Promise.all(this.units.map(async ({ device }) => {
      try {
        this.unitData.set(device, { body: await apiJSON(withQuery('/api/data', { device })), at: Date.now() / 1000 });
      } catch (error) {
        this.unitData.delete(device); // a unit off the bus: no value, never an old one
      }
    }));
  }

  // A unit's value of a per-unit row: the ACK's until that unit's data has a read after it.
  unitValue(index, device) {
    const row = this.rows[index];
    const data = this.unitData.get(device);
    const mark = this.unitMarks.get(`${index}|${device}`);
    if (mark) {
      const age = data ? Number((data.body.ages || {})[row.current_key]) : NaN;
      const readAt = data ? data.at - (Number.isFinite(age) ? age : Infinity) : -Infinity;
      if (!(readAt >= mark.sentAt)) return mark.value;
      this.unitMarks.delete(`${index}|${device}`);
    }
    return data ? (data.body.values || {})[row.current_key] : undefined;
  }

  unitTexts(index) {
    const row = this.rows[index];
    return this.units.map(({ device }) => nowText(row, this.unitValue(index, device), row.unit || ''));
  }

  // Where the row's change goes: 'all' or a unit number.
  target(index) {
    const select = this.rowNode(index).querySelector('[data-units-target]');
    return !select || select.value === 'all' ? 'all' : Number(select.value);
  }

  // The value now of a row: the ACK's verified value until /api/data has one read after the
  // change was sent (its age says when), else /api/data's.
  valueOf(index) {
    const row = this.rows[index];
    const values = (this.data && this.data.values) || {};
    const mark = this.verified.get(index);
    if (mark && this.data) {
      const age = Number((this.data.ages || {})[row.current_key]);
      const readAt = this.dataAt - (Number.isFinite(age) ? age : Infinity);
      if (!(readAt >= mark.sentAt)) return mark.value;
      this.verified.delete(index);
    }
    return values[row.current_key];
  }

  unitOf(row) {
    return (this.data && this.data.units && this.data.units[row.current_key]) || row.unit || '';
  }

  render() {
    const list = el('settings-list');
    list.replaceChildren();
    if (!this.rows.length) {
      el('settings-state').textContent = `The daemon allows no setting on ${this.device} `
        + '(allowed_settings in its section of mpp-solar.conf is empty).';
      return;
    }
    const needsAdmin = this.role !== 'admin';
    const count = this.rows.filter((row) => !row.read_only).length;
    el('settings-state').textContent = `${count} setting${count === 1 ? '' : 's'} `
      + `allowed on ${this.device}.${needsAdmin ? ' Settings marked "needs an admin" can be changed by an admin only.' : ''}`
      + (this.units.length ? ` A parallel system of ${this.units.length} units: the charging currents and the charger `
        + 'priority are set per unit (all units, or one); the other settings are system-wide and sent once.' : '');
    this.rows.forEach((row, index) => list.append(this.rowElement(row, index, needsAdmin && row.dangerous)));
    this.refresh(true);
  }

  rowElement(row, index, locked) {
    const item = document.createElement('section');
    item.className = 'sm-setting';
    item.dataset.index = String(index);
    item.dataset.prefix = row.prefix;
    item.dataset.key = row.current_key || '';
    const head = document.createElement('h3');
    head.className = 'sm-setting-name';
    head.id = `setting-${index}-name`;
    head.textContent = row.label;
    if (row.dangerous) {
      const badge = document.createElement('span');
      badge.className = 'badge sm-badge-danger';
      badge.textContent = locked ? 'needs an admin' : 'dangerous';
      head.append(' ', badge);
    }
    const now = document.createElement('p');
    now.className = 'sm-setting-now';
    now.innerHTML = 'Now: <strong data-now></strong>';
    const unitList = [];
    if (this.perUnit(row)) {
      const list = document.createElement('ul');
      list.className = 'sm-setting-units';
      for (const { unit, device } of this.units) {
        const entry = document.createElement('li');
        entry.dataset.unit = String(unit);
        entry.dataset.device = device;
        const value = document.createElement('strong');
        value.dataset.unitNow = '';
        entry.append(`Unit ${unit}: `, value);
        list.append(entry);
      }
      unitList.push(list);
    }
    if (row.read_only) {
      const note = document.createElement('p');
      note.className = 'sm-note';
      note.textContent = `Read-only: ${row.note || 'not sent from here'}.`;
      item.append(head, now, ...unitList, note);
      item.dataset.locked = 'true';
      return item;
    }
    const allowed = document.createElement('p');
    allowed.className = 'sm-note sm-setting-allowed';
    allowed.textContent = allowedText(row);
    const form = document.createElement('form');
    form.className = 'sm-setting-form';
    form.autocomplete = 'off';
    const label = document.createElement('label');
    label.className = 'form-label';
    label.htmlFor = `setting-${index}`;
    label.textContent = `New value${row.unit ? ` (${row.unit})` : ''}`;
    let control;
    if (row.kind === 'range') {
      control = document.createElement('input');
      control.type = 'number';
      control.className = 'form-control';
      control.min = row.min;
      control.max = row.max;
      control.step = row.step;
      control.required = true;
    } else {
      control = document.createElement('select');
      control.className = 'form-select';
      for (const choice of row.choices) control.append(new Option(choice.label, choice.command));
    }
    control.id = `setting-${index}`;
    control.dataset.control = '';
    let targetParts = [];
    if (this.perUnit(row)) {
      const targetLabel = document.createElement('label');
      targetLabel.className = 'form-label';
      targetLabel.htmlFor = `setting-${index}-units`;
      targetLabel.textContent = 'Apply to';
      const target = document.createElement('select');
      target.className = 'form-select';
      target.id = `setting-${index}-units`;
      target.dataset.unitsTarget = '';
      target.append(new Option(`All ${this.units.length} units`, 'all'),
        ...this.units.map(({ unit }) => new Option(`Unit ${unit} only`, String(unit))));
      target.addEventListener('change', () => this.refreshButton(index));
      target.disabled = row.available === false || locked;
      targetParts = [targetLabel, target];
    }
    const button = document.createElement('button');
    button.className = 'btn btn-warning';
    button.type = 'submit';
    button.textContent = 'Change…';
    button.dataset.change = '';
    const off = row.available === false || locked;
    control.disabled = off;
    button.disabled = true;
    control.addEventListener('input', () => this.refreshButton(index));
    control.addEventListener('change', () => this.refreshButton(index));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      this.ask(index);
    });
    form.append(label, control, button, ...targetParts);
    item.append(head, now, ...unitList, allowed, form);
    item.dataset.locked = off ? 'true' : 'false';
    return item;
  }

  rowNode(index) {
    return el('settings-list').querySelector(`[data-index="${index}"]`);
  }

  // The command the row's control holds now.
  chosenCommand(index) {
    const row = this.rows[index];
    const control = this.rowNode(index).querySelector('[data-control]');
    if (row.kind === 'range') return control.value === '' ? null : rangeCommand(row, control.value);
    return control.value || null;
  }

  currentCommand(index) {
    const row = this.rows[index];
    if (this.perUnit(row)) {
      const target = this.target(index);
      const devices = this.units.filter(({ unit }) => target === 'all' || unit === target);
      const commands = devices.map(({ device }) => {
        const choice = choiceFor(row, this.unitValue(index, device));
        return choice ? choice.command : null;
      });
      return commands.length && commands.every((c) => c && c === commands[0]) ? commands[0] : null;
    }
    const value = this.valueOf(index);
    if (row.kind === 'range') return value === undefined || value === null ? null : rangeCommand(row, value);
    const choice = choiceFor(row, value);
    return choice ? choice.command : null;
  }

  refreshButton(index) {
    const node = this.rowNode(index);
    if (this.rows[index].read_only) return;
    const chosen = this.chosenCommand(index);
    node.querySelector('[data-change]').disabled = node.dataset.locked === 'true' || !chosen
      || chosen === this.currentCommand(index);
  }

  // Show each row's value now; `preset` (or a row whose value changed) sets its control to it.
  refresh(preset = false) {
    this.rows.forEach((row, index) => {
      const node = this.rowNode(index);
      if (!node) return;
      if (this.perUnit(row)) {
        this.refreshUnits(row, index, node, preset);
        return;
      }
      const value = this.valueOf(index);
      const text = nowText(row, value, this.unitOf(row));
      const strong = node.querySelector('[data-now]');
      const changed = strong.textContent !== text;
      strong.textContent = text;
      node.dataset.now = text;
      if (preset || changed) {
        const control = node.querySelector('[data-control]');
        if (row.kind === 'range') {
          if (value !== undefined && value !== null) control.value = Number(value).toFixed(1);
        } else {
          const command = this.currentCommand(index);
          if (command) control.value = command;
        }
      }
      this.refreshButton(index);
    });
  }

  // A per-unit row: each unit's value, the summary, and the control preset to the common value.
  refreshUnits(row, index, node, preset) {
    const texts = this.unitTexts(index);
    node.querySelectorAll('[data-unit-now]').forEach((strong, i) => {
      strong.textContent = texts[i];
      strong.parentElement.dataset.now = texts[i];
    });
    const summary = summaryText(texts);
    const strong = node.querySelector('[data-now]');
    const changed = strong.textContent !== summary;
    strong.textContent = summary;
    node.dataset.now = summary;
    if (row.read_only) return;
    if (preset || changed) {
      const command = this.currentCommand(index);
      if (command) node.querySelector('[data-control]').value = command;
    }
    this.refreshButton(index);
  }

  ask(index) {
    const row = this.rows[index];
    const command = this.chosenCommand(index);
    if (!command) return;
    const choice = row.kind === 'range' ? null : row.choices.find((c) => c.command === command);
    const to = choice ? choice.label : `${formatValue(Number(this.rowNode(index).querySelector('[data-control]').value), 1)} ${row.unit || ''}`.trim();
    let from = nowText(row, this.valueOf(index), this.unitOf(row));
    let where = '';
    const target = this.perUnit(row) ? this.target(index) : null;
    if (target !== null) {
      const texts = this.unitTexts(index);
      from = target === 'all' ? summaryText(texts)
        : texts[this.units.findIndex(({ unit }) => unit === target)];
      where = ` on ${targetText(target, this.units)}`;
    }
    this.pending = { index, command, from, to, target };
    el('settings-confirm-text').textContent = `Change ${row.label}${where} from ${from} to ${to} (${command})?`
      + (row.dangerous ? ' This setting is marked dangerous: a wrong value can cut the power to the house or harm the battery.' : '');
    el('settings-confirm').hidden = false;
    el('settings-confirm-yes').focus();
  }

  closeConfirm() {
    el('settings-confirm').hidden = true;
    this.pending = null;
  }

  async confirmYes() {
    const pending = this.pending;
    this.closeConfirm();
    if (!pending) return;
    const row = this.rows[pending.index];
    const sentAt = Date.now() / 1000;
    const reply = el('settings-reply');
    reply.replaceChildren();
    const box = document.createElement('div');
    if (pending.target !== null) {
      reply.append(await this.sendToUnits(row, pending, sentAt, box));
      return;
    }
    try {
      const result = await apiJSON('/api/command', {
        method: 'POST', body: { command: pending.command, device: this.device, confirm: true },
      });
      const verified = result.verified || {};
      if (row.current_key && row.current_key in verified) {
        this.verified.set(pending.index, { value: verified[row.current_key], sentAt });
      }
      this.refresh();
      const now = nowText(row, this.valueOf(pending.index), this.unitOf(row));
      box.className = 'alert alert-success mb-0';
      box.dataset.result = 'ok';
      box.textContent = `${row.label}: the inverter accepted ${pending.command} and now reports ${now}.`;
    } catch (error) {
      box.className = 'alert alert-danger mb-0';
      box.dataset.result = 'error';
      const payload = error.payload || {};
      box.textContent = payload.error === 'nak'
        ? `${row.label}: the inverter refused ${pending.command} (NAK); it still reports ${pending.from}.`
        : `${row.label}: not changed — ${error.message}.`;
    }
    reply.append(box);
  }

  // Send a per-unit change with `units`; the box lists what each unit did and reports now.
  async sendToUnits(row, pending, sentAt, box) {
    let perUnit = null;
    let failure = null;
    try {
      perUnit = (await apiJSON('/api/command', {
        method: 'POST',
        body: { command: pending.command, device: this.device, confirm: true, units: pending.target },
      })).per_unit;
    } catch (error) {
      perUnit = error.payload && Array.isArray(error.payload.per_unit) ? error.payload.per_unit : null;
      failure = error;
    }
    if (!perUnit) {
      box.className = 'alert alert-danger mb-0';
      box.dataset.result = 'error';
      box.textContent = `${row.label}: not changed — ${failure ? failure.message : 'no reply'}.`;
      return box;
    }
    for (const entry of perUnit) {
      const value = (entry.verified || {})[row.current_key];
      if (value !== undefined && value !== null) {
        this.unitMarks.set(`${pending.index}|${entry.device}`, { value, sentAt });
      }
    }
    this.refresh();
    const result = outcome(perUnit);
    box.className = `alert ${result === 'ok' ? 'alert-success' : result === 'partial' ? 'alert-warning' : 'alert-danger'} mb-0`;
    box.dataset.result = result;
    const head = document.createElement('p');
    head.className = 'mb-1';
    head.textContent = result === 'ok'
      ? `${row.label}: ${targetText(pending.target, this.units)} accepted ${pending.to}.`
      : `${row.label}: ${failure ? failure.message : 'not every unit took it'}.`;
    const list = document.createElement('ul');
    list.className = 'mb-0';
    for (const entry of perUnit) {
      const item = document.createElement('li');
      item.dataset.unitResult = entry.result;
      item.dataset.unit = String(entry.unit);
      const now = nowText(row, this.unitValue(pending.index, entry.device), row.unit || '');
      item.textContent = resultText(entry, now);
      list.append(item);
    }
    box.append(head, list);
    return box;
  }
}

const root = el('settings-page');
if (root) new SettingsPage(root).start();
