// The login, admin and audit pages: plain HTML forms that work without this script. It only asks
// before a destructive button (remove an account, revoke a token) sends its form, and labels the
// tables' cells for their stacked layout on a phone.

import { showTimes } from './lib/format.js';
import { labelCells } from './lib/tables.js';

labelCells();
showTimes();

for (const button of document.querySelectorAll('button[data-confirm]')) {
  button.addEventListener('click', (event) => {
    // eslint-disable-next-line no-alert
    if (!window.confirm(button.dataset.confirm)) event.preventDefault();
  });
}

// These pages show no live data: the frame's live-status badge would say "connecting…" forever.
const badge = document.getElementById('live-status');
if (badge) {
  badge.dataset.state = 'none';
  badge.hidden = true;
}
