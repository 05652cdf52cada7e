"""A switch of ``[plugin.dtms] store`` (diskcache folder ↔ Redis), or a state folder lost,
while a trade is open on a paper account file: no defensive action DTMS executed on it
under one store is executed again under the other (docs/scaling.md, "Switching the
store"; the account's ledger, dtms_plugin/account_ledger.py).

Before: the run on the empty Redis store adopted the buy afresh, HEALTHY, with the 0.05
lots its partial close had left, and walked it down the ladder again: a second stop
tightening, a second partial close (0.05 → 0.03) and a hedge; switched back, the folder's
record (WARNING_L2, no hedge) hedged it a second time and left the first hedge open,
unmanaged, when the trade closed. Lost with the folder, the trade was partially closed a
second time the same way. Real parts: the local engine, a paper account file that keeps
the positions and the deals across the runs, a diskcache store in ``tmp_path`` and a real
redis-server."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from support.hedged_paper import PaperMarket, open_buy
from support.redis_server import RedisServer

from dtms_plugin.account_ledger import ledger_path, read_ledger, write_ledger
from dtms_plugin.local import LocalStrategy
from dtms_plugin.settings import load_settings
from hookspecs import AccountInfo, DefensiveState, Trade
from hostapp.brokers.paper import PaperBroker
from hostapp.host import Host
from hostapp.testing import make_host


class Run:
    """One host's run of the local engine on the account file, with ``store``."""

    def __init__(self, market: PaperMarket, folder: Path, store: str = "") -> None:
        self.market = market
        self.broker: PaperBroker = market.broker()
        settings = {"state_dir": str(folder), "store": store, "trail": {"enabled": False}}
        self.strategy = LocalStrategy(load_settings(settings))
        self.host: Host = make_host(self.broker, market, market, mode="live")

    async def start(self) -> Run:
        await self.strategy.startup(self.host)
        return self

    async def until(self, ticket: int, state: DefensiveState, most: int = 60) -> None:
        for _ in range(most):
            if self.strategy.records[ticket].state is state:
                return
            await self.strategy.on_cycle(self.host, self.market.step(self.broker))
        raise AssertionError(f"never {state}: {self.strategy.records[ticket]}")

    async def cycles(self, n: int) -> None:
        for _ in range(n):
            await self.strategy.on_cycle(self.host, self.market.step(self.broker))

    async def stop(self) -> None:
        await self.strategy.shutdown(self.host)
        self.broker.release()

    def kill(self) -> None:
        """The process killed: no shutdown, its store and account file let go of."""
        self.strategy.store.close()
        self.broker.release()


def partial_closes(broker: PaperBroker, ticket: int) -> list[float]:
    """The volumes of the account's closing deals of ``ticket`` while it stays open."""
    still = broker.position(ticket)
    deals = [t.volume for t in broker.closed_trades() if t.ticket == ticket]
    return deals if still is not None else deals[:-1]


def hedges_ever(broker: PaperBroker, ticket: int) -> set[int]:
    """Every hedge of ``ticket`` the account ever held: open, or closed."""
    comment = f"DTMS_HEDGE_{ticket}"
    listed = [*broker.positions(), *broker.closed_trades()]
    return {t.ticket for t in listed if t.comment == comment}


def taken_up(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "taken up from the account" in r.getMessage()]


async def _partially_closed(tmp_path: Path) -> tuple[PaperMarket, Trade]:
    """A buy of 0.1 that DTMS, on the folder's store, walked to WARNING_L2: its stop
    tightened, 0.05 closed."""
    market = PaperMarket(tmp_path / "account.db")
    first = await Run(market, tmp_path / "dtms").start()
    buy = open_buy(first.broker)
    await first.strategy.on_trade_executed(first.host, buy)
    await first.until(buy.ticket, DefensiveState.WARNING_L2)
    assert partial_closes(first.broker, buy.ticket) == [0.05]
    await first.stop()
    return market, buy


async def test_a_switch_to_redis_and_back_repeats_no_defensive_action(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    market, buy = await _partially_closed(tmp_path)
    caplog.set_level(logging.WARNING, logger="dtms_plugin")

    on_redis = await Run(market, tmp_path / "dtms", redis_server.url()).start()
    rec = on_redis.strategy.records[buy.ticket]
    await on_redis.until(buy.ticket, DefensiveState.HEDGED)
    assert partial_closes(on_redis.broker, buy.ticket) == [0.05]  # before: [0.05, 0.02]
    assert (rec.state, rec.seq, rec.initial_volume, rec.volume) == (
        DefensiveState.WARNING_L2, 2, 0.1, 0.05,
    )  # fmt: skip  # as the folder's store left it
    [line] = taken_up(caplog)
    assert f"as the store in {(tmp_path / 'dtms').resolve()} left them, not adopted afresh" in line
    assert (
        f"done again: {buy.ticket} WARNING_L2 (done: tighten_sl, partial_close; volume 0.1 → 0.05)"
    ) in line
    assert line.endswith(
        f"the folder {tmp_path / 'dtms'} holds 1 records from a diskcache store: this run does "
        'not read them (docs/scaling.md, "Switching the store", says what can be done with them)'
    )
    assert not [r for r in caplog.records if "adopted 1" in r.getMessage()]
    [hedge] = hedges_ever(on_redis.broker, buy.ticket)
    kinds = [
        a["kind"] for a in on_redis.strategy.store.actions(buy.ticket) if a["type"] == "action"
    ]
    assert kinds == ["hedge"]  # no second stop tightening either
    await on_redis.stop()

    caplog.clear()
    back = await Run(market, tmp_path / "dtms").start()  # the folder's records: stale
    rec = back.strategy.records[buy.ticket]
    assert (rec.state, rec.hedge_ticket) == (DefensiveState.HEDGED, hedge)
    [line] = taken_up(caplog)
    assert f"as the store in {redis_server.url()} left them" in line
    assert f"this store's own records of {buy.ticket} were older" in line
    await back.cycles(20)
    assert hedges_ever(back.broker, buy.ticket) == {hedge}  # not hedged a second time
    assert partial_closes(back.broker, buy.ticket) == [0.05]
    assert back.broker.positions() == []  # the flat deadline closed both, none left behind
    await back.stop()


@pytest.mark.parametrize("how", ["killed", "stopped"])
async def test_a_lost_state_folder_repeats_no_partial_close(
    tmp_path: Path, how: str, caplog: pytest.LogCaptureFixture
) -> None:
    market = PaperMarket(tmp_path / "account.db")
    first = await Run(market, tmp_path / "dtms").start()
    buy = open_buy(first.broker)
    await first.strategy.on_trade_executed(first.host, buy)
    await first.until(buy.ticket, DefensiveState.WARNING_L2)
    first.kill() if how == "killed" else await first.stop()
    shutil.rmtree(tmp_path / "dtms")
    caplog.set_level(logging.WARNING, logger="dtms_plugin")

    again = await Run(market, tmp_path / "dtms").start()
    rec = again.strategy.records[buy.ticket]
    await again.until(buy.ticket, DefensiveState.HEDGED)
    assert partial_closes(again.broker, buy.ticket) == [0.05]  # before: [0.05, 0.02]
    assert len(hedges_ever(again.broker, buy.ticket)) == 1
    assert rec.state is DefensiveState.WARNING_L2
    [line] = taken_up(caplog)
    assert "as this store (which has lost them since) left them" in line
    await again.stop()


async def test_a_closed_trade_leaves_the_ledger(tmp_path: Path) -> None:
    """A trade CLOSED with nothing owed (its close done) leaves the ledger: it is no longer
    taken up."""
    market, buy = await _partially_closed(tmp_path)
    path = tmp_path / "account.db.dtms-ledger.json"
    run = await Run(market, tmp_path / "dtms").start()
    identity = run.broker.account().identity
    assert set(read_ledger(path, identity)) == {buy.ticket}
    assert run.broker.close(buy.ticket).ok
    await run.cycles(1)
    assert read_ledger(path, identity) == {}
    await run.stop()


def test_the_ledger_sits_beside_the_account_and_is_the_account_s_own(tmp_path: Path) -> None:
    """Beside the account's engine lock (a paper account file's, MetaTrader's in the
    user's state folder); another account's ledger (a paper file made afresh at the same
    path gets another login) is not read."""
    mt5 = AccountInfo(
        1, 0.0, 0.0, "hedging", identity="Broker-Demo 42",
        engine_lock=str(tmp_path / "locks" / "mt5-Broker-Demo-42.dtms-engine.lock"),
    )  # fmt: skip
    path = ledger_path(mt5)
    assert path == tmp_path / "locks" / "mt5-Broker-Demo-42.dtms-ledger.json"
    assert ledger_path(AccountInfo(1, 0.0, 0.0, "hedging")) is None  # in memory
    write_ledger(path, "Broker-Demo 42", "/s", {7: {"ticket": 7}})
    assert path.stat().st_mode & 0o777 == 0o600
    assert read_ledger(path, "Broker-Demo 42") == {7: ("/s", {"ticket": 7})}
    assert read_ledger(path, "Broker-Demo 43") == {}


async def test_a_ledger_that_cannot_be_read_or_written_is_said_and_adoption_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A garbled ledger: said once, and the trade adopted afresh as before it was kept;
    one that cannot be written (a folder in its place): said once per episode."""
    market, buy = await _partially_closed(tmp_path)
    ledger = tmp_path / "account.db.dtms-ledger.json"
    ledger.write_text("{not json")
    shutil.rmtree(tmp_path / "dtms")
    caplog.set_level(logging.WARNING, logger="dtms_plugin")
    run = await Run(market, tmp_path / "dtms").start()
    assert run.strategy.records[buy.ticket].state is DefensiveState.HEALTHY  # adopted
    said = [r.getMessage() for r in caplog.records]
    assert [s for s in said if "could not be read" in s] == [
        f"DTMS: the account's ledger {ledger} could not be read: Expecting property name "
        "enclosed in double quotes: line 1 column 2 (char 1)"
    ]
    assert [s for s in said if "adopted 1, managed from now on" in s]
    await run.stop()

    ledger.unlink()
    ledger.mkdir()  # in the way of every write
    caplog.clear()
    run = await Run(market, tmp_path / "dtms").start()
    await run.cycles(8)
    failed = [r.getMessage() for r in caplog.records if "could not be written" in r.getMessage()]
    assert len(failed) == 1 and "a switch of store or a lost state folder would adopt" in failed[0]
    ledger.rmdir()
    await run.cycles(8)
    back = [r.getMessage() for r in caplog.records if "written again" in r.getMessage()]
    assert len(back) == 1 and ledger.is_file()
    await run.stop()
