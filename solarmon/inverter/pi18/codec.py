"""PI18 codec: a checked reply frame into a typed reading (PROTOCOLS-PI18.md §2).

Same rules as the PI30 codec: ``^0`` (NAK) raises :class:`CommandRefused`; a payload that does not
fit its command raises :class:`DecodeError` and yields no values; fields past the table are kept as
``<command>_extra_<position>``; undocumented codes become ``"unknown (N)"``. Fields are separated by
commas; ``tenths`` values arrive as whole tenths without a decimal point.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from solarmon.inverter import tables_pi18 as tables
from solarmon.inverter.catalog import classify_alarms
from solarmon.inverter.errors import CommandRefused, DecodeError
from solarmon.inverter.frame import ReplyFrame
from solarmon.inverter.parallel import FAULT_CODES, NO_FAULT
from solarmon.inverter.pi18.frame import decode_reply
from solarmon.inverter.pi18.readings import Pi18Ratings, Pi18Status
from solarmon.inverter.readings import (
    Ack,
    CurrentOptions,
    DeviceMode,
    Energy,
    Field,
    Flags,
    Reading,
    TextReading,
    Value,
    Warnings,
)
from solarmon.inverter.tables import FieldSpec

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")
_DATED = re.compile(r"(E[YMD])(\d+)")


def base_command(command: str) -> str:
    """The command without its date: ``EY2024`` -> ``EY``; others unchanged."""
    match = _DATED.fullmatch(command)
    if match and len(match.group(2)) == tables.ENERGY[match.group(1)][0]:
        return match.group(1)
    return command


def _value(command: str, spec: FieldSpec, position: int, token: str) -> Value:
    where = f"{command} field {position} ({spec.key})"
    if spec.kind == "tenths":
        if not _INTEGER.fullmatch(token):
            raise DecodeError(f"{where}: {token!r} is not a whole number of tenths")
        return int(token) / 10
    if spec.kind in ("int", "float"):
        if not _NUMBER.fullmatch(token):
            raise DecodeError(f"{where}: {token!r} is not a number")
        number = float(token)
        return float(number) if spec.kind == "float" else (int(number) if number.is_integer() else number)
    if spec.kind == "option":
        if not _INTEGER.fullmatch(token):
            raise DecodeError(f"{where}: {token!r} is not a code")
        return (spec.choices or {}).get(int(token), f"unknown ({int(token)})")  # type: ignore[call-overload]
    if spec.kind == "bool":
        if token not in ("0", "1"):
            raise DecodeError(f"{where}: {token!r} is not 0 or 1")
        return token == spec.true_code
    raise ValueError(f"unknown field kind {spec.kind!r}")  # pragma: no cover - a table error


def _fields(command: str, tokens: Sequence[str], specs: Sequence[FieldSpec]) -> tuple[Field, ...]:
    out: list[Field] = []
    for position, token in enumerate(tokens):
        if position < len(specs):
            spec = specs[position]
            value = _value(command, spec, position, token)
            out.append(Field(spec.key, spec.name, value, spec.unit, spec.help))
        else:
            key = f"{command.lower()}_extra_{position}"
            value: Value = int(token) if token.isdigit() else token
            out.append(Field(key, key, value, "", f"field {position}, undocumented for {command}"))
    return tuple(out)


def _tokens(command: str, frame: ReplyFrame, least: int) -> list[str]:
    tokens = frame.payload.split(",")
    if len(tokens) < least or any(not token for token in tokens[:least]):
        raise DecodeError(f"{command} reply has {len(tokens)} fields, expected at least {least}")
    return tokens


def _build(cls: type[Reading], command: str, fields: tuple[Field, ...], frame: ReplyFrame,
           **extra: object) -> Reading:
    try:
        return cls.build(command, fields, frame.crc, frame.payload, **extra)
    except TypeError as exc:
        raise DecodeError(f"{command} reply lacks a required field: {exc}") from exc


def _table(cls: type[Reading], specs: Sequence[FieldSpec],
           least: int) -> Callable[[str, ReplyFrame], Reading]:
    def read(command: str, frame: ReplyFrame) -> Reading:
        return _build(cls, command, _fields(command, _tokens(command, frame, least), specs), frame)

    return read


def _mod(command: str, frame: ReplyFrame) -> Reading:
    token = frame.payload.strip()
    if len(token) != 2 or not token.isdigit():
        raise DecodeError(f"{command} reply {frame.payload!r} is not a two-digit mode")
    mode = tables.DEVICE_MODES.get(int(token), f"unknown ({int(token)})")
    field = Field("device_mode", "working_mode", mode, "", f"operating mode (code {token})")
    return _build(DeviceMode, command, (field,), frame, code=token)


def _fws(command: str, frame: ReplyFrame) -> Reading:
    tokens = _tokens(command, frame, 1 + len(tables.FWS_WARNINGS))
    code = tokens[0]
    if len(code) != 2 or not code.isdigit() or any(t not in ("0", "1") for t in tokens[1:]):
        raise DecodeError(f"{command} reply {frame.payload!r} is not a fault code and 0/1 flags")
    fields = [
        Field("fault_code", "fault_code", FAULT_CODES.get(code, f"unknown ({code})"), "",
              "the unit's fault code (PROTOCOLS-QPGS.md §3)"),
        # The fault code is PI18's fault bit: a code other than 00 is QPIWS's a1 (inverter fault),
        # so catalog.classify_alarms applies the same rule to both protocols.
        Field("inverter_fault", "inverter_fault", code != NO_FAULT, "", "a fault code other than 00"),
    ]
    for position, flag in enumerate(tokens[1:]):
        if position < len(tables.FWS_WARNINGS):
            bit = tables.FWS_WARNINGS[position]
            fields.append(Field(bit.key, bit.name, flag == "1", "", bit.help))
        else:
            key = f"fws_extra_{position + 1}"
            fields.append(Field(key, key, flag == "1", "", f"field {position + 1}, undocumented for FWS"))
    fault_keys, warning_keys = classify_alarms({f.key: f.value for f in fields})
    fields.append(Field("faults_active", "faults_active", len(fault_keys), "", "number of active faults"))
    fields.append(Field("warnings_active", "warnings_active", len(warning_keys), "",
                        "number of active warnings"))
    return _build(Warnings, command, tuple(fields), frame, faults=tuple(fault_keys),
                  warnings=tuple(warning_keys), bits="".join(tokens[1:]))


def _pi(command: str, frame: ReplyFrame) -> Reading:
    number = frame.payload.strip()
    if not number.isdigit():
        raise DecodeError(f"{command} reply {frame.payload!r} is not a protocol number")
    text = f"PI{number}"
    field = Field("protocol_id", "protocol_version", text, "", "protocol ID, PI18 for this family")
    return _build(TextReading, command, (field,), frame, text=text)


def _id(command: str, frame: ReplyFrame) -> Reading:
    payload = frame.payload.strip()
    if len(payload) < 3 or not payload[:2].isdigit() or len(payload) < 2 + int(payload[:2]):
        raise DecodeError(f"{command} reply {frame.payload!r} is not a length and a serial number")
    serial = payload[2:2 + int(payload[:2])]
    if not serial:
        raise DecodeError(f"{command} reply has an empty serial number")
    field = Field("serial_number", "serial_number", serial, "", "serial number")
    return _build(TextReading, command, (field,), frame, text=serial)


def _vfw(command: str, frame: ReplyFrame) -> Reading:
    tokens = _tokens(command, frame, 1)
    if not all(token.isdigit() for token in tokens):
        raise DecodeError(f"{command} reply {frame.payload!r} is not comma-separated versions")
    fields = tuple(Field(key, name, token, "", "CPU firmware version")
                   for (key, name), token in zip(tables.VFW_NAMES, tokens, strict=False))
    return _build(TextReading, command, fields, frame, text=tokens[0])


def _energy(command: str, frame: ReplyFrame) -> Reading:
    base = base_command(command)
    digits, key, name = tables.ENERGY[base]
    token = frame.payload.strip()
    if not token.isdigit():
        raise DecodeError(f"{command} reply {frame.payload!r} is not an energy count")
    field = Field(key, name, int(token), "Wh", "pv energy")
    period = command[2:] if digits else ""
    return _build(Energy, command, (field,), frame, energy_wh=int(token), source="pv", period=period)


def _currents(command: str, frame: ReplyFrame) -> Reading:
    tokens = _tokens(command, frame, 1)
    if not all(token.isdigit() for token in tokens):
        raise DecodeError(f"{command} reply {frame.payload!r} is not a list of whole amperes")
    key, name, setter = tables.CURRENT_LISTS[command]
    amps = tuple(int(token) for token in tokens)
    text = " ".join(str(a) for a in amps)
    field = Field(key, name, text, "A", f"allowed values of {setter}, space-separated")
    return _build(CurrentOptions, command, (field,), frame, options_a=amps)


_DECODERS: dict[str, Callable[[str, ReplyFrame], Reading]] = {
    "GS": _table(Pi18Status, tables.GS, tables.GS_MIN_FIELDS),
    "PIRI": _table(Pi18Ratings, tables.PIRI, tables.PIRI_MIN_FIELDS),
    "FLAG": _table(Flags, tables.FLAG, tables.FLAG_MIN_FIELDS),
    "MOD": _mod,
    "FWS": _fws,
    "PI": _pi,
    "ID": _id,
    "VFW": _vfw,
    **dict.fromkeys(tables.ENERGY, _energy),
    **dict.fromkeys(tables.CURRENT_LISTS, _currents),
}


def decode(command: str, frame: ReplyFrame) -> Reading:
    """Decode the PI18 reply ``frame`` to ``command`` ("GS", "EY2024", "POP0"...).

    ``^0`` raises :class:`CommandRefused`; ``^1`` to a setter is an :class:`Ack`; a payload that
    does not fit raises :class:`DecodeError`.
    """
    if frame.is_nak:
        raise CommandRefused(f"the inverter refused {command!r} (^0)")
    decoder = _DECODERS.get(base_command(command))
    if decoder is not None:
        if frame.is_ack:
            raise DecodeError(f"query {command!r} got an acknowledgement, expected data")
        return decoder(command, frame)
    if frame.is_ack:
        field = Field("accepted", "command_execution", True, "", "the inverter accepted the command")
        return _build(Ack, command, (field,), frame)
    raise DecodeError(f"{command!r} is not a PI18 query this codec knows, and the reply is no ^1")


def decode_raw(command: str, raw: bytes) -> Reading:
    """Check the framing of ``raw`` (one PI18 reply up to its CR) and decode it."""
    return decode(command, decode_reply(raw, command=command))


# (least, most) fields of a reply: ranges that do not overlap, so GS, PIRI, FWS and FLAG differ.
_FIELD_COUNTS = {
    "GS": (tables.GS_MIN_FIELDS, tables.GS_MIN_FIELDS + 4),
    "PIRI": (tables.PIRI_MIN_FIELDS, tables.GS_MIN_FIELDS - 1),
    "FLAG": (tables.FLAG_MIN_FIELDS, tables.FLAG_MIN_FIELDS + 3),
    "FWS": (1 + len(tables.FWS_WARNINGS), 1 + len(tables.FWS_WARNINGS) + 7),
}


def reply_fits(command: str, frame: ReplyFrame) -> bool:
    """True when ``frame`` plausibly answers ``command`` (a stale reply of another is dropped)."""
    if frame.is_nak:
        return True
    base = base_command(command)
    if base not in _DECODERS:
        return frame.is_ack
    if frame.is_ack:
        return False
    tokens = frame.payload.split(",")
    if base in _FIELD_COUNTS:
        least, most = _FIELD_COUNTS[base]
        return least <= len(tokens) <= most
    if base == "MOD":
        return len(frame.payload) == 2 and frame.payload.isdigit()
    return len(tokens) <= 9
