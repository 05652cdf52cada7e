"""DTMS (the local strategy, the real plugin) on the real MetaTrader broker over the fake
terminal, through a falling market: what its ladder does at the trade server.

The ladder: the falling-gold rig of the DTMS tests (tests/support/dtms_local_rig.py)
with :class:`~hostapp.brokers.mt5.Mt5Broker` as the host's broker, the fake's prices
following the rig's bars. On a hedging account the ladder tightens the stop, closes
half, hedges, then closes the trade with its hedge; on a netting account, where a hedge
would shrink the position, it closes part instead. Its stops are not triggered here (the
rig's fall crosses the tightened stop, which the next test covers).

A stop hit between two cycles: the live host (trading loop, plugins) over a fake
terminal whose server closes a position once the price reaches its stop, as a real one
does, reaches the plugins as ``stop_loss`` with the closing deal's result, also while
the terminal's history trails the close.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.dtms_kit import T0
from support.dtms_local_rig import Rig
from support.fake_mt5 import FakeMT5, FakeSymbol

from hookspecs import ActionKind, DefensiveState, OrderRequest, hookimpl
from hostapp.app import App, build_live_app
from hostapp.brokers.mt5 import Mt5Settings, create_mt5_broker
from hostapp.config import config_from_dict
from hostapp.driving import drive

MAGIC = 777
SPREAD = 0.30


class Mt5Rig(Rig):
    """The rig with the real broker: the terminal quotes the rig's last closed bar."""

    def __init__(self, state_dir: Path, *, hedging: bool, **config: Any) -> None:
        self.fake = FakeMT5(margin_mode=2 if hedging else 0, now=T0)
        self.fake.add_symbol(FakeSymbol("XAUUSD", bid=2000.0, ask=2000.0 + SPREAD, digits=2))
        super().__init__(state_dir, hedging=hedging, **config)

        def sleep(seconds: float) -> None:
            self.fake.advance(seconds)

        self.mt5 = create_mt5_broker(
            Mt5Settings(magic=MAGIC, server_utc_offset_minutes=120),
            module=self.fake,
            clock=lambda: self.fake.now,
            sleep=sleep,
        )
        self.host.broker = self.mt5  # type: ignore[assignment]
        self.first_stop = 0.0

    def _mid(self) -> None:
        super()._mid()
        symbol = self.fake.symbols["XAUUSD"]
        symbol.bid = round(self.broker.mids["XAUUSD"], 2)
        symbol.ask = round(symbol.bid + SPREAD, 2)
        ahead = (self.clock.now() - self.fake.now).total_seconds()
        if ahead > 0:
            self.fake.advance(ahead)

    async def buy(self) -> int:
        """A buy of 1 lot at the ask, its stop 50 below, as the strategy's order opened it."""
        entry = self.fake.symbols["XAUUSD"].ask
        self.first_stop = round(entry - 50.0, 2)
        ticket = self.fake.add_position(
            "XAUUSD", 0, 1.0, entry, sl=self.first_stop, magic=MAGIC, comment="hostapp"
        )
        trade = self.mt5.position(ticket)
        assert trade is not None
        await self.strategy.on_trade_executed(self.host, trade)
        return ticket


async def _ladder(tmp_path: Path, hedging: bool) -> tuple[Mt5Rig, int]:
    rig = Mt5Rig(tmp_path / "dtms", hedging=hedging)
    await rig.start()
    ticket = await rig.buy()
    for _ in range(60):
        await rig.cycles(1)
    await rig.stop()
    return rig, ticket


def _sent(fake: FakeMT5) -> list[tuple[Any, ...]]:
    """The requests the trade server executed, as (what, position or comment, lots)."""
    out = []
    for r in fake.requests:
        if r["action"] == 6:
            out.append(("sltp", r["position"], r["sl"]))
        elif "position" in r:
            out.append(("close", r["position"], r["volume"]))
        else:
            out.append(("open", r["comment"], r["volume"], r["type"]))
    return out


async def test_the_ladder_on_a_hedging_account(tmp_path: Path) -> None:
    rig, ticket = await _ladder(tmp_path, hedging=True)
    assert rig.transitions() == [
        ("HEALTHY", "WARNING_L1"), ("WARNING_L1", "WARNING_L2"), ("WARNING_L2", "HEDGED"),
        ("HEDGED", "CLOSED"),
    ]  # fmt: skip
    hedged = [r.new_ticket for a, r in rig.host.actions if a.kind is ActionKind.HEDGE]
    (sltp, partial, hedge, *closes) = _sent(rig.fake)
    assert sltp[:2] == ("sltp", ticket) and sltp[2] > rig.first_stop  # tightened
    assert partial == ("close", ticket, 0.5)
    assert hedge == ("open", f"DTMS_HEDGE_{ticket}", 0.25, 1)  # a sell of half the rest
    assert closes == [("close", hedged[0], 0.25), ("close", ticket, 0.5)]
    assert rig.fake.positions == {}  # the trade closed with its hedge
    assert all(r.ok for _, r in rig.host.actions)


async def test_the_ladder_on_a_netting_account_closes_part_instead_of_hedging(
    tmp_path: Path,
) -> None:
    rig, ticket = await _ladder(tmp_path, hedging=False)
    assert [new for _, new in rig.transitions()] == ["WARNING_L1", "WARNING_L2", "HEDGED", "CLOSED"]
    sent = _sent(rig.fake)
    assert [s[0] for s in sent] == ["sltp", "close", "close", "close"]  # never an open
    assert sent[0][2] > rig.first_stop
    assert [s[1:] for s in sent[1:]] == [(ticket, 0.5), (ticket, 0.25), (ticket, 0.25)]
    assert rig.fake.positions == {}
    assert all(r.ok for _, r in rig.host.actions)


#: the server's UTC offset, in seconds, as [host.mt5] server_utc_offset_minutes says it
OFFSET = 7200


def _rates(fake: FakeMT5, now: datetime, n: int = 400) -> None:
    """M1, M5 and M15 history up to the bar forming at ``now`` (the wall clock: DTMS finds
    older bars stale), rising a cent a bar."""
    for code, seconds in ((1, 60), (5, 300), (15, 900)):
        forming = int(now.timestamp()) // seconds * seconds
        fake.rates[("XAUUSD", code)] = [
            (forming - i * seconds + OFFSET, p, p + 1.0, p - 1.0, p + 0.5, 100, 30, 0)
            for i in range(n, -1, -1)
            for p in [2000.0 + (n - i) * 0.01]
        ]


class Trader:
    """Buys once with a stop at 1990; at cycle ``crash`` the market falls through the stop
    after the plugins' steps (the server closes the position before the next cycle looks);
    stops three cycles after it heard the close, or after ``last``. The fake's clock
    follows the wall's."""

    def __init__(self, fake: FakeMT5, crash: int, last: int) -> None:
        self.fake, self.crash, self.last = fake, crash, last
        self.cycles = 0
        self.ticket = 0
        self.closed: list[tuple[int, str, float, float | None]] = []
        self.heard = 0  # the cycle the close was heard in
        self.stop: Any = None

    @hookimpl
    def propose_orders(self) -> list[OrderRequest]:
        if self.ticket:
            return []
        return [OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1990.0, take_profit=2020.0)]

    @hookimpl
    def on_trade_executed(self, trade: Any) -> None:
        self.ticket = trade.ticket

    @hookimpl
    def on_cycle(self) -> None:
        self.cycles += 1
        self.fake.advance(max((datetime.now(UTC) - self.fake.now).total_seconds(), 0.0))
        if self.cycles >= self.last or (self.closed and self.cycles > self.heard + 2):
            self.stop()

    @hookimpl
    def manage_positions(self) -> None:
        if self.cycles == self.crash:
            s = self.fake.symbols["XAUUSD"]
            s.bid, s.ask = 1989.5, 1989.8  # through the stop: the server fills at 1989.5

    @hookimpl
    def on_trade_closed(self, trade: Any, reason: str) -> None:
        self.closed.append((trade.ticket, reason, trade.profit, trade.close_price))
        self.heard = self.cycles


def _live(fake: FakeMT5, trader: Any, state_dir: Path) -> App:
    from dtms_plugin.plugin import DtmsPlugin

    config = config_from_dict(
        {
            "host": {
                "broker": "mt5",
                "symbols": ["XAUUSD"],
                "cycle_seconds": 0.02,
                "mt5": {"server_utc_offset_minutes": OFFSET // 60, "magic": MAGIC},
            },
            "plugin": {
                "dtms": {"strategy": "local", "state_dir": str(state_dir),
                         "trail": {"enabled": False}},
            },
        }
    )  # fmt: skip
    plugins = {"dtms": DtmsPlugin(), "trader": trader}
    app = build_live_app(config, builtins=plugins, entry_points=[], env={}, module=fake)
    trader.stop = app.loop.request_stop
    return app


@pytest.mark.parametrize("lag", [0.0, 1.5])
async def test_a_stop_hit_between_cycles_reaches_the_plugins_as_a_stop_with_its_deal(
    tmp_path: Path, lag: float
) -> None:
    """With ``lag``, the closing deal reaches the history 0.5 to 1.5 s after the position
    left the list (dozens of cycles): the close is heard once it does, not before as
    ``external`` with the last floating profit and no price."""
    now = datetime.now(UTC)
    fake = FakeMT5(now=now, history_lag=lag, trigger_levels=True)
    fake.add_symbol(FakeSymbol("XAUUSD", bid=2004.0, ask=2004.3, digits=2))
    _rates(fake, now)
    trader = Trader(fake, crash=4, last=500)
    app = _live(fake, trader, tmp_path / "dtms")
    await asyncio.wait_for(drive(app, progress=None), 60)
    deal = fake.deals[-1]
    assert (deal.position_id, deal.reason, deal.price) == (trader.ticket, 4, 1989.5)
    # (1989.5 - 2004.3) × 0.1 × 100
    assert trader.closed == [(trader.ticket, "stop_loss", -148.0, 1989.5)]
    # heard at the next cycle's first look (its on_cycle not counted yet), or once the
    # history shows the deal, cycles later (the deal's time is in whole seconds)
    assert trader.heard > 5 if lag else trader.heard == 4
    assert deal.profit == -148.0 and fake.positions == {}
    if not lag:  # heard before DTMS's step looked: its record has the deal's figures
        record = app.plugins.get("dtms").strategy.records[trader.ticket]
        assert (record.close_reason, record.realised_profit) == ("stop_loss", -148.0)


async def test_one_empty_positions_read_leaves_a_hedged_trade_hedged(tmp_path: Path) -> None:
    """A terminal not yet synchronised answers ``positions_get()`` with nothing for a
    moment. DTMS took its HEDGED trade as gone on that one answer: CLOSED, its hedge
    closed (or, when the terminal said the hedge was not found either, left open and no
    longer tracked), and the trade came back HEALTHY and unhedged when listed again. The
    history shows no close: DTMS holds it, and the next cycle lists it again."""
    rig = Mt5Rig(tmp_path / "dtms", hedging=True)
    await rig.start()
    entry = rig.fake.symbols["XAUUSD"].ask  # opened through the broker: its deal in history
    opened = rig.mt5.open(OrderRequest("XAUUSD", "buy", 1.0, stop_loss=round(entry - 50.0, 2)))
    ticket = opened.new_ticket
    assert opened.ok and ticket is not None
    trade = rig.mt5.position(ticket)
    assert trade is not None
    await rig.strategy.on_trade_executed(rig.host, trade)
    for _ in range(60):
        await rig.cycles(1)
        if rig.strategy.records[ticket].hedge_ticket is not None:
            break
    record = rig.strategy.records[ticket]
    hedge = record.hedge_ticket
    assert record.state is DefensiveState.HEDGED and hedge in rig.fake.positions
    rig.fake.empty_positions_get = 1  # DTMS's read of the cycle
    await rig.cycles(1)
    await rig.cycles(1)  # listed again (the rig's cycles are 5 minutes apart)
    record = rig.strategy.records[ticket]
    assert (record.state, record.hedge_ticket) == (DefensiveState.HEDGED, hedge)
    assert {ticket, hedge} <= set(rig.fake.positions)
    assert ("HEDGED", "CLOSED") not in rig.transitions()
    await rig.stop()
