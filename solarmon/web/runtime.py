"""The web app's per-app context and the Runtime that starts and stops its background services.

Build first, start later: `create_app()` only builds objects and puts them in a `WebContext`
(`app.extensions["solarmon"]`); `Runtime(services).start()` starts the threads, in order, and a
failure in one service is logged and recorded, never fatal to the others. `stop()` stops them in
reverse order. Other parts join by appending a service to `ctx.services` from their `init_app`
hook (see `solarmon/web/__init__.py`) and setting their attribute of `ctx.parts` (WebParts).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from flask import Flask, current_app

from solarmon.web.config import WebConfig

if TYPE_CHECKING:  # types only: these modules import this one (get_context), never the reverse
    from prometheus_client import CollectorRegistry

    from solarmon.alerts.service import AlertService
    from solarmon.mqtt.house import HouseSubscriber
    from solarmon.web.auth.security import Security
    from solarmon.web.control import ControlClient
    from solarmon.web.energy import Energy
    from solarmon.web.history import History
    from solarmon.web.promreader import PromReader
    from solarmon.web.state import LiveState
    from solarmon.web.stream import StreamLimiter

LOG = logging.getLogger(__name__)
EXTENSION_KEY = "solarmon"


@runtime_checkable
class Service(Protocol):
    """A background part: `start()` returns once it runs (threads started), `stop()` joins them."""

    def start(self) -> None:
        """Start the service's threads; raise if it cannot run."""

    def stop(self) -> None:
        """Stop the service and wait for its threads; must be safe to call when not started."""


@dataclass
class WebParts:
    """The typed services object: every object the app builds, one attribute each.

    `create_app()` fills the data path (control, state, history, energy, reader); each part's
    `init_app` fills its own (security, streams, registry; house only with an `mqtt:` section,
    alerts only with alerts enabled: None otherwise, and views answer 503 through `need()`).
    """

    control: ControlClient | None = None
    state: LiveState | None = None
    history: History | None = None
    energy: Energy | None = None
    reader: PromReader | None = None
    house: HouseSubscriber | None = None
    alerts: AlertService | None = None
    security: Security | None = None
    streams: StreamLimiter | None = None
    registry: CollectorRegistry | None = None
    runtime: Runtime | None = None
    # /api/data's serialized body per source, reused while the snapshot is unchanged (api.py).
    data_body_cache: dict[str, Any] = field(default_factory=dict)  # api.py: source -> body


@dataclass
class WebContext:
    """Everything one app instance shares between requests and threads (no module globals).

    `parts` is the typed services object (WebParts). `health` holds one callable per source for
    /api/status.
    """

    config: WebConfig
    parts: WebParts = field(default_factory=WebParts)
    services: list[tuple[str, Service]] = field(default_factory=list)
    health: dict[str, Callable[[], dict[str, Any]]] = field(default_factory=dict)
    stopping: threading.Event = field(default_factory=threading.Event)
    started_at: float = field(default_factory=time.time)

    def add_service(self, service: Service, name: str | None = None) -> None:
        """Append a background service (`name` is how /api/status calls it); Runtime starts them
        in this order. The caller also sets the service's attribute of `parts`."""
        self.services.append((name or _name(service), service))


def get_context(app: Flask | None = None) -> WebContext:
    """The WebContext of `app` (default: the app handling the current request)."""
    return (app or current_app).extensions[EXTENSION_KEY]


@dataclass
class ServiceStatus:
    """What happened to one service at start: running, or the error that stopped it."""

    name: str
    running: bool = False
    error: str = ""


class Runtime:
    """Starts a list of services in order and stops them in reverse; one failure is not fatal."""

    def __init__(self, services: Sequence[Service | tuple[str, Service]],
                 stopping: threading.Event | None = None) -> None:
        """Remember the services (bare or as (name, service)); nothing starts until `start()`."""
        named = [item if isinstance(item, tuple) else (_name(item), item) for item in services]
        self.services = [service for _, service in named]
        self.stopping = stopping or threading.Event()
        self.status: list[ServiceStatus] = [ServiceStatus(name) for name, _ in named]
        self._started: list[Service] = []

    @classmethod
    def for_app(cls, app: Flask) -> Runtime:
        """A Runtime for every service `create_app()` (and its extensions) registered on `app`."""
        ctx = get_context(app)
        runtime = cls(ctx.services, ctx.stopping)
        ctx.parts.runtime = runtime
        return runtime

    def start(self) -> Runtime:
        """Start each service in order; log and record a failure, then go on with the next."""
        self.stopping.clear()
        for service, status in zip(self.services, self.status, strict=True):
            try:
                service.start()
            except Exception as exc:  # one broken part must not take the whole app down
                status.running, status.error = False, f"{type(exc).__name__}: {exc}"
                LOG.error("service %s failed to start: %s", status.name, status.error)
                continue
            status.running, status.error = True, ""
            self._started.append(service)
            LOG.info("service %s started", status.name)
        return self

    def stop(self) -> None:
        """Stop the started services in reverse order (each error is logged, the rest still stop)."""
        self.stopping.set()  # ends open live streams so waitress can shut down
        while self._started:
            service = self._started.pop()
            try:
                service.stop()
            except Exception:  # stopping must go on: log and continue with the next service
                LOG.exception("service %s failed to stop cleanly", _name(service))
        for status in self.status:
            status.running = False

    def describe(self) -> list[dict[str, Any]]:
        """JSON-able state of every service, for /api/status."""
        return [{"name": s.name, "running": s.running, "error": s.error or None} for s in self.status]

    def __enter__(self) -> Runtime:
        """Start on entering a `with` block."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop on leaving a `with` block."""
        self.stop()


def _name(service: Service) -> str:
    """A readable name for a service: its `name` attribute, else its class name."""
    return str(getattr(service, "name", None) or type(service).__name__)
