"""The web app's per-app context and the Runtime that starts and stops its background services.

Build first, start later: `create_app()` only builds objects and puts them in a `WebContext`
(`app.extensions["solarmon"]`); `Runtime(services).start()` starts the threads, in order, and a
failure in one service is logged and recorded, never fatal to the others. `stop()` stops them in
reverse order. Other parts join by appending a service to `ctx.services` from their `init_app`
hook (see `solarmon/web/__init__.py`) and setting their attribute of `ctx.parts` (WebParts).

`create_server()` builds the waitress server the app runs behind, with its limits: bodies no
larger than the API accepts, idle and request timeouts, a total and a per-address connection cap
(`GuardedServer`, docs/SECURITY.md "Slow and greedy clients").
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from flask import Flask, current_app
from waitress.adjustments import Adjustments
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from solarmon.web.config import ServerConfig, WebConfig

if TYPE_CHECKING:  # types only: these modules import this one (get_context), never the reverse
    from prometheus_client import CollectorRegistry

    from solarmon.alerts.service import AlertService
    from solarmon.forecast.service import ForecastService
    from solarmon.mqtt.house import HouseSubscriber
    from solarmon.web.auth.security import Security
    from solarmon.web.control import ControlClient
    from solarmon.web.energy import Energy
    from solarmon.web.fleet.hub import FleetHub
    from solarmon.web.history import History
    from solarmon.web.promreader import PromReader
    from solarmon.web.settings import CurrentLists
    from solarmon.web.state import LiveState
    from solarmon.web.stream import StreamLimiter

LOG = logging.getLogger(__name__)
EXTENSION_KEY = "solarmon"
MAX_REQUEST_BYTES = 64 * 1024  # the largest body the API accepts (a command is a few bytes)
MAX_HEADER_BYTES = 64 * 1024  # request line and headers: ample for a browser, little per slow client
CLEANUP_INTERVAL_S = 1  # how often idle and slow connections are looked for
REFUSAL_LOG_INTERVAL_S = 60.0  # one warning per address and minute while its connections are refused


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
    alerts and forecast only when enabled: None otherwise, and views answer 503 through `need()`).
    """

    control: ControlClient | None = None
    state: LiveState | None = None
    history: History | None = None
    energy: Energy | None = None
    reader: PromReader | None = None
    house: HouseSubscriber | None = None
    alerts: AlertService | None = None
    forecast: ForecastService | None = None
    security: Security | None = None
    streams: StreamLimiter | None = None
    registry: CollectorRegistry | None = None
    runtime: Runtime | None = None
    current_lists: CurrentLists | None = None  # charging currents per device (settings.py)
    fleet: FleetHub | None = None  # hub mode only (web.yaml fleet:, solarmon/web/fleet/)
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


class GuardedServer(TcpWSGIServer):
    """waitress's TCP server with two more limits, which waitress itself does not have.

    - At most `per_address` connections open at once from one client address: one more is
      answered `503` and closed as soon as it is accepted, so one machine cannot take every one of
      waitress's `connection_limit` slots (0: no limit).
    - A request must arrive whole within `request_timeout_s` of its first byte. waitress's own
      `channel_timeout` only closes *idle* connections, so a client sending one header line every
      few seconds would hold its connection for ever. Live streams are not affected: once a
      request has arrived, its response may last as long as it needs.

    Both run on waitress's event-loop thread (`handle_accept`, `maintenance`), like waitress's own
    bookkeeping of `active_channels`, so they need no lock.
    """

    def __init__(self, *args: Any, per_address: int = 0, request_timeout_s: float = 0.0, **kw: Any) -> None:
        """As TcpWSGIServer, plus the two limits."""
        self.per_address = per_address
        self.request_timeout_s = request_timeout_s
        self.refused_total = 0  # connections refused by the per-address cap
        self.timed_out_total = 0  # connections closed for a request that took too long to arrive
        self._warned: dict[str, float] = {}  # address -> when its refusals were last logged
        self._reading: dict[int, tuple[object, float]] = {}  # fileno -> (request being read, since)
        super().__init__(*args, **kw)

    def open_from(self, address: str) -> int:
        """How many connections from `address` are open now."""
        return sum(1 for channel in list(self.active_channels.values())
                   if isinstance(channel.addr, tuple) and channel.addr[0] == address)

    def handle_accept(self) -> None:
        """Accept one connection, or refuse it when its address has too many open already."""
        try:
            accepted = self.accept()
            if accepted is None:
                return
            conn, addr = accepted
        except OSError:
            return
        address = addr[0] if isinstance(addr, tuple) else str(addr)
        if self.per_address and self.open_from(address) >= self.per_address:
            self._refuse(conn, address)
            return
        try:
            self.set_socket_options(conn)
        except OSError:  # the client already left
            conn.close()
            return
        self.channel_class(self, conn, self.fix_addr(addr), self.adj, map=self._map)

    def _refuse(self, conn: Any, address: str) -> None:
        """Answer 503 (best effort, never blocking) and close; log once a minute per address."""
        self.refused_total += 1
        with contextlib.suppress(OSError):
            conn.setblocking(False)
            conn.send(b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 5\r\n"
                      b"Content-Length: 0\r\n\r\n")
        conn.close()
        now = time.monotonic()
        if now - self._warned.get(address, -REFUSAL_LOG_INTERVAL_S) >= REFUSAL_LOG_INTERVAL_S:
            if len(self._warned) > 1000:
                self._warned.clear()
            self._warned[address] = now
            LOG.warning("refusing connections from %s: %d open already (server.max_connections_per_address); "
                        "%d refused so far", address, self.per_address, self.refused_total)

    def maintenance(self, now: float) -> None:
        """waitress's idle check, then close connections whose request is too slow to arrive."""
        super().maintenance(now)
        if self.request_timeout_s <= 0:
            return
        clock = time.monotonic()
        reading: dict[int, tuple[object, float]] = {}
        for fileno, channel in list(self.active_channels.items()):
            request = channel.request  # the request being read; None between requests
            if request is None or request.completed:
                continue
            seen = self._reading.get(fileno)
            since = seen[1] if seen is not None and seen[0] is request else clock
            if clock - since > self.request_timeout_s:
                self.timed_out_total += 1
                LOG.info("closing the connection from %s: its request did not arrive within %g s "
                         "(server.request_timeout_s)", channel.addr[0] if channel.addr else "?",
                         self.request_timeout_s)
                channel.will_close = True
                continue
            reading[fileno] = (request, since)
        self._reading = reading


def server_adjustments(server: ServerConfig, host: str, port: int) -> Adjustments:
    """waitress's settings for the app: body and header limits, timeouts, the connection cap."""

    return Adjustments(
        host=host, port=port, threads=server.threads, ident="solarmon",
        # Beyond this many open connections waitress stops accepting: leave room for every
        # stream, refused clients and the API.
        connection_limit=max(100, 4 * server.threads),
        channel_timeout=server.idle_timeout_s, cleanup_interval=CLEANUP_INTERVAL_S,
        # A body larger than the API takes is refused (413) before it is read, not spooled to disk.
        max_request_body_size=MAX_REQUEST_BYTES, max_request_header_size=MAX_HEADER_BYTES)


def create_server(app: Any, server: ServerConfig, host: str, port: int) -> TcpWSGIServer | MultiSocketServer:
    """The waitress server for `app` on host:port (port 0: a free one), bound, not yet running.

    Like `waitress.create_server`, with a `GuardedServer` per listening socket. Raises OSError
    when the address cannot be bound.
    """
    adj = server_adjustments(server, host, port)
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(adj.threads)
    socket_map: dict[int, Any] = {}
    servers = [GuardedServer(app, socket_map, dispatcher=dispatcher, adj=adj, sockinfo=sockinfo,
                             per_address=server.max_connections_per_address,
                             request_timeout_s=server.request_timeout_s)
               for sockinfo in adj.listen]
    if len(servers) == 1:
        return servers[0]
    listening = [(s.effective_host, s.effective_port) for s in servers]
    return MultiSocketServer(socket_map, adj, listening, dispatcher, servers[-1].log_info)
