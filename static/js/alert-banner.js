// The alert banner on every page (templates/alerts/_banner.html): refreshed from GET /api/alerts
// every 30 s, so a page left open shows a new alert and hides one that cleared or was acknowledged.

const REFRESH_MS = 30000;

export function bannerText(active) {
  const open = active.filter((a) => !a.acknowledged);
  if (!open.length) return null;
  const s = open.length === 1 ? '' : 's';
  return { text: `${open.length} active alert${s}: ${open[0].message}`, severity: open[0].severity };
}

async function refresh(banner) {
  let body;
  try {
    const response = await fetch('/api/alerts?limit=1', { cache: 'no-store', credentials: 'same-origin' });
    if (!response.ok) return;
    body = await response.json();
  } catch (err) {
    return; // the server is away: the live badge already says so
  }
  const shown = body && body.enabled ? bannerText(body.active || []) : null;
  banner.hidden = !shown;
  banner.dataset.severity = shown ? shown.severity : 'none';
  document.getElementById('alert-banner-text').textContent = shown ? shown.text : '';
}

const banner = document.getElementById('alert-banner');
if (banner) {
  document.addEventListener('solarmon:alerts-changed', () => refresh(banner));
  setInterval(() => refresh(banner), REFRESH_MS);
}
