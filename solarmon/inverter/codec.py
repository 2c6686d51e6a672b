"""PI30 codec: turn a checked reply frame into a typed reading (PI30.md §3, §5).

``decode(command, frame)`` is strict where it matters and tolerant where real devices vary:
a NAK raises :class:`CommandRefused`; a payload that does not fit the command (too few fields,
a field that is not a number, a bit string with other characters) raises :class:`DecodeError`
and yields no values at all. Field counts and widths that differ between models (17/21/24-field
QPIGS, 25/28-field QPIRI, 32/36/38-bit QPIWS, ``0014`` vs ``02.3``) decode; extra fields are kept
as ``<command>_extra_<position>``; option codes nobody documented become ``"unknown (N)"``.

``reply_fits(command, frame)`` is the cheap shape test a transport uses to reject a stale reply
that belongs to another command.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from solarmon.inverter import parallel, tables
from solarmon.inverter.catalog import classify_alarms
from solarmon.inverter.errors import CommandRefused, DecodeError
from solarmon.inverter.frame import ReplyFrame, decode_reply
from solarmon.inverter.readings import (
    Ack,
    Bootstrap,
    CurrentOptions,
    DefaultSettings,
    DeviceMode,
    Energy,
    Field,
    Flags,
    GeneralStatus,
    GeneralStatus2,
    OutputMode,
    Ratings,
    Reading,
    TextReading,
    Value,
    Warnings,
)
from solarmon.inverter.shapes import base_command, reply_fits
from solarmon.inverter.tables import FieldSpec

__all__ = ["base_command", "decode", "decode_raw", "reply_fits"]

_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")
_DASHES = re.compile(r"-+")


def _number(command: str, spec: FieldSpec, position: int, token: str) -> float | int:
    if not _NUMBER.fullmatch(token):
        raise DecodeError(f"{command} field {position} ({spec.key}): {token!r} is not a number")
    value = float(token)
    if spec.kind == "float":
        return value
    # Integer fields arrive as "0014" or, on some firmware, "02.3" or "010.0": keep the value.
    return int(value) if value.is_integer() else value


def _code(token: str) -> int | None:
    if _NUMBER.fullmatch(token) and float(token).is_integer():
        return int(float(token))
    return None


def _bool(command: str, spec: FieldSpec, position: int, token: str) -> bool:
    if token not in ("0", "1"):
        raise DecodeError(f"{command} field {position} ({spec.key}): {token!r} is not 0 or 1")
    return token == spec.true_code


def _decode_token(command: str, spec: FieldSpec, position: int, token: str) -> list[Field]:
    """The field(s) of one token: one for a value, one per bit for a bit string."""
    if spec.kind in ("float", "int"):
        if _DASHES.fullmatch(token):
            return []  # "-" means "not applicable" (QPIRI parallel max on single units)
        value: Value = _number(command, spec, position, token)
    elif spec.kind == "option":
        code = _code(token)
        choices = spec.choices or {}
        value = choices.get(code, f"unknown ({token if code is None else code})")  # type: ignore[call-overload]
    elif spec.kind == "keyed":
        value = (spec.choices or {}).get(token, f"unknown ({token})")  # type: ignore[call-overload]
    elif spec.kind == "bool":
        value = _bool(command, spec, position, token)
    elif spec.kind == "text":
        value = token
    elif spec.kind == "flags":
        if len(token) != len(spec.bits) or token.strip("01"):
            raise DecodeError(
                f"{command} field {position} ({spec.key}): {token!r} is not {len(spec.bits)} bits of 0/1")
        pairs = zip(spec.bits, token, strict=True)
        return [Field(bit.key, bit.name, char == "1", "", bit.help) for bit, char in pairs]
    else:  # pragma: no cover - a table error, caught by the table tests
        raise ValueError(f"unknown field kind {spec.kind!r}")
    return [Field(spec.key, spec.name, value, spec.unit, spec.help)]


def _extra(command: str, position: int, token: str) -> Field:
    value: Value = token
    if _NUMBER.fullmatch(token):
        number = float(token)
        value = int(number) if number.is_integer() and "." not in token else number
    key = f"{command.lower()}_extra_{position}"
    return Field(key, key, value, "", f"field {position}, undocumented for {command}")


def _decode_table(command: str, tokens: Sequence[str], specs: Sequence[FieldSpec]) -> tuple[Field, ...]:
    fields: list[Field] = []
    for position, token in enumerate(tokens):
        if position < len(specs):
            fields.extend(_decode_token(command, specs[position], position, token))
        else:
            fields.append(_extra(command, position, token))
    return tuple(fields)


def _tokens(command: str, frame: ReplyFrame, least: int) -> list[str]:
    tokens = frame.payload.split()
    if len(tokens) < least:
        raise DecodeError(f"{command} reply has {len(tokens)} fields, expected at least {least}")
    return tokens


def _build(cls: type[Reading], command: str, fields: tuple[Field, ...], frame: ReplyFrame,
           **extra: object) -> Reading:
    try:
        return cls.build(command, fields, frame.crc, frame.payload, **extra)
    except TypeError as exc:  # a required field was "-" or missing
        raise DecodeError(f"{command} reply lacks a required field: {exc}") from exc


def _qpigs(command: str, frame: ReplyFrame) -> Reading:
    tokens = _tokens(command, frame, tables.QPIGS_FIELD_COUNTS[0])
    if tables.QPIGS_FIELD_COUNTS[0] < len(tokens) < tables.QPIGS_FIELD_COUNTS[1]:
        raise DecodeError(f"{command} reply has {len(tokens)} fields, expected 17 or at least 21")
    return _build(GeneralStatus, command, _decode_table(command, tokens, tables.QPIGS), frame)


def _qpgs(command: str, frame: ReplyFrame) -> Reading:
    tokens = _tokens(command, frame, parallel.MIN_FIELDS)
    fields = _decode_table(command, tokens, parallel.QPGS)
    mode = _code(tokens[20])
    return _build(parallel.ParallelStatus, command, fields, frame, unit=parallel.unit_of(command) or 0,
                  fault_number=tokens[3], output_mode_code=-1 if mode is None else mode)


def _table_reader(cls: type[Reading], specs: Sequence[FieldSpec], least: int) -> Callable[..., Reading]:
    def read(command: str, frame: ReplyFrame) -> Reading:
        tokens = _tokens(command, frame, least)
        return _build(cls, command, _decode_table(command, tokens, specs), frame)

    return read


def _qmod(command: str, frame: ReplyFrame) -> Reading:
    letter = frame.payload.strip()
    if len(letter) != 1 or not letter.isalpha():
        raise DecodeError(f"{command} reply {frame.payload!r} is not one mode letter")
    mode = tables.DEVICE_MODES.get(letter, f"unknown ({letter})")
    field = Field("device_mode", "device_mode", mode, "", f"operating mode (letter {letter})")
    return _build(DeviceMode, command, (field,), frame, code=letter)


def _qpiws(command: str, frame: ReplyFrame) -> Reading:
    bits = frame.payload.strip()
    if len(bits) < tables.WARNING_MIN_BITS or bits.strip("01"):
        raise DecodeError(f"{command} reply {frame.payload!r} is not a run of at least 32 bits of 0/1")
    fields: list[Field] = []
    for position, char in enumerate(bits):
        if position < len(tables.WARNING_BITS):
            bit = tables.WARNING_BITS[position]
            fields.append(Field(bit.key, bit.name, char == "1", "", bit.help))
        else:
            key = f"warning_bit_{position}"
            fields.append(Field(key, key, char == "1", "", f"a{position}: model-specific"))
    fault_keys, warning_keys = classify_alarms({f.key: f.value for f in fields})
    faults, warnings = tuple(fault_keys), tuple(warning_keys)
    fields.append(Field("faults_active", "faults_active", len(faults), "", "number of active faults"))
    fields.append(Field("warnings_active", "warnings_active", len(warnings), "",
                        "number of active warnings"))
    return _build(Warnings, command, tuple(fields), frame, faults=faults, warnings=warnings, bits=bits)


def _qflag(command: str, frame: ReplyFrame) -> Reading:
    payload = frame.payload.strip()
    if not payload or payload[0] not in "ED" or not payload.isalpha():
        raise DecodeError(f"{command} reply {frame.payload!r} is not E<letters>D<letters>")
    fields: list[Field] = []
    enabled = True
    for char in payload:
        if char in "ED":
            enabled = char == "E"
        elif char.islower():
            bit = tables.FLAG_LETTERS.get(char)
            if bit is None:
                fields.append(Field(f"flag_{char}", f"unknown_{char}", enabled, "", f"QFLAG letter {char}"))
            else:
                fields.append(Field(bit.key, bit.name, enabled, "", bit.help))
        else:
            raise DecodeError(f"{command} reply {frame.payload!r} has an unexpected letter {char!r}")
    return _build(Flags, command, tuple(fields), frame)


def _text(command: str, frame: ReplyFrame) -> Reading:
    key, name, help_text = tables.TEXT_COMMANDS.get(command, ("response", "response", "reply as sent"))
    text = frame.payload.strip()
    if command == "QSID" and text[:2].isdigit() and len(text) >= 2 + int(text[:2]) > 2:
        # QSID: two digits giving the serial's length, the serial, then zero padding.
        text = text[2:2 + int(text[:2])]
    if not text:
        raise DecodeError(f"{command} reply is empty")
    return _build(TextReading, command, (Field(key, name, text, "", help_text),), frame, text=text)


def _current_list(command: str, frame: ReplyFrame) -> Reading:
    tokens = _tokens(command, frame, 1)
    if not all(token.isdigit() for token in tokens):
        raise DecodeError(f"{command} reply {frame.payload!r} is not a list of whole amperes")
    key, name, setter = tables.CURRENT_LISTS[command]
    field = Field(key, name, " ".join(tokens), "A", f"allowed values of {setter}, space-separated")
    return _build(CurrentOptions, command, (field,), frame, options_a=tuple(int(t) for t in tokens))


def _qboot(command: str, frame: ReplyFrame) -> Reading:
    answer = frame.payload.strip()
    if answer not in ("0", "1"):
        raise DecodeError(f"{command} reply {frame.payload!r} is not 0 or 1")
    field = Field("dsp_has_bootstrap", "dsp_has_bootstrap", answer == "1")
    return _build(Bootstrap, command, (field,), frame)


def _qopm(command: str, frame: ReplyFrame) -> Reading:
    token = frame.payload.strip()
    if not token.isdigit():
        raise DecodeError(f"{command} reply {frame.payload!r} is not an output mode number")
    spec = FieldSpec("output_mode", "output_mode", "option", choices=tables.OUTPUT_MODES)
    return _build(OutputMode, command, tuple(_decode_token(command, spec, 0, token)), frame)


def _energy(command: str, frame: ReplyFrame) -> Reading:
    source, digits, key, name = tables.ENERGY[base_command(command)]
    token = frame.payload.strip()
    if not token.isdigit():
        raise DecodeError(f"{command} reply {frame.payload!r} is not an energy count")
    field = Field(key, name, int(token), tables.ENERGY_UNIT, f"{source} energy")
    period = command[3:] if digits else ""
    return _build(Energy, command, (field,), frame, energy_wh=int(token), source=source, period=period)


_DECODERS: dict[str, Callable[[str, ReplyFrame], Reading]] = {
    "QPIGS": _qpigs,
    "QPIGS2": _table_reader(GeneralStatus2, tables.QPIGS2, len(tables.QPIGS2)),
    "QPIRI": _table_reader(Ratings, tables.QPIRI, tables.QPIRI_MIN_FIELDS),
    "QDI": _table_reader(DefaultSettings, tables.QDI, tables.QDI_MIN_FIELDS),
    "QMOD": _qmod,
    "QPIWS": _qpiws,
    "QFLAG": _qflag,
    "QMCHGCR": _current_list,
    "QMUCHGCR": _current_list,
    "QBOOT": _qboot,
    "QOPM": _qopm,
    parallel.COMMAND: _qpgs,
    **dict.fromkeys(tables.TEXT_COMMANDS, _text),
    **dict.fromkeys(tables.ENERGY, _energy),
}


def decode(command: str, frame: ReplyFrame) -> Reading:
    """Decode the reply ``frame`` to ``command`` into a typed reading.

    Raises :class:`CommandRefused` on NAK and :class:`DecodeError` when the payload does not fit
    the command. Setters' ACK becomes an :class:`Ack`; a command the codec has no table for
    becomes a :class:`TextReading` with the payload as its one ``response`` field.
    """
    if frame.is_nak:
        raise CommandRefused(f"the inverter refused {command!r} (NAK)")
    decoder = _DECODERS.get(base_command(command))
    if decoder is not None:
        return decoder(command, frame)
    if frame.is_ack:
        field = Field("accepted", "command_execution", True, "", "the inverter accepted the command")
        return _build(Ack, command, (field,), frame)
    if not command.startswith("Q"):
        raise DecodeError(f"setter {command!r} got {frame.payload!r}, expected ACK or NAK")
    return _text(command, frame)


def decode_raw(command: str, raw: bytes, *, allow_no_crc: bool = False) -> Reading:
    """Check the framing of ``raw`` (one reply up to its terminator) and decode it."""
    return decode(command, decode_reply(raw, command=command, allow_no_crc=allow_no_crc))
