"""A per-unit setting on a parallel system: one addressed command per unit, in order, then read back.

The settings page (or any client) asks ``{"command": "MCHGC060", "units": "all"}`` (or
``"units": 2``). The command names the setting and its value; on a PI30 parallel section (its
``parallel`` found units) the daemon builds one command per unit with that unit's number
(PROTOCOLS-QPGS.md §4: ``MCHGC<u><nn>``, ``MNCHGC<u><nnn>``, ``MUCHGC<u><nn(n)>``, ``PPCP<u><nn>``),
checks them all first (allowed_settings, confirm, the unit's QMCHGCR / QMUCHGCR list), then sends
them one at a time and stops at the first that fails: the units after it are "not_sent". Every
command sent is audited. Then every unit's QPGSn (and the host's QPIRI / QFLAG) is read again, so
the reply and the next .prom file carry the values the units confirm. The reply's ``per_unit``
lists each unit's command, result (ack, nak, another error kind, not_sent) and ``verified`` value.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from solarmon.daemon.units import unit_label
from solarmon.inverter import unit_settings
from solarmon.inverter.errors import CommandRefused, InverterError, SettingRejected
from solarmon.inverter.policy import CommandClass

if TYPE_CHECKING:
    from solarmon.daemon.actions import Actions

LOG = logging.getLogger(__name__)
ALL = "all"


def _targets(actions: Actions, target: Any) -> list[int] | str:
    """The unit numbers a request names, or why it names none."""
    units = actions.worker.units
    if units is None or not units.active or actions.worker.spec is None or actions.worker.spec.name != "pi30":
        return (f"[{actions.name}] is not a PI30 parallel system with units found (parallel = auto|N): "
                "send the setting without \"units\"")
    numbers = list(units.numbers or ())
    if target == ALL:
        return numbers
    if target in numbers:
        return [target]
    return f"unit {target!r} is not a unit of [{actions.name}] (units {', '.join(map(str, numbers))})"


def run_units(actions: Actions, command: str, command_class: CommandClass, target: Any,
              confirm: bool) -> dict[str, Any]:
    """Expand ``command`` over the units ``target`` names ("all" or a unit number), send, read back."""
    worker, kind = actions.worker, command_class.name.lower()
    spec = worker.spec
    found = unit_settings.parse(command)

    def fail(error: str, message: str, **extra: Any) -> dict[str, Any]:
        actions.audit.record(device=actions.name, command=command, result=error, message=message,
                             confirm=confirm)
        return {"ok": False, "device": actions.name, "command": command, "class": kind, "error": error,
                "message": message, **extra}

    if found is None:
        families = ", ".join(unit_settings.UNIT_FAMILIES)
        return fail("invalid", f"{command} is not a per-unit setting (those are {families})")
    numbers = _targets(actions, target)
    if isinstance(numbers, str):
        return fail("invalid", numbers)
    if not worker.device.setting_allowed(command):
        return fail("refused", f"{command} is not in allowed_settings of [{actions.name}] "
                    f"({', '.join(worker.device.allowed_settings) or 'none'})", reason="not_allowed")
    if command_class is CommandClass.DANGEROUS and not confirm:
        return fail("refused", f"{command} is dangerous (PI30.md §4): send it with \"confirm\": true",
                    reason="confirm_required")
    assert spec is not None
    try:
        ratings = actions.ratings()
    except InverterError as exc:
        return fail(exc.kind, f"cannot read {spec.ratings} to check the value: {exc}")
    currents = actions.currents(command)
    wires: list[tuple[int, str]] = []
    for number in numbers:
        try:
            wires.append((number, spec.validate(found.for_unit(number).command(), ratings, currents)))
        except SettingRejected as exc:
            return fail("invalid", str(exc))
    results = _send(actions, wires, confirm)
    _read_back(actions, found.key, results)
    failed = next((r for r in results if r["result"] not in ("ack", "not_sent")), None)
    verified = {unit_label(actions.name, r["unit"]): r["verified"] for r in results}
    reply: dict[str, Any] = {"ok": failed is None, "device": actions.name, "command": command,
                             "class": kind, "per_unit": results, "key": found.key, "verified": verified}
    if failed is not None:
        sent = [str(r["unit"]) for r in results if r["result"] == "ack"]
        skipped = [str(r["unit"]) for r in results if r["result"] == "not_sent"]
        reply.update(error=failed["result"], message=(
            f"unit {failed['unit']} refused {failed['command']} ({failed['result']})"
            + (f"; units {', '.join(sent)} took it" if sent else "; no unit took it")
            + (f"; not sent to units {', '.join(skipped)}" if skipped else "")))
    return reply


def _send(actions: Actions, wires: list[tuple[int, str]], confirm: bool) -> list[dict[str, Any]]:
    """Send each unit's command in order; after the first failure the rest are not sent."""
    results: list[dict[str, Any]] = []
    stopped = False
    for number, wire in wires:
        device = unit_label(actions.name, number)
        entry: dict[str, Any] = {"unit": number, "device": device, "command": wire}
        if stopped:
            results.append({**entry, "result": "not_sent"})
            continue
        try:
            actions.worker.exchange(wire, setting=True)
            entry["result"] = "ack"
        except CommandRefused as exc:
            entry.update(result="nak", message=f"the unit refused {wire}: {exc}")
        except InverterError as exc:
            entry.update(result=exc.kind, message=f"{wire}: {exc}")
        stopped = entry["result"] != "ack"
        actions.audit.record(device=device, command=wire, result="ok" if not stopped else entry["result"],
                             message=entry.get("message", ""), confirm=confirm)
        results.append(entry)
    return results


def _read_back(actions: Actions, key: str, results: list[dict[str, Any]]) -> None:
    """Read every unit's QPGSn (and the host's slow queries) again; each result gets its ``verified``."""
    worker = actions.worker
    units = worker.units
    assert units is not None
    assert worker.spec is not None
    worker.mark_slow_stale()
    units.reread(worker.exchange)
    for slow in worker.spec.slow:
        try:
            worker.store(worker.exchange(slow))
        except InverterError as exc:
            LOG.warning("[%s] %s after a unit setting failed: %s", actions.name, slow, exc)
            continue
        if slow in worker.slow:
            worker.slow[slow].done()
    worker.write_prom()
    for result in results:
        timed = units.readings.get(result["unit"])
        result["verified"] = {key: timed.reading.get(key) if timed is not None else None}
        LOG.info("[%s] unit %d %s: %s; unit reports %s", actions.name, result["unit"], result["command"],
                 result["result"], result["verified"])
