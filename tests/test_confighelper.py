"""The one typed config-section helper and its one error (solarmon/confighelper.py)."""

from __future__ import annotations

import pytest

from solarmon.confighelper import ConfigError, ConfigSection


def yaml_section(values: object) -> ConfigSection:
    return ConfigSection(values, source="web.yaml", prefix="data.")  # type: ignore[arg-type]


@pytest.mark.parametrize(("value", "message"), [
    (float("nan"), "web.yaml: data.x must be a finite number in 1..60, got nan"),
    (float("inf"), "web.yaml: data.x must be a finite number in 1..60, got inf"),
    (float("-inf"), "web.yaml: data.x must be a finite number in 1..60, got -inf"),
    (0.5, "web.yaml: data.x must be a number in 1..60, got 0.5"),
    ("5", "web.yaml: data.x must be a number in 1..60, got '5'"),
    (True, "web.yaml: data.x must be a number in 1..60, got True"),
    (None, "web.yaml: data.x must be a number in 1..60, got None"),
])
def test_getfloat_refuses_what_is_not_a_finite_number_within_limits(value: object, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        yaml_section({"x": value}).getfloat("x", 5.0, minval=1, maxval=60)
    assert str(info.value) == message
    assert (info.value.source, info.value.key, info.value.allowed) == ("web.yaml", "x", "1..60")


def test_getters_type_their_values_and_fill_defaults() -> None:
    section = yaml_section({"i": 3, "f": 2, "b": False, "s": 8080, "c": "debug", "l": ["a"]})
    assert section.getint("i", 1, minval=0, maxval=9) == 3
    assert isinstance(section.getfloat("f", 1.0), float)
    assert section.getfloat("absent", 7) == 7.0
    assert isinstance(section.getfloat("absent", 7), float)
    assert section.getbool("b") is False
    assert section.getstr("s") == "8080"
    assert section.getchoice("c", "INFO", ("DEBUG", "INFO"), fold=str.upper) == "DEBUG"
    assert section.getlist("l") == ["a"]
    with pytest.raises(ConfigError, match=r"data\.i must be an integer in 0\.\.2, got 3"):
        section.getint("i", 1, minval=0, maxval=2)
    with pytest.raises(ConfigError, match="must be one of WARNING, ERROR, got 'debug'"):
        section.getchoice("c", "ERROR", ("WARNING", "ERROR"), fold=str.upper)


def test_an_ini_section_parses_text_and_names_the_section() -> None:
    section = ConfigSection({"baud": "2400", "timeout": "nan", "pause": " 1.5 "}, source="mpp.conf",
                            section="inv", text=True)
    assert section.getint("baud", 2400, choices=(2400, 9600)) == 2400
    assert section.getfloat("pause", 60, minval=0.1, maxval=10) == 1.5
    with pytest.raises(ConfigError) as info:
        section.getfloat("timeout", 0, minval=0, maxval=60)
    assert str(info.value) == "mpp.conf [inv] timeout must be a finite number in 0..60, got 'nan'"
    assert (info.value.section, info.value.key, info.value.value) == ("inv", "timeout", "nan")


def test_a_section_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ConfigError, match="web.yaml: data must be a mapping, got list"):
        yaml_section(["x"])
    with pytest.raises(ConfigError, match="web.yaml: data.api must be a mapping"):
        yaml_section({"api": [1]}).getsection("api")


def test_unknown_keys_warn(caplog: pytest.LogCaptureFixture) -> None:
    assert yaml_section({"x": 1, "typo": 2}).warn_unknown(["x"]) == ["typo"]
    assert "web.yaml: unknown key data.typo ignored (known: x)" in caplog.text
