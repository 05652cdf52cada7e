"""Every number of DTMS's setting groups has a range (docs/dtms.md §10): a value outside it,
or a pair out of order, is one line naming ``group.key``, the range and the value, at load
and from ``dtms serve``; the edges that mean "off" load; docs and code give the same
ranges; the shipped configurations still load."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from support.ports import free_port

from dtms_plugin.settings import GROUPS, DtmsSettings, load_settings
from dtms_plugin.settings_ranges import ORDERINGS, RANGES, range_of
from hookspecs import ConfigError

ROOT = Path(__file__).parents[2]

#: (group, key, value, what the line must say after the key)
OUT_OF_RANGE: list[tuple[str, str, float, str]] = [
    ("arming", "age_bars", -3, "must be in [0, 10000], got -3.0"),
    ("arming", "age_bars", 1e9, "must be in [0, 10000], got 1000000000.0"),
    ("arming", "adverse_move_r", -1, "must be > 0, got -1.0"),
    ("arming", "adverse_move_r", 0, "must be > 0, got 0.0"),
    ("arming", "profit_r", 0, "must be > 0, got 0.0"),
    ("arming", "loss_r", 0.5, "must be < 0, got 0.5"),
    ("actions", "flat_bars", -15, "must be in (0, 10000], got -15.0"),
    ("actions", "flat_bars", 0, "must be in (0, 10000], got 0.0"),
    ("actions", "flat_bars", 1e9, "must be in (0, 10000], got 1000000000.0"),
    ("actions", "recovery_bars", -1, "must be in (0, 10000], got -1.0"),
    ("actions", "recovery_bars", 10_001, "must be in (0, 10000], got 10001.0"),
    ("actions", "tighten_r", -0.3, "must be > 0, got -0.3"),
    ("actions", "re_add_fraction", 0, "must be in (0, 1], got 0.0"),
    ("rails", "stale_bar_periods", 0, "must be in [1, 10000], got 0.0"),
    ("rails", "stale_bar_periods", -2, "must be in [1, 10000], got -2.0"),
    ("rails", "stale_bar_periods", 1e6, "must be in [1, 10000], got 1000000.0"),
    ("rails", "spread_max_ratio", 0, "must be >= 1, got 0.0"),
    ("rails", "spread_max_ratio", -1, "must be >= 1, got -1.0"),
    ("rails", "daily_loss_pct", -5, "must be in [0, 100], got -5.0"),
    ("rails", "daily_loss_pct", 150, "must be in [0, 100], got 150.0"),
    ("rails", "streak_bars", -12, "must be in [0, 10000], got -12.0"),
    ("rails", "streak_bars", 1e12, "must be in [0, 10000], got 1000000000000.0"),
    ("thresholds", "confluence_against", 0, "must be in (0.5, 1], got 0.0"),
    ("thresholds", "confluence_against", 1.5, "must be in (0.5, 1], got 1.5"),
    ("thresholds", "confluence_against", -1, "must be in (0.5, 1], got -1.0"),
    ("thresholds", "recover", 0, "must be > 0, got 0.0"),
    ("regime", "vwap_slope_default", -0.001, "must be > 0, got -0.001"),
    ("regime", "vwap_slope_jpy", 0, "must be > 0, got 0.0"),
    ("regime", "range_width", -1, "must be >= 0, got -1.0"),
    ("regime", "atr_ratio_low", 1.1, "must be in [0, 1], got 1.1"),
    ("regime", "atr_ratio_high", 0.9, "must be >= 1, got 0.9"),
    ("regime", "rsi_threshold", 60, "must be in [0, 50], got 60.0"),
    ("regime", "opposite_volume_share", 0.4, "must be in [0.5, 1], got 0.4"),
    ("indicators", "candle_body_ratio", 0, "must be in (0, 1], got 0.0"),
    ("indicators", "delta_z", -1, "must be >= 0, got -1.0"),
    ("indicators", "bollinger_k", 0, "must be > 0, got 0.0"),
    ("indicators", "bollinger_period", 1, "must be >= 2, got 1"),
    ("indicators", "macd_trend_bars", 1, "must be >= 2, got 1"),
]


@pytest.mark.parametrize(
    ("group", "key", "value", "said"),
    OUT_OF_RANGE,
    ids=[f"{g}.{k}={v}" for g, k, v, _ in OUT_OF_RANGE],
)
def test_a_value_out_of_its_range_is_one_line_naming_key_range_and_value(
    group: str, key: str, value: float, said: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({group: {key: value}})
    assert str(caught.value) == f"[plugin.dtms]: {group}.{key}: {said}"


#: pairs out of order: (group, table, what the line must say)
OUT_OF_ORDER: list[tuple[str, dict[str, float], str]] = [
    (
        "regime",
        {"atr_ratio_low": 1.0, "atr_ratio_high": 1.0},
        "regime.atr_ratio_low: must be below regime.atr_ratio_high (1), got 1",
    ),
    (
        "regime",
        {"atr_ratio_low": 2.0, "atr_ratio_high": 1.0},
        "regime.atr_ratio_low: must be below regime.atr_ratio_high (1), got 2",
    ),
    (
        "regime",
        {"slope_clamp_low": 2.0, "slope_clamp_high": 1.0},
        "regime.slope_clamp_low: must not be above regime.slope_clamp_high (1), got 2",
    ),
    (
        "indicators",
        {"macd_fast": 26, "macd_slow": 12},
        "indicators.macd_fast: must be below indicators.macd_slow (12), got 26",
    ),
    (
        "indicators",
        {"ema_fast": 200},
        "indicators.ema_fast: must be below indicators.ema_slow (200), got 200",
    ),
    (
        "thresholds",
        {"to_l1": -0.5, "l1_recover": -1},
        "thresholds.to_l1: must be below thresholds.l1_recover (-1), got -0.5",
    ),
]


@pytest.mark.parametrize(
    ("group", "table", "said"), OUT_OF_ORDER, ids=[s for *_, s in OUT_OF_ORDER]
)
def test_a_pair_out_of_order_is_named_as_a_pair(
    group: str, table: dict[str, float], said: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({group: table})
    assert str(caught.value) == f"[plugin.dtms]: {said}"


@pytest.mark.parametrize(
    "table",
    [
        {"arming": {"age_bars": 0}},  # scored from the first bar
        {"rails": {"streak_bars": 0}},  # no lock after a stop streak
        {"rails": {"daily_loss_pct": 0}},  # any realised loss locks the day
        {"rails": {"stale_bar_periods": 1, "spread_max_ratio": 1}},
        {"regime": {"range_width": 0, "atr_ratio_low": 0, "rsi_threshold": 0}},
        {"regime": {"opposite_volume_share": 1, "slope_clamp_low": 1, "slope_clamp_high": 1}},
        {"regime": {"atr_ratio_low": 1, "atr_ratio_high": 1.01}},
        {"indicators": {"candle_range_atr": 0, "delta_z": 0, "candle_body_ratio": 1}},
        {"thresholds": {"confluence_against": 1, "to_l1": -11, "to_l2": -12, "to_hedge": -13}},
        {"actions": {"partial_fraction": 1, "hedge_fraction": 1, "max_retries": 0}},
        {"weights": {"structure": 0}, "adaptive": {"asian": 0}},
        # the longest spans, in bars: still dates on every timeframe (test_dtms_settings_spans)
        {"actions": {"flat_bars": 10_000, "recovery_bars": 10_000}},
        {"arming": {"age_bars": 10_000}, "rails": {"stale_bar_periods": 10_000}},
    ],
)
def test_the_edges_that_mean_off_load(table: dict[str, Any]) -> None:
    settings = load_settings(table)
    for group, values in table.items():
        for key, value in values.items():
            assert getattr(getattr(settings, group), key) == value


def _numbers(prefix: str, value: object) -> list[str]:
    """The range keys of every number under ``value`` (a dataclass of settings)."""
    keys: list[str] = []
    for name, item in vars(value).items():
        key = f"{prefix}.{name}"
        if hasattr(item, "__dataclass_fields__"):
            keys += _numbers(key, item)
        elif not isinstance(item, bool):  # a table of labels: one range for its values
            keys.append(key)
    return keys


def test_every_number_of_every_group_has_a_range_and_no_range_is_left_over() -> None:
    defaults = DtmsSettings()
    keys = [k for group in GROUPS for k in _numbers(group, getattr(defaults, group))]
    used = {k if k in RANGES else f"{k.rpartition('.')[0]}.*" for k in keys}
    assert all(range_of(k) for k in keys)
    assert set(RANGES) == used


def _ranges_section() -> str:
    text = (ROOT / "docs" / "dtms.md").read_text()
    return text[text.index("## 10. ") :]


@pytest.mark.parametrize("key", sorted(RANGES))
def test_the_docs_give_each_range_as_the_code_does(key: str) -> None:
    rows = [line for line in _ranges_section().splitlines() if line.startswith(f"| `{key}` |")]
    assert len(rows) == 1, f"docs/dtms.md §10 has no row for {key}"
    assert f"| `{RANGES[key].text}` |" in rows[0], rows[0]


def test_the_docs_give_each_ordering() -> None:
    section = " ".join(_ranges_section().split())
    for lower, upper, strict in ORDERINGS:
        assert f"`{lower}` {'<' if strict else '<='} `{upper}`" in section, (lower, upper)


def _dtms_tables() -> list[tuple[str, dict[str, Any]]]:
    """``[plugin.dtms]`` of plugins.toml and of every TOML block of README.md and docs/."""
    found = [("plugins.toml", tomllib.loads((ROOT / "plugins.toml").read_text()))]
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```toml\n(.*?)```", path.read_text(), re.S):
            found.append((path.name, tomllib.loads(block)))
    return [(name, doc["plugin"]["dtms"]) for name, doc in found if "dtms" in doc.get("plugin", {})]


def test_the_shipped_and_documented_configurations_load() -> None:
    tables = _dtms_tables()
    assert any(name == "plugins.toml" for name, _ in tables)
    for name, table in tables:
        load_settings(table, f"{name} [plugin.dtms]")


def test_dtms_serve_says_a_value_out_of_range_in_one_line_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "mine.toml"
    config.write_text(
        '[host]\nbroker = "paper"\nsymbols = ["XAUUSD"]\n'
        f'[host.paper]\naccount_file = "{tmp_path / "account.db"}"\n'
        f'[plugin.dtms]\nstate_dir = "{tmp_path / "state"}"\n'
        "[plugin.dtms.rails]\nstale_bar_periods = 0\n"
    )
    dtms = Path(sys.executable).with_name("dtms")
    done = subprocess.run(
        [str(dtms), "serve", "--config", str(config), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].endswith(
        "mine.toml [plugin.dtms]: rails.stale_bar_periods: must be in [1, 10000], got 0.0"
    ), lines[0]
    assert not (tmp_path / "state").exists()


def test_docs_name_every_nested_table() -> None:
    """docs/dtms.md opens with the nested tables of ``[plugin.dtms]``: it left out
    ``[plugin.dtms.trail]``, which the settings take."""
    opening = " ".join((ROOT / "docs" / "dtms.md").read_text().split("\n\n")[1:3])
    named = set(re.findall(r"\[plugin\.dtms\.(\w+)\]", opening))
    assert named == set(GROUPS), sorted(set(GROUPS) ^ named)
