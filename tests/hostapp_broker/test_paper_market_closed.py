"""A symbol's market closed while another symbol trades refuses orders, stop moves and
closes (``market_closed``), as a broker does: a run of symbols with other hours (an
index's daily break beside FX, FX beside bitcoin at the weekend) moves the clock on with
the others' bars, and the paper broker took a stop move on the closed symbol at its last
price before the close (hostapp/brokers/paper_orders.py, ``_quoted``). On the paper
account file too, where another process (``dtms serve``) trades the same account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hookspecs import Bar, OrderRequest, ResultCode
from hostapp.brokers.paper import PaperBroker, PaperSettings

T0 = datetime(2024, 1, 2, 20, 0, tzinfo=UTC)
M5 = timedelta(minutes=5)


def bar(t: datetime, price: float) -> Bar:
    return Bar(t, price, price + 1.0, price - 1.0, price, 100.0, 0.3)


@pytest.mark.parametrize("on_file", [False, True])
def test_a_closed_market_refuses_while_another_trades_and_takes_again_at_its_open(
    tmp_path: Path, on_file: bool
) -> None:
    settings = PaperSettings(account_file=str(tmp_path / "account.sqlite")) if on_file else None
    broker = PaperBroker(settings=settings) if settings else PaperBroker()
    broker.on_bar("XAUUSD", bar(T0, 2000.0))
    broker.on_bar("EURUSD", Bar(T0, 1.1, 1.101, 1.099, 1.1, 100.0, 0.0001))
    opened = broker.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1990.0))
    assert opened.ok and opened.new_ticket is not None, opened
    ticket = opened.new_ticket

    assert broker.modify_sl_tp(ticket, 1992.0, None).ok
    # a step with a bar of EURUSD and none of XAUUSD (the host feeds every symbol's bar
    # of a step before any plugin acts): XAUUSD's market is closed
    broker.on_bar("EURUSD", Bar(T0 + M5, 1.1, 1.101, 1.099, 1.1, 100.0, 0.0001))
    for refused in (
        broker.modify_sl_tp(ticket, 1995.0, None),
        broker.close(ticket),
        broker.close(ticket, 0.05),
        broker.hedge(ticket, 0.1),
        broker.open(OrderRequest("XAUUSD", "sell", 0.1)),
    ):
        assert not refused.ok and refused.code is ResultCode.MARKET_CLOSED, refused
        assert "the market of XAUUSD is closed" in refused.message
    assert broker.position(ticket) is not None
    assert broker.position(ticket).stop_loss == 1992.0  # type: ignore[union-attr]
    assert broker.open(OrderRequest("EURUSD", "buy", 0.1)).ok  # the open market trades

    broker.on_bar("EURUSD", Bar(T0 + 2 * M5, 1.1, 1.101, 1.099, 1.1, 100.0, 0.0001))
    broker.on_bar("XAUUSD", bar(T0 + 2 * M5, 2001.0))  # its market opens again
    assert broker.modify_sl_tp(ticket, 1995.0, None).ok
    assert broker.close(ticket).ok


@pytest.mark.parametrize("on_file", [False, True])
def test_a_close_heard_in_a_step_finds_every_symbol_priced_at_that_step(
    tmp_path: Path, on_file: bool
) -> None:
    """The host fed a step's bars symbol by symbol, telling the plugins of each symbol's
    closes before feeding the next: a plugin closing its EURUSD position when its XAUUSD
    stop was hit found EURUSD a period behind, its market closed (or, before that rule,
    closed it at the previous bar's price). Every bar of the step now comes first."""
    import asyncio

    from hookspecs import hookimpl
    from hostapp.app import build_sim_app
    from hostapp.config import config_from_dict
    from hostapp.testing import bars_from_closes

    answers: list[tuple[bool, str, float | None]] = []

    class Pair:
        """Opens gold and euro at the first cycle; closes the euro when gold stops out."""

        def __init__(self) -> None:
            self.euro: int | None = None

        @hookimpl
        def on_cycle(self, host: object) -> None:
            broker = host.broker  # type: ignore[attr-defined]
            if self.euro is None:
                assert broker.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1990.0)).ok
                self.euro = broker.open(OrderRequest("EURUSD", "buy", 0.1)).new_ticket

        @hookimpl
        def on_trade_closed(self, host: object, trade: object, reason: str) -> None:
            if getattr(trade, "symbol", "") == "XAUUSD" and self.euro is not None:
                broker = host.broker  # type: ignore[attr-defined]
                done = broker.close(self.euro)
                closed = [t for t in broker.closed_trades() if t.ticket == self.euro]
                answers.append((done.ok, done.message, closed[0].close_price if closed else None))

    paper = {"account_file": str(tmp_path / "account.sqlite")} if on_file else {}
    config = config_from_dict(
        {"host": {"symbols": ["XAUUSD", "EURUSD"], "paper": paper}},
        path=tmp_path / "plugins.toml",
    )
    app = build_sim_app(
        config,
        {
            "XAUUSD": bars_from_closes([2000.0, 2000.0, 2000.0, 1980.0]),
            "EURUSD": bars_from_closes([1.1, 1.1, 1.1, 1.12]),
        },
        base_timeframe="M5",
        shared_account=on_file,
        builtins={"pair": Pair()},
        entry_points=[],
        env={},
    )
    asyncio.run(app.loop.run_replay(app.feed))
    assert len(answers) == 1
    ok, message, price = answers[0]
    assert ok, message
    assert price == 1.12  # the step's EURUSD bid, not the bar before's


def test_another_process_never_finds_half_a_step_fed(tmp_path: Path) -> None:
    """``dtms serve`` trades the account file beside the host that feeds it: a close it
    sent between the host's writes of two symbols' bars of one step found the symbol
    not yet fed a period behind, its market closed. The host's step is one write: the
    close waits for it (a thread stands in for the other process's timing)."""
    import threading

    file = str(tmp_path / "account.sqlite")
    host = PaperBroker(settings=PaperSettings(account_file=file))
    other = PaperBroker(settings=PaperSettings(account_file=file))
    with host.step():
        host.on_bar("XAUUSD", bar(T0, 2000.0))
        host.on_bar("EURUSD", Bar(T0, 1.1, 1.101, 1.099, 1.1, 100.0, 0.0001))
    ticket = other.open(OrderRequest("EURUSD", "buy", 0.1)).new_ticket
    assert ticket is not None
    answers: list[object] = []
    with host.step():
        host.on_bar("XAUUSD", bar(T0 + M5, 2001.0))
        closing = threading.Thread(target=lambda: answers.append(other.close(ticket)))
        closing.start()
        closing.join(0.5)  # it waits for the step's write to end
        assert answers == []
        host.on_bar("EURUSD", Bar(T0 + M5, 1.1, 1.101, 1.099, 1.1, 100.0, 0.0001))
    closing.join(30)
    (done,) = answers
    assert done.ok, done  # type: ignore[attr-defined]
