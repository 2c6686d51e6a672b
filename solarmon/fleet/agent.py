"""The site's agent: its config, its command line and its systemd unit.

Debian's `prometheus` (2.42) runs in agent mode (`--enable-feature=agent`, `agent.kind: prometheus`,
the default): it scrapes, keeps the samples in a write-ahead log and remote-writes them; no local
queries, no rules. Every series gets `site="<name>"` from `global.external_labels`. While the
central store is unreachable (a mobile modem's outage) the remote-write queue retries with backoff
up to `max_backoff_s` and the samples wait in the WAL, which the agent truncates only below what was
sent and never keeps longer than `--storage.agent.retention.max-time` (`agent.max_outage_h`): when
the link returns, it sends them in order with their own timestamps. What was unsent when the agent
restarts is not sent (docs/FLEET.md, "Outages").

`agent.kind: vmagent` (Debian's victoria-metrics package) scrapes with the same config, takes the
remote write and the site label as flags and keeps its queue in files, which it sends after a
restart too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from solarmon.fleet.settings import SiteSettings

PROMETHEUS = "/usr/bin/prometheus"
VMAGENT = "/usr/bin/vmagent"  # Debian's victoria-metrics package
BINARIES = {"prometheus": PROMETHEUS, "vmagent": VMAGENT}
UNIT = "solarmon-fleet-agent.service"
CONFIG_PATH = "/etc/solarmon/fleet/agent.yml"
STATE_DIR = "solarmon-fleet-agent"  # systemd's StateDirectory: /var/lib/solarmon-fleet-agent
# systemd hands the 0600 secret files to the unit's dynamic user here (LoadCredential=).
CREDENTIALS_DIR = f"/run/credentials/{UNIT}"
REMOTE_WRITE_SECRET = "remote-write.secret"  # noqa: S105 - a file name, not a secret
SCRAPE_TOKEN = "scrape.token"  # noqa: S105 - a file name, not a secret
# From node_exporter only the textfile collector's families (the daemon's mpp_solar_*, the web
# app's house/weather/battery files, the forecast): the machine's own hundreds of node_* series
# would multiply what a site sends over a metered link.
TEXTFILE_KEEP = "mpp_solar_.*|house_.*|weather_.*|battery_.*|forecast_.*|node_textfile_scrape_error"
WEB_JOB = "solarmon-web"
TEXTFILE_JOB = "solarmon-textfile"


def duration(seconds: float) -> str:
    """A Prometheus duration: 30 -> '30s', 0.5 -> '500ms', 7200 -> '2h'."""
    ms = round(seconds * 1000)
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def agent_config(settings: SiteSettings, credentials_dir: str | None = CREDENTIALS_DIR) -> dict[str, Any]:
    """The agent's configuration as a mapping. With `credentials_dir` (the systemd unit's) the
    secrets are read from there; None: straight from the files the settings name (tests, demo)."""
    def secret(path: str, name: str) -> str:
        return f"{credentials_dir}/{name}" if credentials_dir else path

    scrape_s = settings.scrape.interval_s
    url = urlsplit(settings.scrape.metrics_url)
    web_job: dict[str, Any] = {
        "job_name": WEB_JOB, "scheme": url.scheme, "metrics_path": url.path or "/metrics",
        "static_configs": [{"targets": [url.netloc]}],
    }
    if settings.scrape.token_file:
        web_job["authorization"] = {"type": "Bearer",
                                    "credentials_file": secret(settings.scrape.token_file, SCRAPE_TOKEN)}
    jobs = [web_job]
    if settings.scrape.node_exporter:
        jobs.append({"job_name": TEXTFILE_JOB,
                     "static_configs": [{"targets": [settings.scrape.node_exporter]}],
                     "metric_relabel_configs": [{"source_labels": ["__name__"], "regex": TEXTFILE_KEEP,
                                                 "action": "keep"}]})
    central = settings.central
    agent = settings.agent
    write: dict[str, Any] = {
        "name": "central", "url": central.remote_write_url, "remote_timeout": "30s",
        "queue_config": {
            # Catching up after hours offline: big batches, few connections (a modem's uplink).
            "capacity": 10000, "max_samples_per_send": 5000, "batch_send_deadline": "5s",
            "min_shards": 1, "max_shards": 4,
            # A failed send is retried, never dropped, while the store is unreachable or says 5xx
            # (and 429: too many requests): the samples wait in the WAL meanwhile.
            "min_backoff": duration(agent.min_backoff_s), "max_backoff": duration(agent.max_backoff_s),
            "retry_on_http_429": True,
        },
        # VictoriaMetrics has no use for metadata; it would only cost the uplink.
        "metadata_config": {"send": False},
    }
    if central.auth == "basic":
        write["basic_auth"] = {"username": central.username,
                               "password_file": secret(central.credentials_file, REMOTE_WRITE_SECRET)}
    elif central.auth == "bearer":
        write["authorization"] = {"type": "Bearer",
                                  "credentials_file": secret(central.credentials_file, REMOTE_WRITE_SECRET)}
    if central.ca_file:
        write["tls_config"] = {"ca_file": central.ca_file}
    return {
        "global": {"scrape_interval": duration(scrape_s), "scrape_timeout": duration(min(10, scrape_s)),
                   "external_labels": {"site": settings.site}},
        "scrape_configs": jobs,
        "remote_write": [write],
    }


def vmagent_config(settings: SiteSettings, credentials_dir: str | None = CREDENTIALS_DIR) -> dict[str, Any]:
    """vmagent's `-promscrape.config`: the same scrapes; the site label and the remote write are
    on its command line (`agent_command`)."""
    config = agent_config(settings, credentials_dir)
    del config["global"]["external_labels"], config["remote_write"]
    return config


def render_agent_config(settings: SiteSettings, credentials_dir: str | None = CREDENTIALS_DIR) -> str:
    """The agent's YAML (no secret in it: only the files that hold them)."""
    vm = settings.agent.kind == "vmagent"
    what = "vmagent's scrapes" if vm else "Prometheus in agent mode"
    head = (f"# solarmon fleet agent of site {settings.site!r}: {what} (docs/FLEET.md).\n"
            f"# Written by ./manage_web.sh fleet-setup from {settings.source}; edit that, not this.\n")
    config = (vmagent_config if vm else agent_config)(settings, credentials_dir)
    return head + yaml.safe_dump(config, sort_keys=False)


def agent_command(settings: SiteSettings, config_path: str | Path, storage_dir: str | Path, *,
                  binary: str | None = None, listen: str | None = None,
                  credentials_dir: str | None = None) -> list[str]:
    """The agent's command line (the unit's ExecStart; tests and the demo run it as it is).
    `credentials_dir` as for the config (vmagent takes its remote-write secrets here)."""
    binary = binary or BINARIES[settings.agent.kind]
    listen = listen or settings.agent.listen
    if settings.agent.kind == "vmagent":
        return _vmagent_command(settings, config_path, storage_dir, binary, listen, credentials_dir)
    return [
        binary, "--enable-feature=agent", f"--config.file={config_path}",
        f"--storage.agent.path={storage_dir}",
        # The WAL keeps unsent samples this long at most: the longest outage that loses nothing.
        f"--storage.agent.retention.max-time={duration(settings.agent.max_outage_h * 3600)}",
        f"--web.listen-address={listen}",
    ]


def _vmagent_command(settings: SiteSettings, config_path: str | Path, storage_dir: str | Path, binary: str,
                     listen: str, credentials_dir: str | None) -> list[str]:
    """vmagent: the scrapes from the config, the rest in flags. Its queue is files under
    `storage_dir`, kept across restarts (what Prometheus' remote write cannot do)."""
    central = settings.central
    secret = f"{credentials_dir}/{REMOTE_WRITE_SECRET}" if credentials_dir else central.credentials_file
    command = [binary, f"-promscrape.config={config_path}", f"-remoteWrite.url={central.remote_write_url}",
               f"-remoteWrite.label=site={settings.site}", f"-remoteWrite.tmpDataPath={storage_dir}",
               f"-httpListenAddr={listen}"]
    if central.auth == "basic":
        command += [f"-remoteWrite.basicAuth.username={central.username}",
                    f"-remoteWrite.basicAuth.passwordFile={secret}"]
    elif central.auth == "bearer":
        command.append(f"-remoteWrite.bearerTokenFile={secret}")
    if central.ca_file:
        command.append(f"-remoteWrite.tlsCAFile={central.ca_file}")
    return command


def render_unit(settings: SiteSettings, config_path: str = CONFIG_PATH) -> str:
    """The agent's systemd unit: a dynamic user, its WAL in /var/lib, secrets as credentials."""
    command = agent_command(settings, config_path, f"/var/lib/{STATE_DIR}", credentials_dir=CREDENTIALS_DIR)
    credentials = []
    if settings.central.credentials_file:
        credentials.append(f"LoadCredential={REMOTE_WRITE_SECRET}:{settings.central.credentials_file}")
    if settings.scrape.token_file:
        credentials.append(f"LoadCredential={SCRAPE_TOKEN}:{settings.scrape.token_file}")
    return "\n".join([
        "# solarmon fleet agent (docs/FLEET.md): Prometheus in agent mode (or vmagent) scrapes this site and",
        "# remote-writes to the central store. Written by ./manage_web.sh fleet-setup (solarmon/fleet/).",
        "[Unit]",
        "Description=solarmon fleet agent (scrape this site, remote-write to the central store)",
        "Documentation=file:/opt/solarmon/docs/FLEET.md",
        "Wants=network-online.target",
        "After=network-online.target mpp-solar-web.service",
        "",
        "[Service]",
        "Type=simple",
        "ExecStart=" + " ".join(command),
        "Restart=on-failure",
        "RestartSec=10",
        "TimeoutStopSec=30",
        "# Its own throwaway user; the WAL (the samples waiting for the uplink) survives restarts here.",
        "DynamicUser=yes",
        f"StateDirectory={STATE_DIR}",
        "StateDirectoryMode=0700",
        "# The 0600 secret files stay root's: systemd hands copies to this service only.",
        *credentials,
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectControlGroups=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "CapabilityBoundingSet=",
        "MemoryMax=300M",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ])
