"""``[host.paper.symbols.NAME]``: a symbol's real trading rules in plugins.toml. Each bad
table is one line naming the file, the table and the key; a good one replaces the guess
(or the paper broker's own rules) key by key, in a simulated run, a live one on the
shared account file and the serving host beside it."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hookspecs import Bar, ConfigError
from hostapp.app import build_sim_app
from hostapp.brokers.paper_symbols import parse_paper_symbols
from hostapp.config import config_from_dict
from hostapp.market.synthetic import generate_bars
from hostapp.runtime import build_runtime
from hostapp.symbol_rules import symbol_infos

GOLD = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 300, seed=2)
#: a share near 300 with two decimals, which the paper broker does not know
GOOG = [
    Bar(b.time, *(round(x * 300 / GOLD[0].open, 2) for x in (b.open, b.high, b.low, b.close)))
    for b in GOLD
]
TABLE = "plugins.toml [host.paper.symbols.GOOG]"


def _config(paper: dict[str, Any], **host: Any) -> Any:
    return config_from_dict({"host": {"broker": "paper", "paper": paper, **host}})


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"lot": 1}, f"{TABLE}: unknown key 'lot' (known keys: digits, contract_size, "),
        ({"timeout_seconds": 3}, f"{TABLE}: unknown key 'timeout_seconds'"),
        ({"digits": 11}, f"{TABLE}: key 'digits': expected an integer from 0 to 10, got 11"),
        ({"digits": -1}, f"{TABLE}: key 'digits': expected an integer from 0 to 10, got -1"),
        ({"digits": 2.5}, f"{TABLE}: key 'digits': expected an integer from 0 to 10, got 2.5"),
        ({"digits": True}, f"{TABLE}: key 'digits': expected an integer from 0 to 10, got true"),
        ({"contract_size": 0}, f"{TABLE}: key 'contract_size': expected a number > 0, got 0"),
        ({"contract_size": "1"}, f"{TABLE}: key 'contract_size': expected a number, got '1'"),
        ({"volume_min": -0.1}, f"{TABLE}: key 'volume_min': expected a number > 0"),
        ({"volume_step": 0}, f"{TABLE}: key 'volume_step': expected a number > 0, got 0"),
        ({"volume_max": float("inf")}, f"{TABLE}: key 'volume_max': expected a number > 0"),
        ({"stops_level": -1}, f"{TABLE}: key 'stops_level': expected a number ≥ 0"),
        ({"freeze_level": float("nan")}, f"{TABLE}: key 'freeze_level': expected a number ≥ 0"),
        ({"spread": -0.4}, f"{TABLE}: key 'spread': expected a number ≥ 0"),
        (
            {"volume_min": 5, "volume_max": 1},
            f"{TABLE}: key 'volume_min': 5 is above volume_max 1",
        ),
    ],
)
def test_a_bad_table_is_one_line_naming_file_table_and_key(
    table: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        _config({"symbols": {"GOOG": table}})
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("symbols", "message"),
    [
        (3, "plugins.toml [host.paper]: key 'symbols': expected a table"),
        ({"GOOG": 1}, f"{TABLE}: expected a table of the symbol's rules, got 1"),
        ({" ": {}}, "plugins.toml [host.paper.symbols]: a symbol's name is empty"),
    ],
)
def test_symbols_must_be_tables_of_tables(symbols: Any, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace("[", r"\[").replace("]", r"\]")):
        _config({"symbols": symbols})


def test_a_table_replaces_what_it_gives_and_keeps_the_rest() -> None:
    told = parse_paper_symbols(
        {"GOOG": {"digits": 1, "contract_size": 100, "stops_level": 0.5}, "XAUUSD": {"digits": 3}},
        "plugins.toml",
    )
    guessed = symbol_infos({"GOOG": GOOG})["GOOG"]
    infos = symbol_infos({"GOOG": GOOG, "XAUUSD": GOLD}, told)
    goog = infos["GOOG"]
    assert (goog.digits, goog.point, goog.contract_size, goog.stops_level) == (1, 0.1, 100, 0.5)
    assert (goog.volume_min, goog.volume_step, goog.volume_max) == (
        guessed.volume_min,
        guessed.volume_step,
        guessed.volume_max,
    )
    gold = infos["XAUUSD"]
    assert (gold.digits, gold.point, gold.contract_size) == (3, 0.001, 100.0)  # its own lot


def test_a_minimum_above_the_maximum_left_to_the_guess_names_the_table() -> None:
    told = parse_paper_symbols({"GOOG": {"volume_min": 500}}, "my.toml")
    with pytest.raises(ConfigError) as err:
        symbol_infos({"GOOG": GOOG}, told)
    assert str(err.value) == (
        "my.toml [host.paper.symbols.GOOG]: key 'volume_min': 500 is above the volume_max "
        "100 it leaves to the paper broker (give volume_max too)"
    )


def test_a_configured_spread_fills_bars_without_one() -> None:
    config = _config({"symbols": {"GOOG": {"spread": 0.4}}})
    app = build_sim_app(config, {"GOOG": GOOG}, base_timeframe="M5")
    app.broker.on_bar("GOOG", GOOG[0])  # type: ignore[attr-defined]
    quote = app.broker.quote("GOOG")
    assert quote is not None and quote.ask - quote.bid == pytest.approx(0.4)


def test_the_live_host_and_the_serving_host_on_one_account_file_use_the_table(
    tmp_path: Path,
) -> None:
    """The account file keeps no rules of its own: both processes read plugins.toml."""
    csv = tmp_path / "GOOG.csv"
    csv.write_text(
        "time,open,high,low,close\n"
        + "".join(f"{b.time:%Y-%m-%d %H:%M},{b.open},{b.high},{b.low},{b.close}\n" for b in GOOG)
    )
    account = str(tmp_path / "account.sqlite")
    config = _config(
        {"account_file": account, "symbols": {"GOOG": {"contract_size": 10, "volume_min": 1}}},
        symbols=["GOOG"],
        data={"GOOG": str(csv)},
    )
    app = build_sim_app(config, {"GOOG": GOOG}, base_timeframe="M5", shared_account=True)
    runtime = build_runtime(config)
    try:
        for broker in (app.broker, runtime.broker):
            info = broker.symbol_info("GOOG")
            assert info is not None and (info.contract_size, info.volume_min) == (10, 1)
    finally:
        app.broker.release()  # type: ignore[attr-defined]
        assert runtime.close is not None
        runtime.close()


def test_the_readme_table_is_accepted_as_written() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("[host.paper.symbols.US500]")
    block = tomllib.loads(readme[start : readme.index("```", start)])
    config = config_from_dict(block)
    told = parse_paper_symbols(config.host.paper["symbols"], config.source)
    us500 = told.rules["US500"]
    assert (us500.digits, us500.volume_min, us500.spread) == (2, 0.1, 0.4)
