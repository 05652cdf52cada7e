"""A live host on the fake terminal, driven cycle by cycle at chosen times, for the tests
of a position the server re-opens under a new ticket while DTMS defends it.

Times are the wall clock's of half an hour ago and on (the live host's clock is the wall
clock, which the DTMS plugin reads too), so a minute of the run passes without waiting
for it. The terminal's bars rise a cent a bar; ``lift`` raises the bars from a time on,
so that a new bar's high moves DTMS's trailing stop (docs/dtms.md §6) up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from support.fake_mt5 import FakeMT5, FakeSymbol

from dtms_plugin.plugin import DtmsPlugin
from hookspecs import Bar, OrderRequest, hookimpl
from hostapp.app import App, build_live_app
from hostapp.config import config_from_dict

OFFSET = 7200  # the trade server's clock, seconds ahead of UTC
MAGIC = 777
M5 = 300


def start_time() -> datetime:
    """Ten seconds into an M5 bar that opened at least half an hour ago."""
    now = int(datetime.now(UTC).timestamp()) // M5 * M5 - 6 * M5
    return datetime.fromtimestamp(now + 10, UTC)


def rates(fake: FakeMT5, now: datetime, lift: tuple[datetime, float] | None = None) -> None:
    """M1, M5 and M15 history up to the bar forming at ``now``, rising a cent a bar;
    ``lift``: the bars opening from that time on, that much higher."""
    for code, seconds in ((1, 60), (5, M5), (15, 900)):
        forming = int(now.timestamp()) // seconds * seconds
        rows = []
        for i in range(400, -1, -1):
            opened = forming - i * seconds
            p = 2000.0 + (400 - i) * 0.01
            if lift is not None and opened >= lift[0].timestamp():
                p += lift[1]
            rows.append((opened + OFFSET, p, p + 1.0, p - 1.0, p + 0.5, 100, 30, 0))
        fake.rates[("XAUUSD", code)] = rows


def terminal(at: datetime) -> FakeMT5:
    """A hedging account whose server closes a position once the price reaches its stop."""
    fake = FakeMT5(now=at, trigger_levels=True)
    fake.add_symbol(FakeSymbol("XAUUSD", bid=2004.0, ask=2004.3, digits=2))
    rates(fake, at)
    return fake


def quote(fake: FakeMT5, bid: float) -> None:
    s = fake.symbols["XAUUSD"]
    s.bid, s.ask = bid, round(bid + 0.3, 2)


class Trader:
    """Buys 1 lot with its stop at 1990 once; hears the closes."""

    def __init__(self) -> None:
        self.ticket = 0
        self.closed: list[tuple[int, str, float, float | None]] = []

    @hookimpl
    def propose_orders(self) -> list[OrderRequest]:
        return [] if self.ticket else [OrderRequest("XAUUSD", "buy", 1.0, stop_loss=1990.0)]

    @hookimpl
    def on_trade_executed(self, trade: Any) -> None:
        self.ticket = self.ticket or trade.ticket

    @hookimpl
    def on_trade_closed(self, trade: Any, reason: str) -> None:
        self.closed.append((trade.ticket, reason, trade.profit, trade.close_price))


def live(fake: FakeMT5, trader: Trader, state_dir: Path, **dtms: Any) -> App:
    """The live host on ``fake`` with DTMS (the local strategy unless ``dtms`` says
    otherwise, its trailing stop on) and ``trader``."""
    config = config_from_dict(
        {
            "host": {
                "broker": "mt5",
                "symbols": ["XAUUSD"],
                "mt5": {"server_utc_offset_minutes": OFFSET // 60, "magic": MAGIC},
            },
            "plugin": {"dtms": {"strategy": "local", "state_dir": str(state_dir), **dtms}},
        }
    )
    plugins = {"dtms": DtmsPlugin(), "trader": trader}
    return build_live_app(config, builtins=plugins, entry_points=[], env={}, module=fake)


async def cycle(app: App, fake: FakeMT5, now: datetime, *, propose: bool = False) -> None:
    """One cycle of the live loop at ``now``, the terminal's clock moved there first;
    ``propose``: with the newest closed bar, so the strategy proposes its order."""
    fake.advance(max((now - fake.now).total_seconds(), 0.0))
    bars: dict[str, Bar] = {}
    if propose:
        bars = {"XAUUSD": app.market.bars("XAUUSD", "M5", 1)[-1]}
    await app.loop.cycle(now, bars, propose)


async def stop(app: App) -> None:
    """The end of a run, as :func:`hostapp.driving.drive` ends it."""
    app.loop.end_run()
    app.plugin_reports = app.plugins.run_report(app.host)
    await app.plugins.shutdown(app.host)


def sltp(fake: FakeMT5) -> list[tuple[int, float]]:
    """The stop changes sent: (the ticket they named, the stop)."""
    return [(r["position"], r["sl"]) for r in fake.requests if r["action"] == 6]


def after(at: datetime, seconds: float) -> datetime:
    return at + timedelta(seconds=seconds)
