"""The control socket (``--control PATH``): change the simulated world while it runs.

A Unix stream socket taking one JSON object per line; each gets one JSON line back,
``{"ok": true, ...}`` or ``{"ok": false, "error": "<what was wrong>"}``. Messages (``op``):

``{"op": "ping"}``
    liveness; replies ``{"ok": true}``.
``{"op": "snapshot"}``
    the model's state: ``{"ok": true, "state": {...}}`` (mode, soc_percent, battery_voltage, pv_w,
    load_w, warnings, pins, ...).
``{"op": "query", "command": "QPIGS"}``
    what the firmware answers right now, without the wire: ``payload`` and ``values``.
``{"op": "pin", "field": "battery_voltage", "value": 51.2}``
    hold a QPIGS value (mppsolar's field name) at ``value`` until unpinned; ``"values": {...}``
    pins several at once. Pinned battery voltage, battery capacity, PV power, load power, grid
    voltage and heat-sink temperature also drive the model (mode changes, warnings).
``{"op": "unpin", "field": "battery_voltage"}``
    release one pin (no ``field``: all of them).
``{"op": "set", "cloudiness": 0.8, "load_w": 1200, "grid": false, "soc": 35}``
    any of: ``cloudiness`` 0..1 (held until ``null``), ``load_w`` (held; ``null`` back to the
    household profile), ``grid`` true/false (utility present), ``soc`` percent (set once).
``{"op": "fault", "kind": "inverter"}``
    trip a fault (``inverter``, ``overload``, ``overtemp``, ``battery_open``): QMOD says F and
    QPIWS shows it; ``"kind": null`` clears it.
``{"op": "unplug", "seconds": 5}``
    the device disappears and comes back as a new node (see ``--faults gone``).
``{"op": "advance", "seconds": 3600}``
    jump the simulated clock forward.
``{"op": "faults", "spec": "noreply:0.5"}``
    replace the ``--faults`` rules (schedules count from now; ``""`` clears them).
``{"op": "unit", "unit": 1, "fault": "81", "present": false}``
    a unit of a ``--units`` system: ``fault`` a two-digit fault code ("00" clears), ``present``
    false takes it off the bus (its QPGSn is NAKed), true puts it back; replies ``{"units": [...]}``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

from solarmon.simulator.device import Device
from solarmon.simulator.faults import parse_fault_spec

FAULT_KINDS = ("inverter", "overload", "overtemp", "battery_open")
MAX_LINE_BYTES = 65536


class ControlError(ValueError):
    """A control message that cannot be carried out; its text goes back to the client."""


class ControlServer:
    """Serves the control socket at ``path`` for ``device``; ``start()`` / ``close()``."""

    def __init__(self, path: Path, device: Device) -> None:
        self.path = path
        self.device = device
        self._sock: socket.socket | None = None
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Bind the socket (replacing a stale one) and start accepting."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(self.path))
        sock.listen(8)
        sock.settimeout(0.5)
        self._sock = sock
        self._thread = threading.Thread(target=self._accept_loop, name="sim-control", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop accepting and remove the socket file."""
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self._sock is not None:
            self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(
                target=self._serve, args=(conn,), name="sim-control-conn", daemon=True
            ).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            for line in stream:
                if len(line) > MAX_LINE_BYTES:
                    reply: dict[str, Any] = {"ok": False, "error": "message too long"}
                else:
                    reply = self.handle_line(line)
                stream.write(json.dumps(reply, default=str).encode() + b"\n")
                stream.flush()

    def handle_line(self, line: bytes | str) -> dict[str, Any]:
        """Carry out one JSON message and return the reply object (never raises)."""
        try:
            message = json.loads(line)
            if not isinstance(message, dict):
                raise ControlError("a message is a JSON object")
            result = self.handle(message)
        except json.JSONDecodeError as exc:
            return {"ok": False, "error": f"not JSON: {exc.msg}"}
        except ControlError as exc:
            return {"ok": False, "error": str(exc)}
        self.device.truth.write("control", message=message)
        return {"ok": True, **result}

    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        """Carry out one decoded message; ControlError when it is wrong."""
        op = message.get("op")
        handler = {
            "ping": lambda m: {},
            "snapshot": lambda m: {"state": self._model_call(lambda model: model.snapshot())},
            "query": self._query,
            "pin": self._pin,
            "unpin": self._unpin,
            "set": self._set,
            "fault": self._fault,
            "unplug": self._unplug,
            "advance": self._advance,
            "faults": self._faults,
            "unit": self._unit,
        }.get(op if isinstance(op, str) else "")
        if handler is None:
            raise ControlError(f"unknown op {op!r}")
        return handler(message)

    def _model_call(self, action: Any) -> Any:
        inverter = self.device.inverter
        with inverter.lock:
            inverter.model.advance_to(inverter.clock.now())
            return action(inverter.model)

    def _query(self, message: dict[str, Any]) -> dict[str, Any]:
        command = message.get("command")
        if not isinstance(command, str) or not command:
            raise ControlError("query needs a 'command' string")
        answer = self.device.inverter.respond(command)
        return {
            "command": answer.command,
            "payload": answer.reply.payload,
            "values": answer.reply.values,
        }

    def _pin(self, message: dict[str, Any]) -> dict[str, Any]:
        values = message.get("values")
        if values is None:
            values = {message.get("field"): message.get("value")}
        if not isinstance(values, dict) or not values:
            raise ControlError("pin needs 'field' and 'value', or 'values': {field: value}")
        known = self._model_call(lambda model: set(model.live_values()))
        for name, value in values.items():
            if name not in known:
                raise ControlError(f"cannot pin {name!r}; QPIGS fields: {', '.join(sorted(known))}")
            if value is not None and not _is_number(value):
                raise ControlError(f"pin {name!r}: value must be a number or null, got {value!r}")
        self._model_call(lambda model: [model.pin(name, value) for name, value in values.items()])
        return {"pins": self._model_call(lambda model: dict(model.pins))}

    def _unpin(self, message: dict[str, Any]) -> dict[str, Any]:
        name = message.get("field")

        def release(model: Any) -> None:
            for key in [name] if name else list(model.pins):
                model.pin(key, None)

        self._model_call(release)
        return {"pins": self._model_call(lambda model: dict(model.pins))}

    def _set(self, message: dict[str, Any]) -> dict[str, Any]:
        knobs = {key: value for key, value in message.items() if key != "op"}
        unknown = set(knobs) - {"cloudiness", "load_w", "grid", "soc"}
        if unknown or not knobs:
            raise ControlError(f"set takes cloudiness, load_w, grid, soc; got {sorted(knobs)}")
        for key in ("cloudiness", "load_w"):
            if key in knobs and knobs[key] is not None and not _is_number(knobs[key]):
                raise ControlError(f"set {key}: a number or null, got {knobs[key]!r}")
        if (
            "cloudiness" in knobs
            and knobs["cloudiness"] is not None
            and not 0 <= knobs["cloudiness"] <= 1
        ):
            raise ControlError("set cloudiness: between 0 and 1")
        if "grid" in knobs and not isinstance(knobs["grid"], bool):
            raise ControlError("set grid: true or false")
        if "soc" in knobs and not (_is_number(knobs["soc"]) and 0 <= knobs["soc"] <= 100):
            raise ControlError("set soc: a percentage 0..100")

        def apply(model: Any) -> None:
            if "cloudiness" in knobs:
                model.weather.pinned = knobs["cloudiness"] is not None
                if knobs["cloudiness"] is not None:
                    model.weather.cloud = float(knobs["cloudiness"])
            if "load_w" in knobs:
                model.household.fixed_w = (
                    None if knobs["load_w"] is None else float(knobs["load_w"])
                )
            if "grid" in knobs:
                model.grid_available = knobs["grid"]
            if "soc" in knobs:
                model.battery.soc = float(knobs["soc"]) / 100.0
            model.advance(0.0)

        self._model_call(apply)
        return {"state": self._model_call(lambda model: model.snapshot())}

    def _fault(self, message: dict[str, Any]) -> dict[str, Any]:
        kind = message.get("kind")
        if kind is not None and kind not in FAULT_KINDS:
            raise ControlError(f"fault kind must be one of {', '.join(FAULT_KINDS)} or null")

        def apply(model: Any) -> None:
            model.fault = kind
            model.advance(0.0)

        self._model_call(apply)
        return {"state": self._model_call(lambda model: model.snapshot())}

    def _unplug(self, message: dict[str, Any]) -> dict[str, Any]:
        seconds = message.get("seconds", 5)
        if not _is_number(seconds) or seconds <= 0:
            raise ControlError("unplug needs 'seconds' > 0")
        self.device.unplug_for(float(seconds), "control")
        return {}

    def _advance(self, message: dict[str, Any]) -> dict[str, Any]:
        seconds = message.get("seconds")
        if not _is_number(seconds) or seconds < 0:
            raise ControlError("advance needs 'seconds' >= 0")
        clock = self.device.inverter.clock
        jump = getattr(clock, "jump", None)
        if jump is None:
            raise ControlError("this clock cannot jump")
        jump(float(seconds))
        return {"state": self._model_call(lambda model: model.snapshot())}

    def _unit(self, message: dict[str, Any]) -> dict[str, Any]:
        inverter = self.device.inverter
        if not hasattr(inverter, "set_unit"):
            raise ControlError("unit needs a system started with --units / --layout")
        index, fault, present = message.get("unit"), message.get("fault"), message.get("present")
        if not isinstance(index, int) or isinstance(index, bool):
            raise ControlError("unit needs a 'unit' number")
        if fault is not None and not isinstance(fault, str):
            raise ControlError("'fault' is a two-digit string such as \"81\"")
        if present is not None and not isinstance(present, bool):
            raise ControlError("'present' is true or false")
        try:
            inverter.set_unit(index, fault_code=fault, present=present)
        except ValueError as exc:
            raise ControlError(str(exc)) from exc
        return {"units": _unit_state(inverter)}

    def _faults(self, message: dict[str, Any]) -> dict[str, Any]:
        spec = message.get("spec")
        if not isinstance(spec, str):
            raise ControlError("faults needs 'spec' (a --faults string, '' for none)")
        try:
            rules = parse_fault_spec(spec)
        except ValueError as exc:
            raise ControlError(str(exc)) from None
        self.device.replace_faults(rules, time.monotonic())
        return {"rules": len(rules)}


def _unit_state(inverter: Any) -> list[dict[str, Any]]:
    return [{"unit": u.index, "serial": u.serial, "fault": u.fault_code, "present": u.present,
             "output_mode": u.output_mode} for u in inverter.units]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
