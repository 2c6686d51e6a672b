"""The daemon's .prom journal: framing, a torn tail, the age and size bounds, a full disk."""

from __future__ import annotations

from pathlib import Path

from solarmon.promjournal import PromJournal, frame, journal_path, read_journal

from .conftest import ManualClock

TEXT = "# HELP mpp_solar_up 1 when up.\n# TYPE mpp_solar_up gauge\nmpp_solar_up{inverter=\"inv\"} 1\n"


def test_records_come_back_exactly_and_a_torn_tail_is_dropped(tmp_path: Path) -> None:
    prom = tmp_path / "mpp-solar-inv.prom"
    journal = PromJournal(prom, max_age_s=3600, max_bytes=1 << 20, clock=ManualClock())
    journal.append(TEXT, 100.0)
    journal.append(TEXT.replace(" 1\n", " 0\n"), 101.5)
    journal.close()
    with journal_path(prom).open("ab") as fh:
        fh.write(frame(102.0, TEXT)[:-7])  # a crash mid-append
    records = read_journal(prom)
    assert [(r.written, r.text) for r in records] == [(100.0, TEXT), (101.5, TEXT.replace(" 1\n", " 0\n"))]


def test_age_bound_rotates_and_keeps_between_half_and_all_of_it(tmp_path: Path) -> None:
    prom = tmp_path / "mpp-solar-inv.prom"
    journal = PromJournal(prom, max_age_s=100, max_bytes=1 << 30)
    for second in range(1000):
        journal.append(TEXT, float(second))
    kept = [r.written for r in read_journal(prom)]
    assert kept == [float(s) for s in range(int(kept[0]), 1000)]
    assert 50 <= 999 - kept[0] <= 100


def test_size_bound(tmp_path: Path) -> None:
    prom = tmp_path / "mpp-solar-inv.prom"
    record = len(frame(0.0, TEXT))
    journal = PromJournal(prom, max_age_s=86400, max_bytes=20 * record)
    for second in range(500):
        journal.append(TEXT, float(second))
    total = journal_path(prom).stat().st_size + prom.with_name(prom.name + ".journal.1").stat().st_size
    assert total <= 20 * record
    assert read_journal(prom)[-1].written == 499.0


def test_a_daemon_restart_continues_the_same_journal(tmp_path: Path) -> None:
    prom = tmp_path / "mpp-solar-inv.prom"
    first = PromJournal(prom, max_age_s=100, max_bytes=1 << 20)
    first.append(TEXT, 10.0)
    first.close()
    second = PromJournal(prom, max_age_s=100, max_bytes=1 << 20)
    second.append(TEXT, 70.0)  # 60 s after the segment's first record (> half the age): rotates
    assert [r.written for r in read_journal(prom)] == [10.0, 70.0]
    assert [r.written for r in read_journal(journal_path(prom))] == [10.0, 70.0]
