"""The live host on a MetaTrader terminal (the fake one), stopped while a trade is open,
its stop hit at the trade server meanwhile, then started again on the same DTMS store:
DTMS records the loss from the broker's deals (reason, price, profit) and its daily-loss
rail vetoes the first order of the new run (docs/dtms.md §7, §8)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support.fake_mt5 import FakeMT5, FakeSymbol

from dtms_plugin.plugin import DtmsPlugin
from hookspecs import OrderRequest, hookimpl
from hostapp.app import App, build_live_app
from hostapp.config import config_from_dict
from hostapp.driving import drive

OFFSET = 7200  # the trade server's clock, seconds ahead of UTC
ORDER = OrderRequest("XAUUSD", "buy", 0.5, stop_loss=1990.0)


def _rates(fake: FakeMT5, now: datetime, n: int = 400) -> None:
    """Bars dated on the wall clock (the live host's), so none is stale."""
    for code, sec in ((1, 60), (5, 300), (15, 900)):
        last = int(now.timestamp()) // sec * sec  # the forming bar's opening
        rows = []
        for i in range(n, -1, -1):
            p = 2000.0 + (n - i) * 0.01
            rows.append((last - i * sec + OFFSET, p, p + 1.0, p - 1.0, p + 0.5, 100, 30, 0))
        fake.rates[("XAUUSD", code)] = rows


class Trader:
    """Proposes one order at the first cycle; stops the host after ``cycles``."""

    def __init__(self, cycles: int) -> None:
        self.cycles = cycles
        self.seen = 0
        self.proposed = False
        self.opened: list[int] = []
        self.closed: list[tuple[int, str]] = []
        self.changes: list[tuple[int, str, str]] = []
        self.stop: Any = None

    @hookimpl
    def propose_orders(self) -> list[OrderRequest]:
        if self.proposed:
            return []
        self.proposed = True
        return [ORDER]

    @hookimpl
    def on_trade_executed(self, trade: Any) -> None:
        self.opened.append(trade.ticket)

    @hookimpl
    def on_trade_closed(self, trade: Any, reason: str) -> None:
        self.closed.append((trade.ticket, reason))

    @hookimpl
    def on_state_change(self, ticket: int, new: Any, reason: str) -> None:
        self.changes.append((ticket, str(new), reason))

    @hookimpl
    def on_cycle(self) -> None:
        self.seen += 1
        if self.seen >= self.cycles:
            self.stop()


def _app(fake: FakeMT5, trader: Trader, state_dir: Path) -> tuple[App, DtmsPlugin]:
    config = config_from_dict(
        {
            "host": {
                "broker": "mt5",
                "symbols": ["XAUUSD"],
                "cycle_seconds": 0.02,
                "mt5": {"server_utc_offset_minutes": OFFSET // 60},
            },
            # the stop stays where the order put it (no trailing): the loss is known
            "plugin": {
                "dtms": {
                    "strategy": "local",
                    "state_dir": str(state_dir),
                    "trail": {"enabled": False},
                }
            },
        }
    )
    dtms = DtmsPlugin()
    builtins = {"dtms": dtms, "trader": trader}
    app = build_live_app(config, builtins=builtins, entry_points=[], env={}, module=fake)
    trader.stop = app.loop.request_stop
    return app, dtms


async def test_a_stop_hit_while_the_host_was_down_is_the_accounts_loss(tmp_path: Path) -> None:
    fake = FakeMT5(now=datetime.now(UTC))
    fake.add_symbol(FakeSymbol("XAUUSD", bid=2004.0, ask=2004.3, digits=2))
    _rates(fake, fake.now)
    first = Trader(cycles=3)
    app, _ = _app(fake, first, tmp_path / "dtms")
    await asyncio.wait_for(drive(app, progress=None), 60)
    [ticket] = first.opened
    # the host is down: the price falls through the stop, the server closes the trade
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 1989.5, 1989.8
    fake.hit_stop(ticket)
    deal = fake.deals[-1]
    assert deal.profit < -0.02 * 10_000  # more than the daily-loss rail's 2 %
    second = Trader(cycles=3)
    app, dtms = _app(fake, second, tmp_path / "dtms")
    await asyncio.wait_for(drive(app, progress=None), 60)
    strategy = dtms.strategy
    assert strategy is not None
    rec = strategy.records[ticket]  # type: ignore[attr-defined]
    assert (rec.state.value, rec.close_reason) == ("CLOSED", "stop_loss")
    assert (rec.realised_profit, rec.close_price) == (deal.profit, 1990.0)
    # the host never saw it open in this run, so it reports no close; DTMS's state change
    # is what the other plugins hear
    assert second.closed == []
    assert (ticket, "CLOSED", "position closed (stop_loss) while DTMS was not running") in (
        second.changes
    )
    # the rail saw the loss before the run's first entry, which it vetoed
    assert second.opened == [] and not fake.positions
    assert app.loop.stats.orders_proposed == 1
