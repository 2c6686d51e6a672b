"""One typed config-section helper and one error for every solarmon configuration file.

The five loaders (mpp-solar.conf in solarmon/daemon/config.py, web.yaml in solarmon/web/config.py,
its `alerts:` and `mqtt:` sections in solarmon/alerts/config.py and solarmon/mqtt/credentials.py,
weather.yaml in solarmon/weather/config.py) read their sections through `ConfigSection`, in the way
Moonraker's ConfigHelper serves every component: `section.getint("port", 1883, minval=1,
maxval=65535)`. A bad value raises `ConfigError`, which names the file, the key, the bad value and
what is allowed; every entry point turns it into one line on stderr and exit status 2.

Numbers are refused when they are not finite (`.nan`, `.inf` in YAML, `nan` in an INI file): a NaN
compares false with every limit, so a range check alone lets it through. A shared low-level module:
it imports no solarmon package.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger(__name__)
_UNSET: Any = object()


class ConfigError(ValueError):
    """A configuration that must not start the program.

    The message is complete (file, key, bad value, what is allowed); the same facts are attributes
    for programs: `source` (the file), `section` (INI section or None), `key` (None for the whole
    file), `value` (as written) and `allowed` (the limits in words).
    """

    def __init__(self, message: str, *, source: str = "", section: str | None = None,
                 key: str | None = None, value: Any = None, allowed: str = "") -> None:
        super().__init__(message)
        self.source = str(source)
        self.section = section
        self.key = key
        self.value = value
        self.allowed = allowed

    @property
    def path(self) -> str:
        """The file, as the daemon's loader called it."""
        return self.source


@dataclass(frozen=True)
class KeyInfo:
    """One row of a YAML loader's key table: what docs/CONFIGURATION.md must describe."""

    section: str
    name: str
    type: str
    default: Any
    help: str
    min: float | None
    max: float | None
    choices: tuple[str, ...] | None

    @property
    def dotted(self) -> str:
        """`section.name`, as written in errors and documentation."""
        return f"{self.section}.{self.name}"


def describe_range(minval: float | None, maxval: float | None) -> str:
    """`1..65535`, `>= 0`, `<= 10` or '' (the limits in error messages)."""
    if minval is not None and maxval is not None:
        return f"{minval:g}..{maxval:g}"
    if minval is not None:
        return f">= {minval:g}"
    if maxval is not None:
        return f"<= {maxval:g}"
    return ""


class ConfigSection:
    """Typed getters over one section of a config file.

    `values` is a parsed YAML mapping (values already typed: a string where a number belongs is an
    error) or, with `text=True`, an INI section (every value is text and numbers are parsed from
    it). `source` is the file; keys are named in messages as `<prefix><key>` (YAML: `server.port`)
    or, for an INI `section`, as `[section] key`.
    """

    def __init__(self, values: Mapping[str, Any] | None, *, source: str, prefix: str = "",
                 section: str | None = None, text: bool = False) -> None:
        """Wrap `values` (None: an empty section; anything but a mapping is a ConfigError)."""
        self.source = str(source)
        self.prefix = prefix
        self.section = section
        self.text = text
        if values is not None and not isinstance(values, Mapping):
            name = prefix.rstrip(".") or "the top level"
            raise ConfigError(f"{self.source}: {name} must be a mapping, got {type(values).__name__}",
                              source=self.source, key=prefix.rstrip(".") or None, value=values,
                              allowed="a mapping of keys")
        self.values: Mapping[str, Any] = values or {}

    # -- naming and errors ------------------------------------------------------------------------
    def name(self, key: str) -> str:
        """How `key` is written in messages: `server.port` or `[inverter] baud`."""
        return f"[{self.section}] {key}" if self.section is not None else f"{self.prefix}{key}"

    def where(self, key: str) -> str:
        """The start of a message about `key`: `web.yaml: server.port`, `mpp.conf [inv] baud`."""
        if self.section is not None:
            return f"{self.source} {self.name(key)}"
        return f"{self.source}: {self.name(key)}"

    def error(self, key: str | None, message: str, *, value: Any = None, allowed: str = "") -> ConfigError:
        """A ConfigError about `key` of this section (None: the section itself); `message` follows
        the key's name, e.g. "must be true or false, got 'yes'"."""
        if key is None:
            where = f"{self.source} [{self.section}]" if self.section is not None else f"{self.source}: "
            text = f"{where}: {message}" if self.section is not None else f"{where}{message}"
        else:
            text = f"{self.where(key)} {message}"
        return ConfigError(text, source=self.source, section=self.section, key=key, value=value,
                           allowed=allowed)

    def _refuse(self, key: str, wanted: str, raw: Any, allowed: str = "") -> ConfigError:
        """`<key> must be <wanted>, got <raw>`."""
        return self.error(key, f"must be {wanted}, got {raw!r}", value=raw, allowed=allowed or wanted)

    def has(self, key: str) -> bool:
        """True when the section sets `key`."""
        return key in self.values

    def warn_unknown(self, known: Iterable[str]) -> list[str]:
        """Log one warning per key not in `known` (a newer file still starts an older program)."""
        known = list(known)
        unknown = [str(key) for key in self.values if key not in known]
        for key in unknown:
            if self.section is not None:
                LOG.warning("%s [%s] %s: unknown key, ignored; known keys: %s", self.source, self.section,
                            key, ", ".join(sorted(known)))
            else:
                LOG.warning("%s: unknown key %s ignored (known: %s)", self.source, self.name(key),
                            ", ".join(known))
        return unknown

    # -- getters ----------------------------------------------------------------------------------
    def get(self, key: str, default: Any = _UNSET) -> Any:
        """The value as written (no check); `default` when absent (ConfigError without one)."""
        if key in self.values:
            return self.values[key]
        if default is _UNSET:
            raise self.error(key, "is missing")
        return default

    def getint(self, key: str, default: int | None = None, *, minval: float | None = None,
               maxval: float | None = None, choices: Iterable[int] | None = None) -> int:
        """An integer within [minval, maxval] (and one of `choices` when given)."""
        return self._number(key, default, int, minval, maxval, choices)

    def getfloat(self, key: str, default: float | None = None, *, minval: float | None = None,
                 maxval: float | None = None) -> float:
        """A finite number within [minval, maxval]; integers become floats."""
        return self._number(key, default, float, minval, maxval, None)

    def _number(self, key: str, default: Any, kind: type, minval: float | None, maxval: float | None,
                choices: Iterable[Any] | None) -> Any:
        wanted = "an integer" if kind is int else "a number"
        limits = describe_range(minval, maxval)
        choices = tuple(choices) if choices is not None else None
        allowed = ", ".join(str(c) for c in choices) if choices else limits
        spelled = f"{wanted} in {limits}" if limits else wanted
        if key not in self.values and default is not None:
            return kind(default)
        raw = self.get(key, None)  # an empty value (`key:` in YAML) is not the default: refused
        if raw is None:
            raise self._refuse(key, spelled, raw, allowed)
        if self.text and isinstance(raw, str):
            try:
                value = kind(raw.strip())
            except ValueError:
                raise self._refuse(key, spelled, raw, allowed) from None
        elif isinstance(raw, bool) or not isinstance(raw, int | float) or (
                kind is int and isinstance(raw, float) and not raw.is_integer()):
            raise self._refuse(key, spelled, raw, allowed)
        else:
            value = raw
        if not math.isfinite(value):
            raise self._refuse(key, f"a finite number in {limits}" if limits else "a finite number",
                               raw, allowed)
        value = kind(value)
        if choices is not None and value not in choices:
            raise self._refuse(key, f"one of {allowed}", raw, allowed)
        if (minval is not None and value < minval) or (maxval is not None and value > maxval):
            raise self._refuse(key, spelled, raw, allowed)
        return value

    def getbool(self, key: str, default: bool | None = None) -> bool:
        """true or false (YAML booleans; in an INI file: true/false, yes/no, on/off, 1/0)."""
        if key not in self.values and default is not None:
            return default
        raw = self.get(key, None)
        if self.text and isinstance(raw, str):
            word = raw.strip().lower()
            if word in ("true", "yes", "on", "1"):
                return True
            if word in ("false", "no", "off", "0"):
                return False
        if isinstance(raw, bool):
            return raw
        raise self._refuse(key, "true or false", raw, "true, false")

    def getstr(self, key: str, default: str | None = "", *, nonempty: bool = False) -> Any:
        """Text (YAML numbers are taken as their text: `8080` -> "8080"). An empty YAML value is ''
        (or the default when `nonempty`); `nonempty` refuses ''."""
        wanted = "a non-empty string" if nonempty else "a string"
        if key not in self.values:
            return default
        raw = self.values[key]
        if raw is None:
            return default if nonempty else ""
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise self._refuse(key, wanted, raw)
        value = raw.strip() if self.text else str(raw)
        if nonempty and not value:
            raise self._refuse(key, wanted, raw)
        return value

    def getchoice(self, key: str, default: str, choices: Iterable[str], *,
                  fold: Callable[[str], str] = str.lower) -> str:
        """One of `choices`, compared after `fold` (lower case by default)."""
        choices = tuple(choices)
        raw = self.getstr(key, default)
        value = fold(raw)
        if value not in choices:
            allowed = ", ".join(choices)
            raise self._refuse(key, f"one of {allowed}", raw, allowed)
        return value

    def getlist(self, key: str, default: list[str] | None = None) -> list[str]:
        """A list of non-empty strings (YAML)."""
        raw = self.get(key, None)
        if raw is None:
            return list(default or [])
        if not isinstance(raw, list) or not all(isinstance(v, str) and v for v in raw):
            raise self._refuse(key, "a list of strings", raw)
        return list(raw)

    def getsection(self, key: str) -> ConfigSection:
        """A nested YAML mapping as its own section (`api:` inside weather.yaml -> `api.timeout_s`)."""
        raw = self.get(key, None)
        if raw is not None and not isinstance(raw, Mapping):
            raise self._refuse(key, "a mapping", type(raw).__name__, "a mapping of keys")
        return ConfigSection(raw, source=self.source, prefix=f"{self.prefix}{key}.", text=self.text)

    def typed(self, info: KeyInfo) -> Any:
        """The value of a key-table row, checked by its type and limits (web.yaml, `alerts:`)."""
        key = info.name
        if info.type == "bool":
            return self.getbool(key)
        if info.type == "int":
            return self.getint(key, None, minval=info.min, maxval=info.max)
        if info.type == "float":
            return self.getfloat(key, None, minval=info.min, maxval=info.max)
        if info.type == "list":
            return self.getlist(key)
        if info.type == "str" and info.choices:
            return self.getchoice(key, str(info.default), info.choices, fold=str.upper)
        if info.type == "str":
            return self.getstr(key)
        return self.get(key)  # mappings and rule lists: checked by their own parsers

