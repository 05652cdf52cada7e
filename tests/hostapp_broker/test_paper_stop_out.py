"""A paper account whose equity reaches zero at a bar's close is stopped out: every
position closes at its quote, and the run's summary says the account was wiped out. It
held its losing positions on before, its balance sank below zero (−72.13 at the end of a
long EURUSD replay) and the max drawdown % read 100.69 % with nothing said."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hostapp_loop.csvfiles import write_bars_csv
from hostapp_loop.replay_cli import replay

from hookspecs import Bar, OrderRequest, ResultCode
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.market.synthetic import generate_bars

T0 = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)
M5 = timedelta(minutes=5)


def bar(t: datetime, close: float) -> Bar:
    return Bar(t, close, close + 0.2, close - 0.2, close, 100.0, 0.3)


def test_equity_at_zero_stops_out_every_position_at_its_quote() -> None:
    """1,000 on the account, 0.5 lots of gold bought and 0.1 lots of EURUSD: gold falling
    20 dollars loses 1,000 and more. That bar closes both, the EURUSD one at its own
    quote; the next order is refused for want of money."""
    b = PaperBroker(settings=PaperSettings(balance=1000.0))
    b.set_quote("XAUUSD", 2000.0, 2000.3, T0)
    b.set_quote("EURUSD", 1.1000, 1.1001, T0)
    gold = b.open(OrderRequest("XAUUSD", "buy", 0.5, stop_loss=1900.0)).new_ticket
    euro = b.open(OrderRequest("EURUSD", "sell", 0.1)).new_ticket
    assert b.on_bar("XAUUSD", bar(T0, 1990.0)) == []  # −515 floating: equity 485, held
    assert b.stop_out.note is None
    closed = b.on_bar("XAUUSD", bar(T0 + M5, 1979.0))  # −1,065 and −1: equity −66
    assert [(t.ticket, why) for t, why in closed] == [(gold, "external"), (euro, "external")]
    assert b.positions() == []
    (xau, eur) = sorted(closed, key=lambda c: c[0].symbol != "XAUUSD")
    assert xau[0].close_price == 1979.0 and eur[0].close_price == 1.1001  # sell: at the ask
    assert [d.reason for d in b.history()] == ["stop_out", "stop_out"]
    assert b.account().balance == round(1000.0 + xau[0].profit + eur[0].profit, 2) <= 0
    refused = b.open(OrderRequest("XAUUSD", "buy", 0.01))
    assert refused.code == ResultCode.NO_MONEY
    note = b.stop_out.note
    assert note is not None and note.startswith(
        "the paper account was wiped out: its equity was -66.00 at the close of the bar "
        "ending 2024-01-02 10:10 UTC, and the paper broker stopped out 2 positions"
    )
    assert b.run_notes == [note]
    assert b.on_bar("XAUUSD", bar(T0 + 2 * M5, 1979.0)) == []  # nothing left to stop out


def test_a_replay_that_wipes_the_account_out_says_so(tmp_path: Path) -> None:
    """3 lots of gold a trade on 2,000: the run's summary says when the account was
    wiped out, and the closes the stop-out made reached the loop as ``external``."""
    start = datetime(2024, 3, 4, tzinfo=UTC)
    write_bars_csv(tmp_path / "XAUUSD.csv", generate_bars("XAUUSD", start, 3000, seed=3))
    (tmp_path / "plugins.toml").write_text(
        '[host.paper]\nbalance = 2000\n[plugins]\ndisabled = ["dtms", "exits"]\n'
        '[plugin.sma_strategy]\nsizing = "fixed"\nvolume = 3\n'
    )
    proc = replay(tmp_path, "XAUUSD.csv", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    (note,) = [n for n in summary["host_notes"] if "wiped out" in n]
    assert note.startswith("the paper account was wiped out: its equity was -")
    assert "note: the paper account was wiped out" in proc.stdout
    assert summary["end_balance"] <= 0 and summary["positions_open_at_end"] == 0
    assert summary["closes_by_reason"].get("external", 0) >= 1


def test_an_account_file_wiped_out_by_an_earlier_run_says_so(tmp_path: Path) -> None:
    """A live run on an account file an earlier run emptied heard that the account was
    wiped out "at the close of the bar ending" its own first bar, as if it had lost it."""
    account = str(tmp_path / "paper.sqlite")
    first = PaperBroker(settings=PaperSettings(balance=1000.0, account_file=account))
    first.set_quote("XAUUSD", 2000.0, 2000.3, T0)
    first.open(OrderRequest("XAUUSD", "buy", 0.5))
    first.on_bar("XAUUSD", bar(T0, 1979.0))  # −1,065: wiped out in this run
    assert (first.stop_out.note or "").startswith("the paper account was wiped out: its equity")
    balance = first.account().balance
    first.release()
    assert balance <= 0
    later = PaperBroker(settings=PaperSettings(balance=1000.0, account_file=account))
    assert later.on_bar("XAUUSD", bar(T0 + 10 * M5, 1985.0)) == []
    assert later.run_notes == [
        "the paper account was already wiped out when the run began: its balance was "
        f"{balance:,.2f} (an earlier run on its account file); every order was refused for "
        "want of money: give the run another [host.paper] account_file, or delete this one "
        "to start afresh"
    ]
    later.release()
