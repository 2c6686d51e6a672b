"""BMS sections end to end: the real daemon against a simulated JK and a simulated Daly BMS on ptys,
through to their .prom files; frames failing their checks are counted by kind and never shown."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from solarmon.simulator.runner import BmsSimulatorProcess

from .conftest import REPO, wait_until

pytestmark = pytest.mark.timeout(120)


def parse(text: str) -> tuple[dict[tuple[str, str], float], dict[str, dict[str, str]], dict[str, float]]:
    """(values by (cmd, key), field_info by key, errors_total by kind) of one BMS .prom file."""
    series: dict[tuple[str, str], float] = {}
    info: dict[str, dict[str, str]] = {}
    errors: dict[str, float] = {}
    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
    for sample in samples:
        if sample.name == "mpp_solar_field_info":
            info[sample.labels["key"]] = sample.labels
    names = {(i["cmd"], "mpp_solar_" + i["name"]): key for key, i in info.items()}
    for sample in samples:
        if sample.name == "mpp_solar_errors_total":
            errors[sample.labels["kind"]] = sample.value
        key = names.get((sample.labels.get("cmd", ""), sample.name))
        if key is not None:
            series[(sample.labels["cmd"], key)] = sample.value
    return series, info, errors


@pytest.fixture
def bms_pair(tmp_path: Path) -> Iterator[tuple[BmsSimulatorProcess, BmsSimulatorProcess, Path]]:
    jk_sim = BmsSimulatorProcess(tmp_path / "jk", bms_type="jkbms", cells=16, seed=4).start()
    daly_sim = BmsSimulatorProcess(tmp_path / "daly", bms_type="dalybms", cells=8, seed=5).start()
    conf = tmp_path / "mpp-solar.conf"
    conf.write_text("\n".join([
        "[SETUP]", "pause = 0.5", "control_socket =", "audit_log = audit.jsonl",
        f"[pack1]\ntype = jkbms\nport = {tmp_path / 'jk'}\nprom_output_dir = prom\ndev = jk",
        f"[pack2]\ntype = dalybms\nport = {tmp_path / 'daly'}\nprom_output_dir = prom\ndev = daly",
    ]) + "\n")
    daemon = subprocess.Popen([sys.executable, "-m", "solarmon.daemon", "-C", str(conf)], cwd=REPO,
                              stderr=(tmp_path / "daemon.log").open("w"))
    try:
        yield jk_sim, daly_sim, tmp_path / "prom"
    finally:
        daemon.terminate()
        daemon.wait(timeout=20)
        jk_sim.stop()
        daly_sim.stop()


Pair = tuple[BmsSimulatorProcess, BmsSimulatorProcess, Path]


def test_two_bmss_each_in_its_own_file(bms_pair: Pair) -> None:
    jk_sim, daly_sim, prom = bms_pair
    jk_file, daly_file = prom / "mpp-solar-pack1.prom", prom / "mpp-solar-pack2.prom"
    wait_until(lambda: jk_file.exists() and daly_file.exists() and "failureCodes" in daly_file.read_text(),
               what="both .prom files")
    text = jk_file.read_text()
    assert text.endswith("# EOF\n")
    values, info, errors = parse(text)
    assert values[("jk_all", "cell_count")] == 16
    assert 40 < values[("jk_all", "pack_voltage")] < 60
    assert info["pack_current"]["unit"] == "A"
    assert info["cell_overvoltage"]["kind"] == "fault"
    assert info["low_capacity"]["kind"] == "warning"
    assert info["charge_mosfet"]["kind"] == "status"
    assert 'mpp_solar_up{inverter="pack1",device="jk"} 1' in text
    assert "mpp_solar_poll_duration_seconds" in text
    assert errors["crc"] == 0
    assert errors["foreign"] == 0
    daly_values, daly_info, _ = parse(daly_file.read_text())
    assert daly_values[("cellVoltages", "cell_count")] == 8
    assert ("cellVoltages", "cell_voltage_09") not in daly_values
    assert daly_info["daly_cell_voltage_high_l2"]["kind"] == "fault"
    assert 'reading_timestamp_seconds{inverter="pack2",device="daly",cmd="SOC"}' in daly_file.read_text()

    jk_sim.control({"op": "trip", "protection": "cell_overvoltage"})
    wait_until(lambda: parse(jk_file.read_text())[0].get(("jk_all", "cell_overvoltage")) == 1,
               what="the tripped protection in the file")
    values = parse(jk_file.read_text())[0]
    assert values[("jk_all", "charge_mosfet")] == 0
    assert values[("jk_all", "protections_active")] == 1


@pytest.mark.parametrize("kind", ["crc", "truncated", "foreign"])
def test_bad_frames_are_counted_and_never_shown(
        bms_pair: Pair, kind: str) -> None:
    jk_sim, _daly_sim, prom = bms_pair
    jk_file = prom / "mpp-solar-pack1.prom"
    wait_until(lambda: jk_file.exists() and "jk_all" in jk_file.read_text(), what="the first good file")
    jk_sim.control({"op": "corrupt", "kind": kind, "count": 4})
    # Replies 1-4 are damaged: a file counting 2 or 3 of them was written by a failed cycle (cycle 5,
    # the first good one again, writes 4), so it must show none of the rejected answer's values.
    def failed_file() -> str:
        text = jk_file.read_text()
        return text if parse(text)[2].get(kind, 0) in (2, 3) else ""

    text = str(wait_until(failed_file, what=f"a file of a cycle whose answer was {kind}"))
    values, _info, errors = parse(text)
    assert not values
    assert 'cmd="jk_all"' not in text
    assert 'mpp_solar_up{inverter="pack1",device="jk"} 0' in text
    assert sum(errors.values()) == errors[kind]  # counted under its own kind only
    wait_until(lambda: ("jk_all", "cell_count") in parse(jk_file.read_text())[0], what="good values again")
    assert parse(jk_file.read_text())[2][kind] == 4


@pytest.mark.parametrize("kind", ["crc", "truncated", "foreign"])
def test_daly_bad_frames_are_counted_and_never_shown(bms_pair: Pair, kind: str) -> None:
    _jk_sim, daly_sim, prom = bms_pair
    daly_file = prom / "mpp-solar-pack2.prom"
    wait_until(lambda: daly_file.exists() and "failureCodes" in daly_file.read_text(),
               what="a good Daly file")
    # 9 questions a cycle: 18 damaged answers cover at least one whole cycle, whose file must show
    # nothing of what the BMS sent and say it is down.
    daly_sim.control({"op": "corrupt", "kind": kind, "count": 18})

    def failed_file() -> str:
        text = daly_file.read_text()
        values, _info, errors = parse(text)
        return text if errors.get(kind, 0) >= 1 and not values else ""

    text = str(wait_until(failed_file, what=f"a Daly file of a cycle whose answers were all {kind}"))
    assert 'mpp_solar_up{inverter="pack2",device="daly"} 0' in text
    _values, _info, errors = parse(text)
    assert sum(errors.values()) == errors[kind]
    wait_until(lambda: ("SOC", "soc") in parse(daly_file.read_text())[0], what="good Daly values again")
    assert parse(daly_file.read_text())[2][kind] == 18
