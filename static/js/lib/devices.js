// The inverter switcher (#device-switch) and the ?device= of the page's URL.

import { apiJSON } from './api.js';

// The device chosen in the URL, or '' for the API's default (the first inverter).
export function chosenDevice() {
  return new URLSearchParams(window.location.search).get('device') || '';
}

// Wire the switcher: `onChange(device)` runs on a choice, after the URL says it. Returns a
// function to call with the devices and the current one; the switcher shows from two devices up.
export function deviceSwitch(onChange) {
  const box = document.getElementById('device-switch');
  const select = document.getElementById('device-select');
  if (!box || !select) return () => {};
  select.addEventListener('change', () => {
    const url = new URL(window.location.href);
    url.searchParams.set('device', select.value);
    window.history.replaceState(null, '', url);
    onChange(select.value);
  });
  return (devices, current) => {
    box.hidden = devices.length < 2;
    select.replaceChildren(...devices.map((device) => new Option(device, device, false, device === current)));
  };
}

// Pages without a live feed ask /api/data once for the list of devices.
export async function offerDevices(onChange) {
  const show = deviceSwitch(onChange);
  try {
    const body = await apiJSON('/api/data');
    show(body.devices || [], chosenDevice() || body.device);
  } catch (error) {
    show([], '');
  }
}
