"""A broker's name for a symbol (``USDJPY.m``, ``EURUSDm``, ``XAUUSD.pro``) keeps its
name, and the paper broker trades it on the rules of the symbol it names: USDJPY's lot
of 100,000 units and its profits in yen turned into dollars, as for ``USDJPY`` itself.
The same bars replayed as MetaTrader 4's ``USDJPY60.csv`` and as a broker's
``USDJPY.m_H1_….csv`` give the same trades."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp

from hostapp.brokers.paper import DEFAULT_SYMBOLS, PaperBroker
from hostapp.brokers.paper_rules import currency_pair, known_rules, listed_name
from hostapp.market.synthetic import generate_bars
from hostapp.symbol_rules import guessed_rules_note, symbol_infos

YEN = generate_bars("USDJPY", datetime(2024, 3, 4, tzinfo=UTC), 600, timeframe="H1", seed=5)


@pytest.mark.parametrize(
    ("symbol", "listed", "pair"),
    [
        ("USDJPY", "USDJPY", ("USD", "JPY")),
        ("USDJPY.m", "USDJPY", ("USD", "JPY")),
        ("EURUSDm", "EURUSD", ("EUR", "USD")),
        ("XAUUSD.pro", "XAUUSD", ("XAU", "USD")),
        ("EURUSD-ecn", "EURUSD", ("EUR", "USD")),
        ("GBPJPY_i", "GBPJPY", ("GBP", "JPY")),
        ("EURUSD.raw", "EURUSD", ("EUR", "USD")),
        ("XAUUSDc", "XAUUSD", ("XAU", "USD")),
        ("BTCUSD.m", "BTCUSD", None),  # a known symbol, not a pair of currencies
        ("BTCUSDT", "BTCUSDT", None),  # an upper-case letter is part of the name
        ("EURUSDT", "EURUSDT", None),
        ("US30.cash", "US30.cash", None),
        ("usdjpy", "usdjpy", None),
    ],
)
def test_the_symbol_a_brokers_name_stands_for(
    symbol: str, listed: str, pair: tuple[str, str] | None
) -> None:
    assert listed_name(symbol) == listed
    assert currency_pair(symbol) == pair


def test_a_suffixed_name_gets_the_rules_of_its_symbol_under_its_own_name() -> None:
    infos = symbol_infos({"USDJPY": YEN, "USDJPY.m": YEN, "EURUSDm": YEN, "XAUUSD.pro": YEN})
    assert infos["USDJPY"] == DEFAULT_SYMBOLS["USDJPY"]
    assert infos["USDJPY.m"].contract_size == 100_000 and infos["USDJPY.m"].digits == 3
    assert infos["USDJPY.m"].name == "USDJPY.m"
    assert known_rules("EURUSDm") == infos["EURUSDm"]
    assert infos["EURUSDm"].point == DEFAULT_SYMBOLS["EURUSD"].point
    assert infos["XAUUSD.pro"].contract_size == 100  # gold's, not guessed from yen prices
    assert known_rules("BTCUSDT") is None and known_rules("GBPJPY.m") is None


def test_a_suffixed_jpy_pair_turns_its_profit_into_dollars_as_usdjpy_does() -> None:
    broker = PaperBroker(symbols=symbol_infos({"USDJPY": YEN, "USDJPY.m": YEN}))
    plain = broker.calc_profit("USDJPY", "buy", 1.0, 150.0, 151.0)
    assert plain == round(100_000 * 1.0 / 151.0, 2)
    assert broker.calc_profit("USDJPY.m", "buy", 1.0, 150.0, 151.0) == plain


def test_the_note_says_which_rules_a_suffixed_name_trades_on() -> None:
    symbols = ["USDJPY", "USDJPY.m", "GBPJPY.m"]
    broker = PaperBroker(symbols=symbol_infos(dict.fromkeys(symbols, YEN)))
    note = guessed_rules_note(broker, symbols)
    assert note is not None
    assert note.startswith(
        "the paper broker trades a broker's name for a symbol it knows on that symbol's "
        "rules: USDJPY.m as USDJPY (3 digits, a lot of 100,000 units); the paper broker "
        "does not know GBPJPY.m and guessed"
    )
    # its yen turned into dollars at the run's USDJPY (the first of the two)
    assert "GBPJPY.m's (JPY) at USDJPY's" in note and "counted as" not in note
    assert "USDJPY.m's profits" not in note  # turned into dollars, as USDJPY's
    assert guessed_rules_note(broker, ["USDJPY"]) is None


def mt4_lines() -> str:
    return "".join(
        f"{b.time:%Y.%m.%d,%H:%M},{b.open:.3f},{b.high:.3f},{b.low:.3f},{b.close:.3f},7\n"
        for b in YEN
    )


def test_the_same_bars_as_usdjpy60_and_as_a_brokers_usdjpy_m_trade_alike(tmp_path: Path) -> None:
    results = {}
    for i, name in enumerate(("USDJPY60.csv", "USDJPY.m_H1_202403040000_202403291500.csv")):
        (tmp_path / name).write_text(mt4_lines())
        proc = hostapp(tmp_path, "replay", name, "--json", "--report", f"report{i}")
        assert proc.returncode == 0, proc.stderr[-2000:]
        results[name] = json.loads(proc.stdout)
    mt4, broker = results.values()
    assert mt4["symbols"] == ["USDJPY"] and broker["symbols"] == ["USDJPY.m"]
    assert mt4["trades"] > 0
    assert (broker["trades"], broker["end_balance"]) == (mt4["trades"], mt4["end_balance"])
    assert not any("does not know" in n for n in broker["host_notes"])
