"""The Prometheus file: mppsolar-compatible names, valid for promtool, written atomically."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from solarmon.atomicfile import write_atomic
from solarmon.daemon.promfile import (
    HealthSample,
    TimedReading,
    escape_label,
    format_value,
    metric_name,
    render,
)
from solarmon.inverter import catalog

from .conftest import promtool_check

HEALTH = HealthSample(up=True, last_success_wall=1764180000.25, poll_duration_s=0.125,
                      consecutive_failures=0, errors={"crc": 3, "timeout": 1}, discarded={"stale": 2})


def _render_all(readings: dict, health: HealthSample = HEALTH) -> str:
    items = [TimedReading(r, 1764180000.0 + i) for i, r in enumerate(readings.values())]
    return render("inverter", "main_inverter", items, health)


def _samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_promtool_finds_no_error(reference_readings, promtool: str, tmp_path: Path) -> None:
    path = tmp_path / "mpp-solar-inverter.prom"
    write_atomic(path, _render_all(reference_readings))
    code, problems = promtool_check(promtool, path.read_text())
    # promtool's only remark is its style lint on mppsolar's camelCase "myStr" label (exit 3 =
    # lint only; a format error would be exit 1). myStr is kept on purpose: dashboards built on
    # mppsolar select on it (docs/DAEMON.md, "Prometheus files").
    assert code in (0, 3), problems
    string_families = {f"mpp_solar_{f.name}" for r in reference_readings.values() for f in r.fields
                       if isinstance(f.value, str)}
    assert problems
    for line in problems:
        name, _, complaint = line.partition(" ")
        assert name in string_families, line
        assert complaint == "label names should be written in 'snake_case' not 'camelCase'", line


def test_promtool_passes_a_file_without_strings(reference_readings, promtool: str) -> None:
    numeric = {k: v for k, v in reference_readings.items() if k in ("QPIGS", "QPIWS", "QFLAG")}
    assert promtool_check(promtool, _render_all(numeric)) == (0, [])


def test_broken_text_is_caught_by_promtool(promtool: str) -> None:
    # The check above can fail: two TYPE lines for one family are an error.
    code, _ = promtool_check(promtool, "# TYPE a gauge\na 1\n# TYPE a gauge\na{x=\"1\"} 2\n")
    assert code == 1


def test_names_and_labels_follow_mppsolar(reference_readings) -> None:
    text = _render_all(reference_readings)
    assert text.splitlines()[2] == 'machine_role{role="mpp_solar"} 1'
    samples = _samples(text)
    base = {("inverter", "inverter"), ("device", "main_inverter")}
    assert samples[("mpp_solar_battery_voltage", frozenset(base | {("cmd", "QPIGS")}))] == 57.5
    assert samples[("mpp_solar_pv_input_power", frozenset(base | {("cmd", "QPIGS")}))] == 856
    assert samples[("mpp_solar_is_load_on", frozenset(base | {("cmd", "QPIGS")}))] == 1
    # A string value is a myStr label with value 1, as mppsolar writes it.
    assert samples[("mpp_solar_device_mode", frozenset(base | {("cmd", "QMOD"), ("myStr", "Battery")}))] == 1
    assert samples[("mpp_solar_battery_type", frozenset(base | {("cmd", "QPIRI"), ("myStr", "AGM")}))] == 1
    # QPIGS's live battery_voltage and QPIRI's rating: one family, told apart by cmd.
    assert samples[("mpp_solar_battery_voltage", frozenset(base | {("cmd", "QPIRI")}))] == 48.0
    assert text.count("# HELP mpp_solar_battery_voltage ") == 1
    assert text.count("# TYPE mpp_solar_battery_voltage gauge") == 1
    # QPIWS a11 (battery voltage high) is set in the reference reply.
    assert samples[("mpp_solar_battery_voltage_too_high_fault", frozenset(base | {("cmd", "QPIWS")}))] == 1


def test_every_family_has_help_and_type_once(reference_readings) -> None:
    text = _render_all(reference_readings)
    lines = text.splitlines()
    typed = [line.split()[2] for line in lines if line.startswith("# TYPE ")]
    helped = [line.split()[2] for line in lines if line.startswith("# HELP ") and len(line.split()) > 3]
    assert len(typed) == len(set(typed))
    assert helped == typed
    sample_names = {line.split("{")[0] for line in lines if not line.startswith("#")}
    assert sample_names == set(typed)
    # Each family's samples follow its own HELP/TYPE lines, never split across the file.
    current = None
    for line in lines:
        if line.startswith("# TYPE "):
            current = line.split()[2]
        elif not line.startswith("#"):
            assert line.split("{")[0] == current, line


def test_health_metrics(reference_readings) -> None:
    samples = _samples(_render_all(reference_readings))
    base = frozenset({("inverter", "inverter"), ("device", "main_inverter")})
    assert samples[("mpp_solar_up", base)] == 1
    assert samples[("mpp_solar_last_success_timestamp_seconds", base)] == 1764180000.25
    assert samples[("mpp_solar_poll_duration_seconds", base)] == 0.125
    assert samples[("mpp_solar_errors_total", base | {("kind", "crc")})] == 3
    assert samples[("mpp_solar_errors_total", base | {("kind", "nak")})] == 0  # present from the start
    assert samples[("mpp_solar_discarded_frames_total", base | {("kind", "stale")})] == 2
    assert samples[("mpp_solar_reading_timestamp_seconds", base | {("cmd", "QPIRI")})] == 1764180001.0


def test_down_device_without_readings_is_still_a_valid_file(promtool: str) -> None:
    health = HealthSample(up=False, last_success_wall=0.0, poll_duration_s=3.0, consecutive_failures=4,
                          errors={"device_gone": 4})
    text = render("inverter", "None", [], health)
    samples = _samples(text)
    assert samples[("mpp_solar_up", frozenset({("inverter", "inverter"), ("device", "None")}))] == 0
    assert promtool_check(promtool, text) == (0, [])


@pytest.mark.parametrize(("field_name", "metric"), [
    ("battery_voltage", "mpp_solar_battery_voltage"),
    ("AC Output Load", "mpp_solar_ac_output_load"),
    ("PV1/PV2 power", "mpp_solar_pv1_pv2_power"),
    ("re-discharge", "mpp_solar_redischarge"),
    ("temp °C", "mpp_solar_temp__c"),
])
def test_metric_name_mangling(field_name: str, metric: str) -> None:
    assert metric_name(field_name) == metric


@pytest.mark.parametrize(("value", "text"), [
    (True, "1"), (False, "0"), (856, "856"), (57.5, "57.5"), (0.1, "0.1"), (float("nan"), "NaN"),
    (float("inf"), "+Inf"), (-2, "-2"),
])
def test_values(value: float, text: str) -> None:
    assert format_value(value) == text


@pytest.mark.parametrize(("raw", "escaped"), [
    ('say "hi"', 'say \\"hi\\"'), ("a\\b", "a\\\\b"), ("two\nlines", "two\\nlines"), ("plain", "plain"),
])
def test_label_escaping(raw: str, escaped: str) -> None:
    assert escape_label(raw) == escaped


def test_write_atomic_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "x.prom"
    write_atomic(path, "a 1\n")
    inode = path.stat().st_ino
    write_atomic(path, "a 2\n")
    assert path.read_text() == "a 2\n"
    assert path.stat().st_ino != inode  # a new file renamed over the old one, never rewritten in place
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in path.parent.iterdir()) == ["x.prom"]


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "x.prom"
    write_atomic(path, "a 1\n")
    with pytest.raises(UnicodeEncodeError):
        write_atomic(path, "a \udcff\n")  # cannot be encoded: the write fails half-way
    assert path.read_text() == "a 1\n"
    assert sorted(os.listdir(tmp_path)) == ["x.prom"]


def test_the_web_apps_reader_understands_the_file(reference_readings) -> None:
    # The consumer of these files (issue 4) parses them with its own reader: the contract in practice.
    promreader = pytest.importorskip("solarmon.web.promreader")
    text = _render_all(reference_readings)
    (update,) = promreader.parse_prom_text(text, filename="mpp-solar-inverter.prom", mtime=1764180000.0)
    assert update.source.endswith("inverter")
    assert update.ok is True
    assert update.values["battery_voltage"] == 57.5  # live, from QPIGS
    assert update.values["rated_battery_voltage"] == 48.0  # the rating, from QPIRI: not confused
    assert update.values["device_mode"] == "Battery"
    assert update.units["battery_voltage"] == "V"


def _info_samples(text: str) -> list[dict[str, str]]:
    return [dict(s.labels) for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == "mpp_solar_field_info"]


def test_field_info_maps_every_series_to_its_catalog_entry(reference_readings) -> None:
    text = _render_all(reference_readings)
    infos = _info_samples(text)
    written = [(r.command, f) for r in reference_readings.values() for f in r.fields]
    assert len(infos) == len(written)  # one sample per value written
    by_series = {(i["name"], i["cmd"]): i for i in infos}
    assert len(by_series) == len(infos)
    for command, field in written:
        entry = catalog.info(field.key)
        i = by_series[(metric_name(field.name)[len("mpp_solar_"):], command)]
        assert (i["key"], i["kind"], i["unit"]) == (entry.key, entry.kind.value, entry.unit)
    # Every value series of the file has its info sample (the daemon's own families do not).
    own = {"machine_role", "mpp_solar_up", "mpp_solar_last_success_timestamp_seconds",
           "mpp_solar_poll_duration_seconds", "mpp_solar_consecutive_failures", "mpp_solar_errors_total",
           "mpp_solar_discarded_frames_total", "mpp_solar_reading_timestamp_seconds",
           "mpp_solar_field_info"}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name not in own:
                assert (sample.name[len("mpp_solar_"):], sample.labels["cmd"]) in by_series, sample
    rated = by_series[("battery_voltage", "QPIRI")]
    assert (rated["key"], rated["kind"], rated["unit"]) == ("rated_battery_voltage", "rating", "V")
    assert by_series[("battery_type", "QPIRI")]["kind"] == "setting"
    assert by_series[("rsv1", "QPIGS")]["key"] == "battery_voltage_offset_for_fans_on"


def test_help_and_units_come_from_the_catalog(reference_readings) -> None:
    text = _render_all(reference_readings)
    helps = {line.split()[2]: line.split(" ", 3)[3]
             for line in text.splitlines() if line.startswith("# HELP ")}
    assert helps["mpp_solar_rsv1"] == catalog.info("battery_voltage_offset_for_fans_on").help
    assert helps["mpp_solar_battery_voltage"] == "Battery voltage (V)"  # QPIGS's entry comes first
    assert helps["mpp_solar_bus_over_fault"] == "a2: fault"


def test_flags_are_numbers_without_mystr(reference_readings) -> None:
    samples = _samples(_render_all(reference_readings))
    base = frozenset({("inverter", "inverter"), ("device", "main_inverter")})
    assert samples[("mpp_solar_bus_over_fault", base | {("cmd", "QPIWS")})] == 0
    assert samples[("mpp_solar_buzzer", base | {("cmd", "QFLAG")})] in (0, 1)
    flag_lines = [line for line in _render_all(reference_readings).splitlines()
                  if 'cmd="QPIWS"' in line or 'cmd="QFLAG"' in line]
    assert flag_lines
    assert not any("myStr" in line for line in flag_lines)


def test_the_file_ends_with_the_end_marker(reference_readings) -> None:
    text = _render_all(reference_readings)
    assert text.endswith("\n# EOF\n")
    assert text.count("# EOF") == 1
    down = render("inverter", "None", [], HealthSample(False, 0.0, 1.0, 1, {}))
    assert down.endswith("\n# EOF\n")
    assert _info_samples(down) == []


def test_the_documented_flag_query_counts_daemon_and_upstream_files_alike(
        reference_readings, promtool: str, tmp_path: Path) -> None:
    # docs/DAEMON.md: upstream writes flags as {myStr="1"} / {myStr="0"}, the daemon as numbers;
    # `X{myStr="1"} or (X{myStr=""} == 1)` finds the set ones in both, each once.
    series = []
    for family in text_string_to_metric_families(_render_all({"QPIWS": reference_readings["QPIWS"]})):
        for sample in family.samples:
            if sample.labels.get("cmd") != "QPIWS" or not sample.name.endswith("_fault"):
                continue
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()) if k != "inverter")
            value = f"{sample.value:g}"
            series.append({"series": f'{sample.name}{{inverter="daemon",{labels}}}',
                           "values": f"{value} {value}"})
            series.append({"series": f'{sample.name}{{inverter="upstream",{labels},myStr="{value}"}}',
                           "values": "1 1"})
    selector = '{__name__=~"mpp_solar_.*_fault",cmd="QPIWS"'
    query = f'count by (inverter) ({selector},myStr="1"}} or ({selector},myStr=""}} == 1))'
    (tmp_path / "rules.yml").write_text("groups: []\n")
    (tmp_path / "test.yml").write_text(yaml.safe_dump({
        "rule_files": ["rules.yml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "promql_expr_test": [{
            "expr": query, "eval_time": "1m",
            "exp_samples": [{"labels": '{inverter="daemon"}', "value": 1},
                            {"labels": '{inverter="upstream"}', "value": 1}]}]}]}))
    result = subprocess.run([promtool, "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()

def test_private_files_are_never_readable_by_others(tmp_path: Path) -> None:
    # The same writer serves the web app's account and key files: mode 0600 from the first byte.
    from solarmon.atomicfile import PRIVATE_MODE

    path = tmp_path / "users.json"
    write_atomic(path, b"{}\n", PRIVATE_MODE)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert path.read_bytes() == b"{}\n"
