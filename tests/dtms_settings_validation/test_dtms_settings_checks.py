"""DtmsSettings refuses nonsense: every rule names its key, and parse_settings turns the
constructor's ValueError into a ConfigError that names the table too."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dtms_plugin.settings import DtmsSettings, load_settings
from dtms_plugin.settings_timeframes import for_host
from hookspecs import ConfigError

NAN, INF = float("nan"), float("inf")

BAD: list[tuple[dict[str, Any], str]] = [
    ({"fresh_seconds": -1}, "fresh_seconds"),
    ({"fresh_seconds": NAN}, "fresh_seconds"),
    ({"fresh_seconds": INF, "last_known_seconds": INF}, "fresh_seconds"),
    ({"fresh_seconds": 10, "last_known_seconds": 5}, "last_known_seconds"),
    ({"register_timeout_seconds": 0}, "register_timeout_seconds"),
    ({"query_timeout_seconds": -2}, "query_timeout_seconds"),
    ({"query_timeout_seconds": INF}, "query_timeout_seconds"),
    ({"monitor_seconds": 0}, "monitor_seconds"),
    ({"monitor_seconds": NAN}, "monitor_seconds"),
    ({"state_dir": ""}, "state_dir"),
    ({"token_env": "  "}, "token_env"),
    ({"api_url": "127.0.0.1:8001"}, "api_url"),
    ({"api_url": "ftp://example.com"}, "api_url"),
    ({"api_url": "http://"}, "api_url"),
    ({"api_url": "http://[::1"}, "api_url"),
    ({"api_url": "http://host:99999"}, "api_url"),
    ({"created_status": 202}, "created_status: must be 201 (Created) or 200"),
    ({"created_status": 404}, "created_status"),
    ({"fast_timeframe": "M7"}, "fast_timeframe"),
    ({"signal_timeframe": "W2"}, "signal_timeframe"),
    ({"fast_timeframe": "H1", "signal_timeframe": "M15"}, "signal_timeframe"),
    ({"timeframes": "explicit", "fast_timeframe": "H1"}, "signal_timeframe"),
    ({"weights": {"structure": -1}}, "weights.structure"),
    ({"weights": {"momentum": NAN}}, "weights.momentum"),
    ({"adaptive": {"range": {"momentum": -0.5}}}, "adaptive.range.momentum"),
    ({"adaptive": {"asian": -1}}, "adaptive.asian"),
    ({"indicators": {"atr_period": 0}}, "indicators.atr_period"),
    ({"indicators": {"warmup_bars": -5}}, "indicators.warmup_bars"),
    ({"rails": {"stop_streak": 0}}, "rails.stop_streak"),
    ({"actions": {"partial_fraction": 0}}, "actions.partial_fraction"),
    ({"actions": {"hedge_fraction": 1.5}}, "actions.hedge_fraction"),
    ({"actions": {"max_retries": -1}}, "actions.max_retries"),
    ({"thresholds": {"to_hedge": NAN}}, "thresholds.to_hedge"),
    # the ladder out of order: a score between two thresholds would flip the state each cycle
    ({"thresholds": {"to_l1": 5}}, "thresholds.to_l1: must be below thresholds.l1_recover (0)"),
    ({"thresholds": {"to_l2": -1}}, "thresholds.to_l2: must be below thresholds.to_l1 (-2)"),
    ({"thresholds": {"to_hedge": -3}}, "thresholds.to_hedge: must be below thresholds.to_l2"),
    ({"thresholds": {"l2_recover": -5}}, "thresholds.to_l2: must be below thresholds.l2_recover"),
    ({"thresholds": {"recover": -7}}, "thresholds.to_hedge: must be below thresholds.recover"),
    ({"regime": {"session_factor": {"ASIAN": INF}}}, "regime.session_factor.ASIAN"),
    (
        {"regime": {"range_width_by_symbol": {"XAUUSD": "wide"}}},
        "regime.range_width_by_symbol.XAUUSD",
    ),
]


@pytest.mark.parametrize(("table", "key"), BAD, ids=[k for _, k in BAD])
def test_a_bad_value_is_a_config_error_naming_table_and_key(
    table: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(table, "[plugin.dtms]")
    message = str(info.value)
    assert message.startswith(f"[plugin.dtms]: {key}"), message
    assert "\n" not in message


@pytest.mark.parametrize("value", ["200", 200.0, True])
def test_created_status_is_an_integer(value: Any) -> None:
    """Not a text or a float that reads as one: the status is sent as it is set."""
    with pytest.raises(ConfigError, match=r"^\[plugin\.dtms\]: key 'created_status': expected"):
        load_settings({"created_status": value})


def test_the_constructor_itself_raises_value_error_naming_the_key() -> None:
    with pytest.raises(ValueError, match=r"^last_known_seconds: must be >= 10"):
        DtmsSettings(fresh_seconds=10.0, last_known_seconds=9.0)


@pytest.mark.parametrize(
    "table",
    [
        {},
        {"fresh_seconds": 0, "last_known_seconds": 0},
        {"fresh_seconds": 5, "last_known_seconds": 5},
        {"api_url": "https://dtms.example.com:8443/base/"},
        {"api_url": "http://[::1]:8001"},
        {"created_status": 200},
        {"created_status": 201},
        {"fast_timeframe": "M1", "signal_timeframe": "D1"},
        {"weights": {"structure": 0}, "actions": {"max_retries": 0, "hedge_fraction": 1}},
        {"thresholds": {"to_l1": -3.5}, "regime": {"range_width_by_symbol": {"XAUUSD": 0.01}}},
    ],
)
def test_sensible_values_are_accepted(table: dict[str, Any]) -> None:
    settings = load_settings(table)
    for key, value in table.items():
        if not isinstance(value, dict):
            assert getattr(settings, key) == value


def test_replace_runs_the_checks_too() -> None:
    with pytest.raises(ValueError, match="monitor_seconds"):
        dataclasses.replace(DtmsSettings(), monitor_seconds=INF)


def test_the_default_where_names_only_the_table() -> None:
    # The host prefixes the file it read; the plugin cannot know it.
    with pytest.raises(ConfigError, match=r"^\[plugin\.dtms\]: fresh_seconds"):
        load_settings({"fresh_seconds": -1})


@pytest.mark.parametrize("host", ["W1", "MN1"])
def test_a_host_above_d1_is_told_what_can_work(host: str) -> None:
    """A weekly or monthly host leaves "auto" no coarser timeframe for DTMS's signals:
    the one line says so and what to do. The host's timeframe is what to change (daily
    bars traded weekly are the usual case), or, on W1, the signal timeframe to set,
    which then works on the same bars."""
    with pytest.raises(ConfigError) as caught:
        for_host(DtmsSettings(), host, "D1", "plugins.toml [plugin.dtms]")
    said = str(caught.value)
    assert said.startswith('plugins.toml [plugin.dtms] timeframes = "auto"')
    assert f"host's {host} bars" in said and "only for D1 and finer" in said
    assert "trade on D1 or a finer timeframe ([host] timeframe, or replay --timeframe)" in said
    assert 'disabled = ["dtms"]' in said and "give it D1 or finer bars" not in said
    assert ('set signal_timeframe = "MN1" in [plugin.dtms]' in said) is (host == "W1")
    if host == "W1":  # the way out it names works on the same bars
        monthly = DtmsSettings(signal_timeframe="MN1")
        assert for_host(monthly, "W1", "D1", "x").signal.value == "MN1"


@pytest.mark.parametrize("host", ["W1", "MN1"])
def test_a_host_on_its_own_coarse_bars_is_told_only_what_works(host: str) -> None:
    """A file of weekly (monthly) bars traded on them: no finer bars can be built from
    them, and weeks make no months, so neither a finer host timeframe nor a monthly
    signal works; the line says why and names only the way that does."""
    with pytest.raises(ConfigError) as caught:
        for_host(DtmsSettings(), host, host, "plugins.toml [plugin.dtms]")
    said = str(caught.value)
    assert f"the data's {host} bars make no finer bars" in said
    assert ("and no MN1 bars" in said) is (host == "W1")
    assert "signal_timeframe" not in said and "trade on D1" not in said
    assert said.endswith(': run without DTMS ([plugins] disabled = ["dtms"])')
    with pytest.raises(ConfigError, match="cannot be built"):  # the advice it left out
        for_host(DtmsSettings(signal_timeframe="MN1"), "W1", "W1", "x")


def test_explicit_timeframes_under_a_weekly_host_are_checked_against_the_data() -> None:
    settings = DtmsSettings(fast_timeframe="D1", signal_timeframe="W1")
    assert for_host(settings, "W1", "D1", "x").fast.value == "D1"
    monthly = DtmsSettings(signal_timeframe="MN1")  # fast: the host's W1
    assert for_host(monthly, "W1", "D1", "x").signal.value == "MN1"
    with pytest.raises(ConfigError, match=r"DTMS needs D1 bars .* the data has W1 bars"):
        for_host(settings, "W1", "W1", "x")


@pytest.mark.parametrize(
    ("fast", "anchor"),
    [("M20", "D1"), ("H1", "D1"), ("H2", "W1"), ("H4", "W1"), ("H12", "W1"), ("D1", "MN1")],
)
def test_the_vwap_anchor_of_each_fast_timeframe(fast: str, anchor: str) -> None:
    """docs/dtms.md §1: the day up to H1, the week for H2 to H12 (H2 was anchored to the
    month, as D1 is), the month above."""
    assert DtmsSettings(fast_timeframe=fast).vwap_anchor().value == anchor
