"""Alerts and notifications: rules over live values, their state in the history database, and
messages through apprise (email, ntfy, Telegram, webhooks...) and MQTT (`alerts/...`).

Modules: `rules` (model and parser), `defaults` (built-in rules), `config` (web.yaml `alerts:`),
`evaluator` (the state machine), `notify` (messages and the flap limiter), `store` (the alert
tables, history schema v4), `channels` (apprise and MQTT adapters), `delivery` (per-channel
workers with retry and backoff), `service` (the evaluation thread), `openapi` and `metrics`
(its entries in /api/openapi.json and /metrics). A library: it imports nothing of solarmon.web;
the web app wires it (`solarmon/web/alerts.py`: /api/alerts, the alerts page, the banner).
See docs/ALERTS.md.
"""
