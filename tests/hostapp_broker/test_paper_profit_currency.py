"""``[host.paper.symbols.NAME] profit_currency``: the currency an index's or a stock's
profits are in, which its name does not say. Without it JP225's yen were booked as
dollars (10 lots from 38010 to a 38500 target: ``P&L (realised) 4,900.00 USD``, about
32.7 real dollars) and GER40's euros too, and no note said so. Told, it is converted as a
pair's quote currency is, at the run's symbol of the two currencies; untold, one note
names every such symbol and the key to set."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp

from hookspecs import Bar, ConfigError, OrderRequest
from hostapp.app import build_sim_app
from hostapp.brokers.paper import PaperBroker
from hostapp.config import config_from_dict
from hostapp.symbol_rules import guessed_rules_note

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 1, 2, tzinfo=UTC)
M5 = timedelta(minutes=5)
#: the rules of the probe's table: whole points, a lot of one unit
JP225 = {"digits": 0, "contract_size": 1, "volume_min": 1, "volume_step": 1, "volume_max": 100}


def flat(price: float, n: int, spread: float = 0.0) -> list[Bar]:
    return [Bar(T0 + i * M5, price, price, price, price, spread=spread) for i in range(n)]


def broker_of(tables: dict[str, Any], series: dict[str, list[Bar]], **paper: Any) -> PaperBroker:
    """The paper broker a replay of ``series`` builds from these plugins.toml tables."""
    config = config_from_dict({"host": {"broker": "paper", "paper": {"symbols": tables, **paper}}})
    broker = build_sim_app(config, series, base_timeframe="M5").broker
    assert isinstance(broker, PaperBroker)
    return broker


def target_hit(broker: PaperBroker, series: dict[str, list[Bar]]) -> float:
    """10 lots of JP225 bought at 38010 with a target at 38500, which a bar's high of
    38510 reaches: the realised P&L."""
    for symbol, bars in series.items():
        broker.on_bar(symbol, bars[0])
    opened = broker.open(OrderRequest("JP225", "buy", 10, take_profit=38500))
    assert opened.ok and opened.message == "buy 10 JP225 at 38010", opened
    with broker.step():
        broker.on_bar("JP225", Bar(T0 + M5, 38000, 38510, 38000, 38000, spread=10))
    assert broker.positions() == []
    return broker.realised_pnl()


def test_a_told_profit_currency_is_converted_at_the_runs_symbol_of_the_two() -> None:
    series = {"JP225": flat(38000, 3, spread=10), "USDJPY": flat(150.0, 3, spread=0.01)}
    tables = {"JP225": {**JP225, "profit_currency": "JPY"}}
    broker = broker_of(tables, series)
    assert target_hit(broker, series) == round(4900 / 150.005, 2)  # 32.67 dollars
    note = guessed_rules_note(broker, list(series)) or ""
    assert "profits turned into USD at the price" in note and "JP225's (JPY) at USDJPY's" in note
    assert "unknown currency" not in note


def test_a_told_profit_currency_without_a_symbol_to_convert_is_said_counted() -> None:
    series = {"JP225": flat(38000, 3, spread=10)}
    broker = broker_of({"JP225": {**JP225, "profit_currency": "jpy"}}, series)
    assert target_hit(broker, series) == 4900.0
    note = guessed_rules_note(broker, ["JP225"]) or ""
    assert "JP225's profits are in JPY, counted as USD" in note
    # on a yen account the same yen are the account's money: nothing to say of them
    yen = broker_of({"JP225": {**JP225, "profit_currency": "JPY"}}, series, currency="JPY")
    assert target_hit(yen, series) == 4900.0
    assert "JP225" not in (_money_part(guessed_rules_note(yen, ["JP225"])))


def _money_part(note: str | None) -> str:
    """The note without its "rules from plugins.toml" part, which names every table."""
    return "; ".join(p for p in (note or "").split("; ") if not p.startswith("rules from"))


def test_every_symbol_of_an_unknown_profit_currency_is_named_in_one_note() -> None:
    series = {
        "JP225": flat(38000, 3, spread=10),
        "GER40": flat(18000.5, 3),
        "EURUSD": flat(1.1, 3),
    }
    broker = broker_of({"JP225": JP225}, series)
    assert target_hit(broker, series) == 4900.0  # yen, counted as dollars: said below
    note = guessed_rules_note(broker, list(series)) or ""
    assert (
        "JP225, GER40: profits in an unknown currency, counted as USD; "
        "set [host.paper.symbols.NAME] profit_currency"
    ) in note
    assert "rules from plugins.toml for JP225" in note  # a table's rules are no currency
    told = broker_of({"GER40": {"profit_currency": "EUR"}, "JP225": JP225}, series)
    said = guessed_rules_note(told, list(series)) or ""
    assert "GER40's (EUR) at EURUSD's" in said
    assert "JP225: profits in an unknown currency, counted as USD" in said


@pytest.mark.parametrize(
    ("told", "message"),
    [
        (
            "JPY",
            "plugins.toml [host.paper.symbols.EURUSD]: key 'profit_currency': EURUSD's "
            "profits are in USD, as its name says, not JPY",
        ),
        (
            7,
            "plugins.toml [host.paper.symbols.EURUSD]: key 'profit_currency': expected a "
            "currency's three letters",
        ),
    ],
)
def test_a_profit_currency_the_name_contradicts_is_refused(told: object, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"host": {"paper": {"symbols": {"EURUSD": {"profit_currency": told}}}}})
    assert str(caught.value).startswith(message), caught.value


@pytest.mark.parametrize("told", ["ABC", "XAU", "yen"])
def test_a_tables_profit_currency_is_held_to_the_same_rule(told: str) -> None:
    paper = {"symbols": {"JP225": {"profit_currency": told}}}
    with pytest.raises(ConfigError) as caught:
        config_from_dict({"host": {"broker": "paper", "paper": paper}})
    message = str(caught.value)
    assert message.startswith(
        "plugins.toml [host.paper.symbols.JP225]: key 'profit_currency': "
        f"'{told}' is not a currency code"
    ), message


def test_a_replay_names_the_symbol_and_the_key(tmp_path: Path) -> None:
    """Through ``hostapp replay``: the table's rules from plugins.toml, and the note."""
    shipped = (ROOT / "plugins.toml").read_text(encoding="utf-8")
    table = "\n".join(f"{k} = {v}" for k, v in JP225.items())
    (tmp_path / "plugins.toml").write_text(
        shipped + f"\n[host.paper.symbols.JP225]\n{table}\n", encoding="utf-8"
    )
    rows = [
        f"{T0 + i * M5:%Y-%m-%d %H:%M},{38000 + i % 7},{38004 + i % 7},{37996 + i % 7},"
        f"{38001 + i % 7}"
        for i in range(300)
    ]
    (tmp_path / "JP225.csv").write_text("time,open,high,low,close\n" + "\n".join(rows))
    proc = hostapp(tmp_path, "replay", "JP225.csv", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    notes = json.loads(proc.stdout)["host_notes"]
    said = [n for n in notes if "profits in an unknown currency" in n]
    assert len(said) == 1, notes
    assert "JP225: profits in an unknown currency, counted as USD" in said[0]
    assert "set [host.paper.symbols.NAME] profit_currency" in said[0]
