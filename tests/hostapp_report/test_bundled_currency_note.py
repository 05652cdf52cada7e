"""Where the run has no symbol to turn a profit into the account's currency with, the
paper broker counts it as the account's, and the run says so for every symbol, the
bundled ones too: XAUUSD's dollars on a euro account, EURUSD's euros
on a yen account (a stop-out of 0.43 lots booked −99.03 "yen", really −109.22 dollars)
were counted with no word, while a guessed symbol's were said."""

from __future__ import annotations

import json
from pathlib import Path

from hostapp_cli_errors.test_run_replay_errors import hostapp
from hostapp_report.test_guessed_rules_note import BARS, scaled

from hostapp.brokers.paper import PaperBroker
from hostapp.brokers.paper_rules import PaperSettings
from hostapp.symbol_rules import guessed_rules_note, symbol_infos

ROOT = Path(__file__).resolve().parents[2]


def note_on(currency: str, *symbols: str) -> str | None:
    broker = PaperBroker(
        symbols=symbol_infos(dict.fromkeys(symbols, BARS)),
        settings=PaperSettings(currency=currency),
    )
    return guessed_rules_note(broker, list(symbols))


def test_every_bundled_symbol_booked_in_another_currency_is_said() -> None:
    note = note_on("EUR", "XAUUSD", "USDJPY", "BTCUSD")
    assert note is not None
    assert "XAUUSD's profits are in USD, counted as EUR" in note
    assert "USDJPY's profits are in JPY, turned into USD at its price and counted as EUR" in note
    assert "BTCUSD's profits are in USD, counted as EUR" in note
    assert "daily_loss_pct" in note and "count that money as EUR" in note
    jpy = note_on("JPY", "EURUSD", "GBPUSD") or ""
    assert "EURUSD's profits are in USD, turned into EUR at its price and counted as JPY" in jpy
    assert "GBPUSD's profits are in USD, turned into GBP at its price and counted as JPY" in jpy
    assert note_on("USD", "XAUUSD", "EURUSD", "USDJPY", "BTCUSD") is None
    # with a symbol of the two currencies among the run's, they are turned at its price
    turned = note_on("EUR", "XAUUSD", "BTCUSD", "EURUSD") or ""
    assert "XAUUSD's (USD) at EURUSD's, BTCUSD's (USD) at EURUSD's" in turned
    assert "counted as" not in turned and "EURUSD's (USD)" not in turned


def test_a_replay_on_a_euro_account_says_it_once(tmp_path: Path) -> None:
    shipped = (ROOT / "plugins.toml").read_text()
    (tmp_path / "plugins.toml").write_text(
        shipped.replace("[host.paper]\n", '[host.paper]\ncurrency = "EUR"\n', 1)
    )
    (tmp_path / "XAUUSD.csv").write_text("time,open,high,low,close\n" + "\n".join(scaled(2000, 2)))
    proc = hostapp(tmp_path, "replay", "XAUUSD.csv", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    notes = json.loads(proc.stdout)["host_notes"]
    assert [n for n in notes if "XAUUSD's profits are in USD, counted as EUR" in n] == [
        n for n in notes if "profits are in" in n
    ]
    assert len([n for n in notes if "profits are in" in n]) == 1
