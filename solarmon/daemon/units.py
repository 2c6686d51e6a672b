"""The units of a parallel / three-phase section (``parallel = auto|off|N``): find, poll, total.

With ``parallel = N`` the section's units are QPGS0..QPGS(N-1); with ``auto`` the first cycle asks
QPGS0..QPGS8 and keeps the numbers that answer as a valid member of the bus (a single unit answers
QPGS0 "not valid", or NAKs: then the section stays a single unit and is asked again after
``settings_interval``). Each cycle every unit is asked once; a unit that does not answer loses its
values (withdrawn, not kept stale), counts a dropout and shows ``up 0``, and the totals
(:func:`solarmon.inverter.system.totals`) are given only while every unit answered.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from solarmon.daemon.promfile import TimedReading, UnitBlock
from solarmon.inverter import system
from solarmon.inverter.errors import DeviceBusy, DeviceGone, InverterError
from solarmon.inverter.parallel import MAX_UNITS, ParallelStatus
from solarmon.inverter.readings import Reading

LOG = logging.getLogger(__name__)
AUTO = 0  # DeviceConfig.parallel: None off, 0 auto, N fixed


def parse_parallel(text: str) -> int | None:
    """``off`` -> None, ``auto`` -> 0, ``1``..``9`` -> N; ValueError otherwise."""
    word = text.strip().lower()
    if word in ("", "off", "no", "0"):
        return None
    if word == "auto":
        return AUTO
    if word.isdigit() and 1 <= int(word) <= MAX_UNITS:
        return int(word)
    raise ValueError(f"{text!r}: allowed: auto, off, or 1 to {MAX_UNITS} units")


def unit_label(section: str, number: int) -> str:
    """The ``inverter`` label (the web app's device) of unit ``number`` of ``section``."""
    return f"{section}-unit{number}"


class Units:
    """The unit list, their latest readings, dropouts and totals of one section."""

    def __init__(self, section: str, setting: int, clock: Callable[[], float]) -> None:
        self.section = section
        self.setting = setting
        self.clock = clock
        self.numbers: tuple[int, ...] | None = tuple(range(setting)) if setting else None
        self.readings: dict[int, TimedReading] = {}
        self.dropouts: Counter[int] = Counter()
        self.total: TimedReading | None = None
        self._just_found = False
        self._rating: Reading | None = None  # the host's latest QPIRI, kept for reread()

    @property
    def active(self) -> bool:
        """True once the section is known to be a system of units (their QPGSn replace QPIGS)."""
        return bool(self.numbers)

    def discover(self, exchange: Callable[[str], Reading]) -> None:
        """``parallel = auto``: ask QPGS0..QPGS8 once and keep the valid members."""
        found = []
        for number in range(MAX_UNITS):
            try:
                reading = exchange(f"QPGS{number}")
            except (DeviceGone, DeviceBusy):
                return  # try again next cycle
            except InverterError:
                continue
            if isinstance(reading, ParallelStatus) and reading.valid:
                found.append(number)
                self.readings[number] = TimedReading(reading, self.clock())
        self.numbers = tuple(found)
        self._just_found = True
        LOG.info("[%s] parallel = auto: %s", self.section,
                 f"units {', '.join(f'QPGS{n}' for n in found)}" if found else "no parallel system found")

    def prepare(self, exchange: Callable[[str], Reading]) -> None:
        """Before a cycle: with ``auto`` and no answer yet, find the units (so QPIGS can be left out)."""
        if self.numbers is None:
            self.discover(exchange)

    def poll(self, exchange: Callable[[str], Reading], rating: Reading | None = None) -> set[str]:
        """Ask every unit once (not again right after discovery); returns the commands that answered.

        ``rating`` is the host's latest QPIRI, for the system's load in % of its rating."""
        if self.numbers is None:
            return set()
        self._rating = rating
        if self._just_found:
            self._just_found = False
            answered = {f"QPGS{n}" for n in self.readings}
        else:
            answered = self._ask_all(exchange)
        self._total()
        return answered

    def reread(self, exchange: Callable[[str], Reading]) -> set[str]:
        """Ask every unit again now (after a setting), totals included; returns the commands that answered."""
        if not self.numbers:
            return set()
        answered = self._ask_all(exchange)
        self._total()
        return answered

    def _ask_all(self, exchange: Callable[[str], Reading]) -> set[str]:
        answered: set[str] = set()
        for number in self.numbers or ():
            command = f"QPGS{number}"
            try:
                reading = exchange(command)
            except InverterError as exc:
                self.readings.pop(number, None)
                self.dropouts[number] += 1
                LOG.debug("[%s] unit %d did not answer: %s", self.section, number, exc)
                if isinstance(exc, DeviceGone | DeviceBusy):
                    for rest in self.numbers[self.numbers.index(number) + 1:]:  # type: ignore[union-attr]
                        self.readings.pop(rest, None)
                        self.dropouts[rest] += 1
                    break
                continue
            self.readings[number] = TimedReading(reading, self.clock())
            answered.add(command)
        return answered

    def _total(self) -> None:
        if self.numbers:
            latest = {n: (self.readings[n].reading if n in self.readings else None) for n in self.numbers}
            self.total = TimedReading(system.totals(latest, self._rating), self.clock())

    def rediscover(self) -> None:
        """Forget an empty auto result so the next cycle asks again."""
        if self.setting == AUTO and not self.numbers:
            self.numbers = None

    def blocks(self) -> list[UnitBlock]:
        """What the .prom file shows of each unit."""
        return [UnitBlock(unit_label(self.section, n),
                          (self.readings[n],) if n in self.readings else (),
                          n in self.readings, self.dropouts[n])
                for n in self.numbers or ()]
