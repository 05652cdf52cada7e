"""A store lost while a trade is HEDGED (docs/dtms.md §8, adoption): the trade is adopted
back HEDGED with its open hedge, and the hedge is not adopted as a trade of its own.

Adopted HEALTHY beside a hedge it no longer knew, the trade walked the ladder again on a
paper account: a second stop tightening, a second partial close, a second hedge, and at
its close the first hedge was left open, closed by nobody. Real parts: the local engine,
a paper account file that keeps the positions across the restart, a diskcache store in
``tmp_path`` that is deleted, emptied or garbled between the two processes."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest
from support.hedged_paper import PaperMarket, local_strategy, walk_to_hedged

from dtms_plugin.local import LocalStrategy
from hookspecs import DefensiveState, Trade
from hostapp.brokers.paper import PaperBroker
from hostapp.host import Host
from hostapp.testing import make_host


def _lose(directory: Path, damage: str) -> None:
    """The store of a process that died, then lost as ``damage`` says, and the account's
    ledger with it (an account traded before ledgers were kept, a MetaTrader terminal on
    another machine: dtms_plugin/account_ledger.py): all adoption has is the hedge's
    comment. With the ledger, tests/dtms_local/test_local_store_switch_ladder.py."""
    for ledger in directory.parent.glob("*.dtms-ledger.json"):
        ledger.unlink()
    if damage == "missing":
        shutil.rmtree(directory)
        return
    for extra in directory.glob("cache.db-*"):
        extra.unlink()
    db = directory / "cache.db"
    db.write_bytes(b"" if damage == "empty" else os.urandom(64 * 1024))


async def _hedged_then_lost(
    tmp_path: Path, damage: str
) -> tuple[PaperMarket, Trade, Trade, PaperBroker]:
    """A host hedged a buy; it died, its store was lost: the account file as it left it,
    opened again."""
    market = PaperMarket(tmp_path / "account.db")
    broker = market.broker()
    strategy = local_strategy(tmp_path / "dtms")
    host = make_host(broker, market, market, mode="live")
    await strategy.startup(host)
    parent, hedge = await walk_to_hedged(market, broker, strategy, host)
    strategy.store.close()  # killed: no shutdown
    broker.release()
    _lose(tmp_path / "dtms", damage)
    return market, parent, hedge, market.broker()


async def _restart(tmp_path: Path, market: PaperMarket, broker: PaperBroker) -> tuple[
    LocalStrategy, Host
]:  # fmt: skip
    strategy = local_strategy(tmp_path / "dtms")
    host = make_host(broker, market, market, mode="live")
    await strategy.startup(host)
    return strategy, host


@pytest.mark.parametrize("damage", ["missing", "empty", "garbled"])
async def test_a_hedged_trade_is_adopted_hedged_with_its_hedge(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    market, parent, hedge, broker = await _hedged_then_lost(tmp_path, damage)
    caplog.set_level(logging.WARNING, logger="dtms_plugin")
    strategy, host = await _restart(tmp_path, market, broker)

    assert set(strategy.records) == {parent.ticket}  # the hedge is no trade of its own
    rec = strategy.records[parent.ticket]
    assert rec.state is DefensiveState.HEDGED
    assert (rec.hedge_ticket, rec.hedge_volume) == (hedge.ticket, hedge.volume)
    assert rec.volume == parent.volume and rec.owed == ()
    assert strategy.is_defensive(host, parent.ticket)  # the exit manager leaves it alone
    assert strategy.store.get_state(parent.ticket) == ("HEDGED", market.now())
    assert strategy.store.get_record(hedge.ticket) is None
    [line] = [r.getMessage() for r in caplog.records if "managed from now on" in r.getMessage()]
    assert f"tickets {parent.ticket};" in line
    assert f"adopted HEDGED with their open hedges (a new flat deadline of 15 bars from " \
        f"now): {parent.ticket} with hedge {hedge.ticket}" in line  # fmt: skip

    for _ in range(20):  # falling on: the flat deadline (15 bars) closes all
        await strategy.on_cycle(host, market.step(broker))
    kinds = [a["kind"] for a in strategy.store.actions(parent.ticket) if a["type"] == "action"]
    assert kinds == ["close"]  # no second tightening, partial close or hedge
    assert strategy.store.actions(hedge.ticket) == []
    assert strategy.records[parent.ticket].state is DefensiveState.CLOSED
    assert broker.positions() == []  # the hedge closed with its trade, not left behind
    await strategy.shutdown(host)
    broker.release()


async def test_a_hedge_whose_trade_is_gone_is_left_alone_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    market, parent, hedge, broker = await _hedged_then_lost(tmp_path, "missing")
    assert broker.close(parent.ticket).ok  # by hand, while the host was down
    caplog.set_level(logging.WARNING, logger="dtms_plugin")
    strategy, host = await _restart(tmp_path, market, broker)

    assert strategy.records == {}
    assert [p.ticket for p in broker.positions()] == [hedge.ticket]
    said = [r.getMessage() for r in caplog.records if "left alone" in r.getMessage()]
    assert said == [
        f"DTMS: 1 open hedges of no open trade of ours left alone, unmanaged (close them "
        f"if they are not wanted): {hedge.ticket} (DTMS_HEDGE_{parent.ticket})"
    ]
    await strategy.shutdown(host)
    broker.release()
