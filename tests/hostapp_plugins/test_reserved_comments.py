"""An order a plugin proposes may not carry a comment the host keeps for the positions of
hedges and re-adds (docs/plugins.md, "Reserved comments"). A probe's strategy gave its
entries ``DTMS_HEDGE_<ticket>``: the reports added each to that other trade, so trades.csv
had 20 rows ``close_reason=open`` for positions that closed, and the counts did not add up
(41 opened, 21 closed, 0 open at the end)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from hookspecs import Action, ActionKind, HostView, OrderRequest, Trade, hookimpl
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.driving import drive, run_results
from hostapp.outcomes import outcomes
from hostapp.testing import bars_from_closes


class Mimic:
    """Buys every 5th bar (not near the end); each entry after the first is commented as a
    hedge of the first."""

    def __init__(self) -> None:
        self.first: int | None = None

    @hookimpl
    def propose_orders(self, bars: tuple[Any, ...], symbol: str) -> list[OrderRequest]:
        if len(bars) % 5 or len(bars) > 70:  # the last ones closed before the end
            return []
        comment = "" if self.first is None else f"DTMS_HEDGE_{self.first}"
        return [OrderRequest(symbol, "buy", 0.1, stop_loss=1900.0, comment=comment)]

    @hookimpl
    def on_trade_executed(self, trade: Trade) -> None:
        if self.first is None:
            self.first = trade.ticket


class Closer:
    """Closes each position after 2 cycles, as a trade manager would."""

    def __init__(self) -> None:
        self.ages: dict[int, int] = {}

    @hookimpl
    async def manage_positions(self, host: HostView) -> None:
        for p in host.broker.positions():
            age = self.ages[p.ticket] = self.ages.get(p.ticket, 0) + 1
            if age == 2:
                await host.execute(Action(p.ticket, ActionKind.CLOSE, {}, key=f"close {p.ticket}"))


async def test_a_reserved_comment_is_cleared_and_the_reports_add_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    config = config_from_dict({"host": {"symbols": ["XAUUSD"], "timeframe": "M5"}})
    series = {"XAUUSD": bars_from_closes([2000.0 + (i % 7) for i in range(80)])}
    app = build_sim_app(
        config, series, base_timeframe="M5", entry_points=[], env={},
        builtins={"mimic": Mimic(), "closer": Closer()},
    )  # fmt: skip
    stats = await drive(app, progress=None)
    summary, trades = run_results(app, stats, {})
    opened = summary["trades"]
    assert opened >= 10
    # every entry is a trade of its own, closed as such: the counts agree
    assert len(trades) == opened
    assert [t.close_reason for t in trades if t.close_reason == "open"] == []
    assert summary["closed_trades"] + summary["open_at_end"] == opened
    assert summary["open_at_end"] == 0
    # the positions carry no reserved comment
    closed = app.broker.closed_trades()  # type: ignore[attr-defined]
    assert len(closed) == opened
    assert not [t.comment for t in closed if t.comment.startswith("DTMS_")]
    said = [r for r in caplog.records if "comment" in r.getMessage() and "mimic" in r.getMessage()]
    assert len(said) == 1, [r.getMessage() for r in said]  # once per plugin, not per order
    assert said[0].levelno == logging.WARNING
    assert "plugin mimic" in said[0].getMessage()
    assert "'DTMS_HEDGE_" in said[0].getMessage()


T0 = datetime(2024, 1, 2, tzinfo=UTC)


def _trade(ticket: int, comment: str, minutes: int) -> Trade:
    return Trade(
        ticket=ticket, symbol="XAUUSD", direction="buy", volume=0.1, entry_price=2000.0,
        opened_at=T0, stop_loss=1990.0, take_profit=None, comment=comment, close_price=2010.0,
        closed_at=T0.replace(minute=minutes), profit=100.0,
    )  # fmt: skip


def test_an_entry_is_its_own_trade_whatever_its_comment_says() -> None:
    """A position the run opened as a strategy's entry is a trade of its own even when its
    comment names another (one set around the host: an older run's, another program's);
    a hedge, not an entry, is still added to the trade it names."""
    first, spoofed, hedge = (
        _trade(1, "", 10),
        _trade(2, "DTMS_HEDGE_1", 20),
        _trade(3, "DTMS_HEDGE_1", 30),
    )
    entries = [(T0, first, "s"), (T0, spoofed, "s")]
    closes = [(t.closed_at, t, "action") for t in (first, spoofed, hedge)]
    rows = outcomes(entries, closes, [first, spoofed, hedge])  # type: ignore[arg-type]
    assert [(o.ticket, o.close_reason, o.profit) for o in rows] == [
        (1, "action", 200.0),  # its own and its hedge's
        (2, "action", 100.0),
    ]
