"""The hub's one adapter to the central store: a Prometheus HTTP API client (VictoriaMetrics).

Only this module speaks HTTP to the store. It returns plain dataclasses and raises the project's
own errors: `StoreUnavailable` (connection refused, DNS, a timeout: the store cannot be reached,
503 / 504 at the API) and `StoreError` (the store answered, but with an error or a body that does
not fit: 502). Every request has a timeout, so a hung store never hangs a page.

A typed service: `start()` opens the HTTP session and a small thread pool that runs a handful of
queries at once (`run_all`), `stop()` closes both. Nothing is opened in the constructor.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests

LOG = logging.getLogger(__name__)
T = TypeVar("T")
POOL_THREADS = 8  # the queries of one /api/fleet answer run side by side


class StoreError(Exception):
    """The store answered, but not with what was asked (an error status or an odd body): a 502."""

    status = 502
    code = "store_error"


class StoreUnavailable(StoreError):
    """The store cannot be reached: refused, unknown host (503) or no answer in time (504)."""

    status = 503
    code = "store_unavailable"

    def __init__(self, message: str, *, timeout: bool = False) -> None:
        """`timeout`: the store did not answer within fleet.timeout_s (a 504)."""
        super().__init__(message)
        if timeout:
            self.status, self.code = 504, "store_timeout"


@dataclass(frozen=True)
class Sample:
    """One series of an instant query: its labels and value (`__name__` kept when the store keeps it)."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class RangeSeries:
    """One series of a range query: labels, timestamps (s) and values."""

    labels: Mapping[str, str]
    points: list[tuple[float, float]]


def read_credentials(path: Path) -> tuple[str, str] | str:
    """`user:password` (HTTP basic) or a bearer token from the first line of `path` (OSError /
    ValueError when unreadable or empty)."""
    line = path.read_text(encoding="utf-8").strip().splitlines()
    if not line or not line[0].strip():
        raise ValueError(f"{path} is empty")
    first = line[0].strip()
    if ":" in first:
        user, _, password = first.partition(":")
        return user, password
    return first


class PromClient:
    """A Prometheus query API client for one base URL (e.g. http://central:8428)."""

    def __init__(self, base_url: str, *, timeout_s: float = 5.0,
                 credentials: tuple[str, str] | str | None = None) -> None:
        """Remember where and how; nothing is opened until `start()`."""
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._credentials = credentials
        self._session: requests.Session | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None  # the newest query's failure (None: it succeeded)

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the HTTP session (kept-alive connections) and the query pool."""
        with self._lock:
            if self._session is not None:
                return
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=POOL_THREADS * 2)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            if isinstance(self._credentials, tuple):
                session.auth = self._credentials
            elif isinstance(self._credentials, str):
                session.headers["Authorization"] = f"Bearer {self._credentials}"
            session.headers["Accept"] = "application/json"
            self._session = session
            self._pool = ThreadPoolExecutor(POOL_THREADS, thread_name_prefix="fleet-query")

    def stop(self) -> None:
        """Close the pool and the session; safe when not started."""
        with self._lock:
            pool, session = self._pool, self._session
            self._pool = self._session = None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if session is not None:
            session.close()

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._session is not None

    def health(self) -> dict[str, Any]:
        """For /api/status: running and the newest query succeeded; the failure in words if not."""
        error = self.last_error if self.running else "not running"
        return {"ok": error is None, "error": error, "store": self.base_url}

    def _outcome(self, error: str | None) -> None:
        """Remember a query's outcome; log only the transitions (store lost, store back)."""
        if error is not None and self.last_error is None:
            LOG.warning("central store: %s", error)
        elif error is None and self.last_error is not None:
            LOG.info("central store %s answers again", self.base_url)
        self.last_error = error

    # -- queries ----------------------------------------------------------------------------------
    def query(self, expr: str, at: float, *, fresh: bool = True) -> list[Sample]:
        """An instant query at time `at`: one Sample per series (NaN values left out).

        `fresh` asks VictoriaMetrics to bypass its result cache (`nocache=1`): otherwise it hides
        the last 30 s (-search.latencyOffset) and every site would look 30 s older than it is.
        """
        params = {"query": expr, "time": f"{at:.3f}"}
        if fresh:
            params["nocache"] = "1"
        data = self._get("/api/v1/query", params, post=True)
        if data.get("resultType") != "vector":
            raise StoreError(f"the store answered a {data.get('resultType')!r}, not a vector, to {expr!r}")
        out = []
        for item in data.get("result", []):
            value = _number(item.get("value"))
            if value is not None:
                out.append(Sample(item.get("metric", {}), value))
        return out

    def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[RangeSeries]:
        """A range query from `start` to `end` every `step_s` seconds."""
        data = self._get("/api/v1/query_range", {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                                 "step": f"{step_s:g}s"}, post=True)
        if data.get("resultType") != "matrix":
            raise StoreError(f"the store answered a {data.get('resultType')!r}, not a matrix, to {expr!r}")
        out = []
        for item in data.get("result", []):
            points = []
            for pair in item.get("values", []):
                value = _number(pair)
                if value is not None:
                    points.append((float(pair[0]), value))
            out.append(RangeSeries(item.get("metric", {}), points))
        return out

    def label_values(self, label: str, match: str, start: float, end: float) -> list[str]:
        """The values of `label` on series matching `match` between `start` and `end`."""
        data = self._get(f"/api/v1/label/{label}/values",
                         {"match[]": match, "start": f"{start:.0f}", "end": f"{end:.0f}"})
        if not isinstance(data, list):
            raise StoreError(f"the store's label values of {label!r} are not a list")
        return [str(v) for v in data]

    def run_all(self, calls: Mapping[str, Callable[[], T]]) -> dict[str, T]:
        """Run the calls side by side on the pool; the first StoreError (by name order) is raised
        after all finished, so no query is left running behind an answer."""
        pool = self._pool
        if pool is None:
            raise StoreUnavailable("the fleet query client is not running (see /api/status)")
        futures = {name: pool.submit(call) for name, call in calls.items()}
        results: dict[str, T] = {}
        errors: list[BaseException] = []
        for name, future in futures.items():
            try:
                results[name] = future.result()
            except BaseException as exc:  # re-raised below, once every query ended
                errors.append(exc)
        if errors:
            raise errors[0]
        return results

    def _get(self, path: str, params: dict[str, str], *, post: bool = False) -> Any:
        """GET (or POST, as a form: a query naming many stale sites may outgrow a URL) a query API
        path; the `data` of a success, or the project's errors."""
        try:
            data = self._request(path, params, post=post)
        except StoreError as exc:
            self._outcome(str(exc))
            raise
        self._outcome(None)
        return data

    def _request(self, path: str, params: dict[str, str], *, post: bool) -> Any:
        """One HTTP exchange with the store, its failures as the project's errors."""
        session = self._session
        if session is None:
            raise StoreUnavailable("the fleet query client is not running (see /api/status)")
        url = self.base_url + path
        try:
            if post:
                response = session.post(url, data=params, timeout=self.timeout_s)
            else:
                response = session.get(url, params=params, timeout=self.timeout_s)
        except requests.Timeout:
            raise StoreUnavailable(f"the central store {self.base_url} did not answer within "
                                   f"{self.timeout_s:g} s", timeout=True) from None
        except requests.RequestException as exc:
            raise StoreUnavailable(f"the central store {self.base_url} cannot be reached: "
                                   f"{type(exc).__name__}") from None
        if response.status_code in (401, 403):
            raise StoreError(f"the central store {self.base_url} refused the hub's credentials (HTTP "
                             f"{response.status_code}): check fleet.credentials_file")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise StoreError(f"the central store {self.base_url} answered HTTP {response.status_code} "
                             f"without a Prometheus API body (is promql_url right?)")
        if response.status_code != 200 or body.get("status") != "success":
            reason = str(body.get("error") or body.get("errorType") or f"HTTP {response.status_code}")[:300]
            raise StoreError(f"the central store {self.base_url} refused a query: {reason}")
        return body.get("data")


def _number(pair: Any) -> float | None:
    """The value of a `[ts, "value"]` pair as a finite float, or None."""
    try:
        value = float(pair[1])
    except (TypeError, ValueError, IndexError):
        return None
    return value if math.isfinite(value) else None
