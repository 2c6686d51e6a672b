// Live values for a page: Server-Sent Events from /api/stream, with polling of /api/data as the
// fallback when the stream is refused or keeps failing. Keeps the merged latest snapshot of the
// chosen device and tells the page its state: connecting, live, polling, stale or offline.

import { apiJSON, normalizeSnapshot, sectionOf, withQuery } from './api.js';

const POLL_MS = 5000;
const SSE_RETRY_MS = 30000;
const SSE_MAX_ERRORS = 3;
const WATCHDOG_MS = 4000; // nothing heard for this long: ask /api/data whether the server is there
export const STALE_AFTER_S = 180;

export class LiveFeed {
  constructor({ device = '', onUpdate = () => {}, onState = () => {}, onDevices = () => {} } = {}) {
    this.device = device;
    this.onUpdate = onUpdate;
    this.onState = onState;
    this.onDevices = onDevices;
    this.snapshot = null;
    this.clockOffsetS = 0; // browser clock minus server clock, from /api/data's ts + age_s
    this.devices = [];
    this.others = new Map(); // latest snapshot of every inverter: shown at once on a switch
    this.held = new Map(); // stream snapshots of devices /api/data has not listed (yet)
    this.source = null;
    this.sseErrors = 0;
    this.pollTimer = null;
    this.transport = 'connecting';
    this.offlineReason = null;
    this.staleAfterS = STALE_AFTER_S;
    this.staleReason = null;
    this.unreachableReason = null; // the server itself does not answer (not the inverter)
    this.lastHeard = Date.now();
    this.asking = false;
  }

  start() {
    this.poll();
    this.openStream();
    setInterval(() => {
      // A stream can stay "open" while nothing arrives (the server gone, the network down): when
      // nothing was heard for a while, ask the server directly; no answer means unreachable.
      if (Date.now() - this.lastHeard > WATCHDOG_MS && !this.asking) this.poll();
      this.emitState();
    }, 1000);
    return this;
  }

  setDevice(device) {
    this.device = device;
    this.snapshot = this.others.get(device) || null;
    this.poll();
  }

  ageS() {
    if (!this.snapshot || !Number.isFinite(this.snapshot.ts)) return null;
    return Date.now() / 1000 - this.clockOffsetS - this.snapshot.ts;
  }

  // One state: unreachable (the server does not answer), offline (the server answers, the
  // inverter does not), stale (values too old), else the transport (live, polling, connecting).
  state() {
    if (this.unreachableReason) return 'unreachable';
    if (this.offlineReason) return 'offline';
    const age = this.ageS();
    if (this.staleReason && (age === null || age > this.staleAfterS)) return 'stale';
    if (age === null) return this.transport === 'connecting' ? 'connecting' : 'offline';
    if (age > this.staleAfterS || (this.snapshot && !this.snapshot.ok)) return 'stale';
    return this.transport;
  }

  emitState() {
    this.onState(this.state(), this.ageS(), this.unreachableReason || this.offlineReason || this.staleReason);
  }

  async poll() {
    this.asking = true;
    try {
      const body = await apiJSON(withQuery('/api/data', { device: this.device }), { timeoutMs: WATCHDOG_MS });
      this.lastHeard = Date.now();
      const snap = normalizeSnapshot(body);
      this.unreachableReason = null;
      if (Number.isFinite(Number(body.stale_after_s))) this.staleAfterS = Number(body.stale_after_s);
      this.staleReason = null;
      if (Number.isFinite(snap.ts) && snap.ageS !== null) {
        this.clockOffsetS = Date.now() / 1000 - (snap.ts + snap.ageS);
      }
      if (snap.devices) this.setDevices(snap.devices);
      this.offlineReason = snap.ok ? null : (snap.error || 'the inverter reports a failure');
      this.accept(snap);
    } catch (err) {
      // No answer at all: the server is down or out of reach (the inverter may be fine).
      // 503 "stale": the daemon wrote nothing new for too long; "no_data": the inverter is offline.
      this.unreachableReason = err.status === 0 ? err.message : null;
      if (err.status === 0) {
        this.emitState();
        return;
      }
      // A 503 still names the inverters (`devices`): a stale one's stream events are then shown.
      if (err.payload && Array.isArray(err.payload.devices)) this.setDevices(err.payload.devices);
      if (err.kind === 'stale') {
        this.staleReason = err.message;
        this.offlineReason = null;
        if (this.snapshot && err.payload && err.payload.age_s !== undefined) {
          this.clockOffsetS = Date.now() / 1000 - (this.snapshot.ts + Number(err.payload.age_s));
        }
      } else {
        this.offlineReason = err.message || 'no data';
      }
      this.lastHeard = Date.now(); // the server answered, if only to say no
      this.emitState();
    } finally {
      this.asking = false;
    }
  }

  setDevices(devices) {
    const list = devices; // /api/data's `devices`: the inverter sections, in order
    const changed = list.join('\n') !== this.devices.join('\n');
    this.devices = list;
    if (!this.device && list.length) this.device = list[0];
    if (changed) this.onDevices(list, this.device);
    // Snapshots that came on the stream before their device was listed count from now on.
    for (const device of list) {
      const held = this.held.get(device);
      if (held === undefined) continue;
      this.held.delete(device);
      if (!this.others.has(device)) this.accept(held);
    }
  }

  // Every snapshot (from /api/data or a stream event) is the whole live picture of its device:
  // it replaces the previous one, so a value the server withdrew disappears here too.
  accept(snap) {
    this.lastHeard = Date.now();
    const device = snap.device || this.device;
    // Only the devices /api/data lists are inverters: a BMS's file is read like an inverter's and
    // its events come on the same stream. An event of another source, or one that arrives before
    // the list is known, is not shown (the list, and the device shown, come from /api/data).
    if (!device || !this.devices.includes(device)) {
      if (device) this.held.set(device, { ...snap, device }); // shown if /api/data lists it later
      this.emitState();
      return;
    }
    const merged = { ...snap, device };
    this.others.set(device, merged);
    if (device === this.device) {
      this.snapshot = merged;
      if (merged.ok) this.offlineReason = null;
      this.onUpdate(merged, this);
    }
    this.emitState();
  }

  openStream() {
    if (typeof EventSource === 'undefined') {
      this.startPolling();
      return;
    }
    const source = new EventSource('/api/stream');
    this.source = source;
    const onSample = (event) => {
      let body;
      try {
        body = JSON.parse(event.data);
      } catch (err) {
        return; // a keep-alive or a line we do not know: not an error
      }
      const snap = normalizeSnapshot(body);
      if (!snap || !sectionOf(snap.source)) return; // house/weather samples are for other pages
      if (this.transport !== 'live') {
        this.transport = 'live';
        this.stopPolling();
      }
      this.accept(snap);
    };
    // "snapshot" events (one per source on connect) and "sample" events (each new reading).
    source.addEventListener('snapshot', onSample);
    source.addEventListener('sample', onSample);
    source.addEventListener('health', (event) => {
      try {
        if (sectionOf(JSON.parse(event.data).source) === this.device) this.poll();
      } catch (err) {
        this.poll();
      }
    });
    source.addEventListener('open', () => {
      this.sseErrors = 0;
      this.transport = 'live';
      this.stopPolling();
      this.poll(); // catch up on what happened while the stream was down
    });
    source.addEventListener('error', () => {
      this.sseErrors += 1;
      this.poll(); // is the server gone, or only the stream? Ask at once rather than show "live"
      if (!this.pollTimer) this.pollTimer = setInterval(() => this.poll(), POLL_MS);
      if (source.readyState === EventSource.CLOSED || this.sseErrors >= SSE_MAX_ERRORS) {
        source.close();
        this.source = null;
        this.startPolling();
        setTimeout(() => this.openStream(), SSE_RETRY_MS);
      }
    });
  }

  startPolling() {
    this.transport = 'polling';
    if (!this.pollTimer) this.pollTimer = setInterval(() => this.poll(), POLL_MS);
    this.emitState();
  }

  stopPolling() {
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.pollTimer = null;
  }
}

const STATE_TEXT = {
  connecting: 'connecting…', live: 'live', online: 'inverter online', polling: 'polling', stale: 'data stale',
  offline: 'inverter not answering', unreachable: 'server unreachable',
};

// Show the feed's state in the navigation badge (both themes have one, #live-status).
export function showLiveState(state) {
  const badge = document.getElementById('live-status');
  if (!badge) return;
  badge.dataset.state = state;
  badge.textContent = STATE_TEXT[state] || state;
}

// Pages without live values (charts, house) still show whether the inverter data is fresh:
// ask /api/data now and then, without holding a stream open.
export function watchStatus(everyMs = 30000) {
  const check = async () => {
    try {
      await apiJSON('/api/data');
      showLiveState('online');
    } catch (err) {
      showLiveState(err.status === 0 ? 'unreachable' : (err.kind === 'stale' ? 'stale' : 'offline'));
      const badge = document.getElementById('live-status');
      if (badge) badge.title = err.message;
    }
  };
  check();
  setInterval(check, everyMs);
}
