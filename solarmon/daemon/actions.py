"""What a control request does, on the device's worker thread: queries, and guarded settings.

Queries are always allowed. A setting must be in the section's ``allowed_settings``, must pass the
codec's validation (ranges depend on the unit's QPIRI), and a dangerous one (PI30.md §4) needs
``"confirm": true``. After an ACK the worker re-reads QPIRI and QFLAG and returns what the inverter
now reports. Every setting attempt, whatever its outcome, is written to the audit log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from solarmon.daemon.audit import AuditLog
from solarmon.daemon.unit_actions import run_units
from solarmon.daemon.worker import DeviceWorker
from solarmon.inverter import catalog, unit_settings
from solarmon.inverter.errors import CommandRefused, InverterError, SettingRejected
from solarmon.inverter.policy import CommandClass
from solarmon.inverter.readings import Reading
from solarmon.inverter.setting_rules import CURRENT_KEYS

LOG = logging.getLogger(__name__)

def error_reply(device: str, command: str, error: str, message: str, **extra: Any) -> dict[str, Any]:
    """A failed request's reply: ``error`` is a stable kind (nak, timeout, refused, invalid, ...)."""
    return {"ok": False, "device": device, "command": command, "error": error, "message": message} | extra


def _class_name(command_class: CommandClass) -> str:
    return command_class.name.lower()


def verified_values(command: str, ratings: Reading | None, flags: Reading | None) -> dict[str, Any]:
    """What the inverter reports now for the field(s) ``command`` changes."""
    if command.startswith(("PE", "PD")):
        return flags.as_dict() if flags is not None else {}
    if command == "PF":
        return (ratings.as_dict() if ratings else {}) | (flags.as_dict() if flags else {})
    unit = unit_settings.addressed(command)
    if unit is not None:  # MNCHGC0120, PPCP001: the host's own
        return {unit.key: ratings.get(unit.key) if ratings is not None else None}
    for family in sorted(CURRENT_KEYS, key=len, reverse=True):
        if command.startswith(family):
            values = ratings.as_dict() if ratings is not None else {}
            key = CURRENT_KEYS[family]
            return {key: values.get(key)}
    return {}


def describe(keys: Iterable[str]) -> dict[str, dict[str, str]]:
    """``{"units": {key: unit}, "kinds": {key: kind}}`` of ``keys``, from the field catalog.

    The console shows a reply with these (units only where a field has one); the keys are the
    catalog's, the same as ``/api/data``'s.
    """
    units: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for key in keys:
        entry = catalog.info(key)
        if entry is None:
            continue
        kinds[key] = entry.kind.value
        if entry.unit:
            units[key] = entry.unit
    return {"units": units, "kinds": kinds}


class Actions:
    """Runs requests for one device; every method is called on the device's worker thread."""

    def __init__(self, worker: DeviceWorker, audit: AuditLog) -> None:
        self.worker = worker
        self.audit = audit
        self.name = worker.device.name

    def query(self, command: str) -> dict[str, Any]:
        """Send a query; a reply to a polled command also refreshes the next .prom file."""
        try:
            reading = self.worker.exchange(command)
        except InverterError as exc:
            return error_reply(self.name, command, exc.kind, str(exc), **{"class": "query"})
        if command in self.worker.cycle_commands + self.worker.slow_commands:
            self.worker.store(reading)
        reply = reading.as_dict()
        return {"ok": True, "device": self.name, "command": command, "class": "query",
                "reply": reply, **describe(reply)}

    def currents(self, command: str) -> list[Reading] | None:
        """The current list a charging-current setting is checked against (None: not one, or unread).

        MCHGC / MNCHGC / MUCHGC only take a value from the unit's own list (PI30.md §4); without
        the list validate_setting refuses them, which is the safe answer when the query fails.
        """
        assert self.worker.spec is not None
        prefix = "MUCHGC" if command.startswith("MUCHGC") else (
            "MCHGC" if command.startswith(("MCHGC", "MNCHGC")) else "")
        list_command = self.worker.spec.current_lists.get(prefix)
        if list_command is None:
            return None
        try:
            return [self.worker.exchange(list_command)]
        except InverterError as exc:
            LOG.warning("[%s] %s before %s failed: %s", self.name, list_command, command, exc)
            return None

    def setting(self, command: str, command_class: CommandClass, confirm: bool) -> dict[str, Any]:
        """Check, send, verify and audit one setting."""
        kind = _class_name(command_class)

        def fail(error: str, message: str, **extra: Any) -> dict[str, Any]:
            """Audit the failed attempt and build its error reply."""
            self.audit.record(device=self.name, command=command, result=error, message=message,
                              confirm=confirm)
            return error_reply(self.name, command, error, message, **{"class": kind} | extra)

        if not self.worker.device.setting_allowed(command):
            return fail("refused", f"{command} is not in allowed_settings of [{self.name}] "
                        f"({', '.join(self.worker.device.allowed_settings) or 'none'})", reason="not_allowed")
        if command_class is CommandClass.DANGEROUS and not confirm:
            return fail("refused", f"{command} is dangerous (PI30.md §4): send it with \"confirm\": true",
                        reason="confirm_required")
        spec = self.worker.spec
        assert spec is not None
        try:
            ratings = self.ratings()
        except InverterError as exc:
            return fail(exc.kind, f"cannot read {spec.ratings} to check the value: {exc}")
        try:
            checked = spec.validate(command, ratings, self.currents(command))
        except SettingRejected as exc:
            return fail("invalid", str(exc))
        unit = unit_settings.addressed(checked) if spec.name == "pi30" else None
        if unit is not None and unit.unit not in self._addressable():
            return fail("invalid", f"{checked} is addressed to unit {unit.unit}, which [{self.name}] "
                        f"does not have (units {', '.join(map(str, self._addressable()))})")
        try:
            self.worker.exchange(checked, setting=True)
        except CommandRefused as exc:
            return fail("nak", f"the inverter refused {checked}: {exc}")
        except InverterError as exc:
            return fail(exc.kind, f"{checked}: {exc}")
        self.worker.mark_slow_stale()  # if a re-read below fails, the next cycle reads again
        reread: dict[str, Reading | None] = {}
        for slow in spec.slow:
            try:
                reread[slow] = self.worker.exchange(slow)
            except InverterError as exc:
                LOG.warning("[%s] %s after %s failed: %s", self.name, slow, checked, exc)
                reread[slow] = None
                continue
            self.worker.store(reread[slow])
            if slow in self.worker.slow:
                self.worker.slow[slow].done()
        self.worker.write_prom()
        verified = verified_values(checked, reread[spec.slow[0]], reread[spec.slow[1]])
        self.audit.record(device=self.name, command=checked, result="ok", confirm=confirm, verified=verified)
        LOG.info("[%s] setting %s accepted; inverter reports %s", self.name, checked, verified)
        return {"ok": True, "device": self.name, "command": checked, "class": kind, "reply": {"ack": True},
                **describe(verified), "verified": verified,
                "verify_complete": all(reread.values())}

    def ratings(self) -> Reading:
        """The unit's ratings (QPIRI / PIRI) the checks need: the latest, else read now."""
        assert self.worker.spec is not None
        ratings = self.worker.latest(self.worker.spec.ratings)
        if ratings is None:
            ratings = self.worker.exchange(self.worker.spec.ratings)
            self.worker.store(ratings)
        return ratings

    def _addressable(self) -> tuple[int, ...]:
        """The unit numbers a PI30 setter may carry here: a system's units, else 0 (a single unit)."""
        units = self.worker.units
        return tuple(units.numbers or ()) if units is not None and units.active else (0,)

    def run(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one parsed request (``command`` already checked to be a non-empty string)."""
        command = request["command"].strip()
        if self.worker.spec is None:
            return error_reply(self.name, command, "refused", "the protocol of this unit is not known yet "
                               "(protocol = auto): nothing is sent until it is", reason="protocol_unknown")
        command_class = self.worker.spec.classify(command)
        if "units" in request and command_class in (CommandClass.SETTING, CommandClass.DANGEROUS):
            return run_units(self, command, command_class, request["units"], request.get("confirm") is True)
        if command_class is CommandClass.QUERY:
            return self.query(command)
        if command_class is CommandClass.UNKNOWN:
            protocol = self.worker.spec.name.upper()
            return error_reply(self.name, command, "refused",
                               f"{command!r} is not a known {protocol} command",
                               reason="unknown_command", **{"class": "unknown"})
        return self.setting(command, command_class, request.get("confirm") is True)
