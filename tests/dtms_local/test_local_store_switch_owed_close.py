"""A trade DTMS decided to close, whose close is owed (the broker refused it: the freeze
level), switched to an empty store while its position and hedge are still open: the
account's ledger keeps its record, and the run on the other store takes it up CLOSED and
closes both (docs/dtms.md §8, docs/scaling.md "Switching the store").

Before: the ledger kept only records not CLOSED, so the run on the empty Redis store had
none of this trade; it adopted the position afresh, its decision to close lost, and both
it and its hedge stayed open. Real parts: the local engine, a paper account file that
keeps the positions and the deals across the runs (its symbol's freeze level the only
difference between them), a diskcache store in ``tmp_path`` and a real redis-server."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from support.hedged_paper import PaperMarket, open_buy
from support.redis_server import RedisServer

from dtms_plugin.account_ledger import read_ledger
from dtms_plugin.local import LocalStrategy
from dtms_plugin.settings import load_settings
from hookspecs import ActionKind, DefensiveState
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.brokers.paper_rules import DEFAULT_SYMBOLS
from hostapp.host import Host
from hostapp.testing import make_host


class Run:
    """One host's run of the local engine on the account file, with ``store``; ``frozen``:
    the broker refuses to close a position with a stop (a freeze level wider than any
    distance to it), as MetaTrader does near a stop."""

    def __init__(self, market: PaperMarket, folder: Path, store: str = "", frozen: bool = False):
        symbols = dict(DEFAULT_SYMBOLS)
        if frozen:
            symbols["XAUUSD"] = dataclasses.replace(symbols["XAUUSD"], freeze_level=1e6)
        settings = PaperSettings(account_file=str(market.account))
        self.broker = PaperBroker(clock=market.now, settings=settings, symbols=symbols)
        self.broker.on_bar("XAUUSD", market.bars("XAUUSD", "M5", 1)[-1])
        self.market = market
        conf = {"state_dir": str(folder), "store": store, "trail": {"enabled": False}}
        self.strategy = LocalStrategy(load_settings(conf))
        self.host: Host = make_host(self.broker, market, market, mode="live")

    async def start(self) -> Run:
        await self.strategy.startup(self.host)
        return self

    async def until(self, ticket: int, state: DefensiveState, most: int = 400) -> None:
        for _ in range(most):
            if self.strategy.records[ticket].state is state:
                return
            await self.cycles(1)
        raise AssertionError(f"never {state}: {self.strategy.records[ticket]}")

    async def cycles(self, n: int) -> None:
        for _ in range(n):
            await self.strategy.on_cycle(self.host, self.market.step(self.broker))

    async def stop(self) -> None:
        await self.strategy.shutdown(self.host)
        self.broker.release()


def closes(broker: PaperBroker, ticket: int) -> list[float]:
    """The volumes of the account's closing deals of ``ticket``."""
    return [t.volume for t in broker.closed_trades() if t.ticket == ticket]


@pytest.mark.parametrize("by_hand", [False, True])
async def test_a_trade_whose_close_is_owed_is_closed_after_a_switch_not_adopted(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture, by_hand: bool
) -> None:
    """``by_hand``: the trade's position closed by hand meanwhile, its hedge left open:
    the record is taken up by its hedge's ticket, and the hedge closed."""
    market = PaperMarket(tmp_path / "account.db")
    first = await Run(market, tmp_path / "dtms").start()
    buy = open_buy(first.broker)
    await first.strategy.on_trade_executed(first.host, buy)
    await first.until(buy.ticket, DefensiveState.HEDGED)
    hedge = first.strategy.records[buy.ticket].hedge_ticket
    assert hedge is not None and closes(first.broker, buy.ticket) == [0.05]
    await first.stop()

    frozen = await Run(market, tmp_path / "dtms", frozen=True).start()
    await frozen.until(buy.ticket, DefensiveState.CLOSED)  # the flat deadline
    rec = frozen.strategy.records[buy.ticket]
    assert ActionKind.CLOSE in rec.owed and rec.closing
    assert {p.ticket for p in frozen.broker.positions()} == {buy.ticket, hedge}
    identity = frozen.broker.account().identity
    await frozen.stop()
    ledger = read_ledger(tmp_path / "account.db.dtms-ledger.json", identity)
    assert set(ledger) == {buy.ticket}  # before: {} (only records not CLOSED were kept)
    if by_hand:
        hand = Run(market, tmp_path / "hand").broker
        assert hand.close(buy.ticket).ok
        hand.release()

    caplog.set_level(logging.WARNING, logger="dtms_plugin")
    on_redis = await Run(market, tmp_path / "dtms", redis_server.url()).start()
    said = [r.getMessage() for r in caplog.records]
    assert [s for s in said if f"done again: {buy.ticket} CLOSED with hedge {hedge}" in s]
    assert not [s for s in said if "adopted 1" in s]
    await on_redis.cycles(3)
    assert on_redis.broker.positions() == []  # before: both open, the trade adopted afresh
    assert closes(on_redis.broker, buy.ticket) == [0.05, 0.05]  # no second partial close
    assert len(closes(on_redis.broker, hedge)) == 1
    rec = on_redis.strategy.records[buy.ticket]
    assert rec.state is DefensiveState.CLOSED and not rec.active
    assert read_ledger(tmp_path / "account.db.dtms-ledger.json", identity) == {}  # done: left
    await on_redis.stop()
