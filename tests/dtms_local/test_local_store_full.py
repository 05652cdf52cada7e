"""The local engine on a store whose disk is full: SQLite answers "database or disk is
full" to the writes, as it does on a full disk, in two ways the store tests use too: the
database capped at its size on the store's own connection and its free room filled
(``PRAGMA max_page_count``: SQLITE_FULL for anything that needs a page), and a disk layer
that fails every write with SQLite's error (every write refused, as on a disk with no
byte left).

What is pinned: a defensive mode of the account rails that the store could not take holds
all the same (orders vetoed, the engine defensive) and is written once the store takes
writes again; while the store fails writes, new orders are vetoed (a trade DTMS cannot
record is one it cannot defend, docs/dtms.md §7); the failures are one episode, said once
with its count when a write goes through again, not an ERROR per write; and the run's
report says in words that the store failed writes, from when, how many, and whether it
took them again.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from support.dtms_local_rig import Rig
from support.full_disk import cap

from dtms_plugin.defensive import ACCOUNT_MODE_VETO
from dtms_plugin.local import LocalStrategy
from dtms_plugin.local_write_failures import STORE_FAILING_VETO, WriteFailures
from dtms_plugin.store import JsonDisk, Store
from hookspecs import OrderRequest

FULL = "database or disk is full"
ORDER = OrderRequest("XAUUSD", "buy", 0.1)


class FullDisk(JsonDisk):
    """Every value written fails as on a disk with no byte left (reads go on)."""

    full = False

    def store(self, value: Any, read: bool, key: Any = None) -> Any:
        if FullDisk.full:
            raise sqlite3.OperationalError(FULL)
        return super().store(value, read, key)


def _full(rig: Rig, *, on: bool) -> None:
    """Every value written refused (:class:`FullDisk`), and the database capped at its
    size, as a full disk leaves it: the store's episode of a full disk ends only when it
    has room again (store/outage.py), and a disk that refuses every write has none."""
    FullDisk.full = on
    store = rig.strategy.store
    assert isinstance(store, Store)
    con = store._cache._con
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.execute(f"PRAGMA max_page_count = {pages if on else 1073741823}")


@pytest.fixture
async def full_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """The rig over a store whose disk layer fails writes on demand, three trades open;
    the store's own lines on ``dtms_plugin.store``, the engine's on ``dtms_plugin``."""
    FullDisk.full = False
    r = Rig(tmp_path / "dtms")
    store = Store(tmp_path / "dtms", disk=FullDisk, log=logging.getLogger("dtms_plugin.store"))
    r.strategy = LocalStrategy(r.settings, store, log=logging.getLogger("dtms_plugin"))
    await r.start()
    for ticket in (1, 2, 3):
        await r.open_buy(ticket=ticket, volume=0.1)
    await r.cycles(2)
    yield r
    FullDisk.full = False
    await r.stop()
    store.close()


async def _lose_the_day(rig: Rig, ticket: int) -> None:
    """A trade closed at a loss of 3% of the day's balance: the daily rail (2%) trips."""
    t = await rig.open_buy(ticket=ticket)
    rig.broker.balance = 9_700.0
    lost = replace(t, profit=-300.0, closed_at=rig.clock.now(), close_price=t.entry_price - 3)
    del rig.broker.open_positions[ticket]
    await rig.strategy.on_trade_closed(rig.host, lost, "exit")


async def test_a_defensive_mode_the_store_cannot_write_holds_and_is_written_later(
    rig: Rig,
) -> None:
    """The daily rail trips while the disk is full: the mode was warned, not stored, and
    dropped, so ``allow_order`` (which read it from the store alone) let every order
    through for the rest of the day. It holds from memory, and goes to the store once
    the store takes writes again."""
    await rig.open_buy(ticket=1, volume=0.1)
    await rig.cycles(2)
    store = rig.strategy.store
    assert isinstance(store, Store)
    cap(store, full=True)
    await _lose_the_day(rig, 5)
    assert store.get_account_mode() is None  # the store could not take it
    veto = rig.strategy.allow_order(rig.host, ORDER)
    assert veto is not None and veto.kind == ACCOUNT_MODE_VETO
    assert "daily realised loss 3.00%" in veto.reason
    assert rig.strategy.is_defensive(rig.host, 424242)  # a ticket it does not hold
    await rig.cycles(1)
    assert rig.strategy._account.defensive  # the ladder opens no re-add meanwhile
    cap(store, full=False)
    await rig.cycles(1)
    mode = store.get_account_mode()
    assert mode is not None and "daily realised loss 3.00%" in mode[1]
    assert mode[0] > rig.clock.now() and mode[0].hour == 0
    veto = rig.strategy.allow_order(rig.host, ORDER)
    assert veto is not None and veto.kind == ACCOUNT_MODE_VETO


def _store_veto(rig: Rig) -> bool:
    veto = rig.strategy.allow_order(rig.host, ORDER)
    return veto is not None and veto.kind == STORE_FAILING_VETO


async def test_new_orders_are_vetoed_while_the_store_fails_writes(full_rig: Rig) -> None:
    """A new trade's record could not be written, nor its actions journaled (journal
    first: none is sent), so DTMS would watch it without defending it."""
    assert full_rig.strategy.allow_order(full_rig.host, ORDER) is None
    _full(full_rig, on=True)
    await full_rig.cycles(1)
    veto = full_rig.strategy.allow_order(full_rig.host, ORDER)
    assert veto is not None and veto.kind == STORE_FAILING_VETO
    assert FULL in veto.reason
    _full(full_rig, on=False)
    await full_rig.cycles(1)
    assert full_rig.strategy.allow_order(full_rig.host, ORDER) is None


async def test_the_veto_ends_with_the_store_also_when_no_trade_is_open(full_rig: Rig) -> None:
    """With no trade open there is nothing to write: a cycle checks whether the store
    takes writes again with a write of its own, or the veto would outlast the outage."""
    _full(full_rig, on=True)
    for ticket in (1, 2, 3):
        full_rig.broker.close(ticket)
        await full_rig.strategy.on_trade_closed(full_rig.host, full_rig.broker.closed[-1], "exit")
    await full_rig.cycles(2)
    assert full_rig.strategy.allow_order(full_rig.host, ORDER) is not None
    _full(full_rig, on=False)
    await full_rig.cycles(2)
    assert full_rig.strategy.allow_order(full_rig.host, ORDER) is None


async def test_write_failures_are_one_episode_said_once_with_its_count(
    full_rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """A full store was 40,000 ERROR lines in 90 s (the cycle's transaction, then each
    record, the state cache, the account mode, every cycle, from the engine and from the
    store alike). The store says the full disk once at ERROR, naming its folder, and its
    end with its count; the engine says only what it does meanwhile (a WARNING), and
    that new orders are no longer vetoed (INFO)."""
    caplog.set_level(logging.DEBUG, logger="dtms_plugin")
    _full(full_rig, on=True)
    await full_rig.cycles(10)
    await _lose_the_day(full_rig, 9)
    await full_rig.cycles(10)
    _full(full_rig, on=False)
    await full_rig.cycles(2)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    where = str(full_rig.strategy.store.directory)
    assert errors[0].startswith(f"store {where}: ") and "the disk is full" in errors[0]
    mine = [r for r in caplog.records if not r.name.startswith("dtms_plugin.store")]
    begun = [r for r in mine if "the store fails this engine's writes" in r.getMessage()]
    assert [r.levelno for r in begun] == [logging.WARNING]
    assert "new orders are vetoed" in begun[0].getMessage()
    ends = [r for r in caplog.records if "again, after" in r.getMessage()]
    assert [r.levelno for r in ends] == [logging.WARNING, logging.INFO], ends
    failures = full_rig.strategy._writes.failures.episodes
    assert len(failures) == 1 and failures[0].failed > 20
    assert f"after {failures[0].failed:,} failed writes" in ends[1].getMessage()
    assert (
        "go through again, after" in ends[0].getMessage()
        and " writes refused" in ends[0].getMessage()
    )


async def test_a_capped_store_is_one_error_over_many_cycles(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """A real store whose database is capped and full (SQLite's "database or disk is
    full"), a real engine, 60 cycles: the store said every write it failed at ERROR (651
    lines in 100 cycles, beside the engine's one episode). One ERROR for the whole thing,
    the store's, naming its folder; its end once, with its count, when it has room."""
    for ticket in (1, 2, 3):
        await rig.open_buy(ticket=ticket, volume=0.1)
    await rig.cycles(2)
    store = rig.strategy.store
    assert isinstance(store, Store)
    caplog.set_level(logging.DEBUG, logger="dtms_plugin")
    cap(store, full=True)  # its first refusal is the episode's ERROR
    await rig.cycles(30)
    await rig.open_buy(ticket=4, volume=0.1)
    await rig.cycles(30)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors[:5]
    assert errors[0].startswith(f"store {store.directory}: ") and "the disk is full" in errors[0]
    assert FULL in errors[0]
    cap(store, full=False)
    await rig.cycles(2)
    said = [r for r in caplog.records if r.getMessage().startswith(f"store {store.directory}: ")]
    ends = [r for r in said if "go through again" in r.getMessage()]
    assert len(ends) == 1, ends
    assert ends[0].levelno == logging.WARNING and "the disk has room again" in ends[0].getMessage()
    assert rig.strategy._writes.failures.failing is None
    assert [r.levelno for r in said if r.levelno > logging.DEBUG] == [
        logging.ERROR,
        logging.WARNING,
    ]


async def test_a_nearly_full_store_that_takes_state_stamps_in_place_stays_one_episode(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """A database capped at its size still takes a write that rewrites a row in place (a
    state stamp of the same length): an episode that ended on such a write began again
    the next cycle, an ERROR and a WARNING a cycle. Only a record or a history entry
    written while the store has room ends it: new orders stay vetoed every cycle."""
    for ticket in (1, 2, 3):
        await rig.open_buy(ticket=ticket, volume=0.1)
    await rig.cycles(2)
    store = rig.strategy.store
    assert isinstance(store, Store)
    cap(store, full=True)
    caplog.set_level(logging.INFO, logger="dtms_plugin")
    caplog.clear()
    vetoed = []
    for _ in range(30):
        await rig.cycles(1)
        vetoed.append(_store_veto(rig))
    said = [
        r.getMessage() for r in caplog.records if r.pathname.endswith("local_write_failures.py")
    ]
    assert len(said) == 1, said  # it began, once
    assert all(vetoed), vetoed
    cap(store, full=False)
    await rig.cycles(1)
    assert rig.strategy._writes.failures.failing is None


async def test_the_run_report_says_the_store_failed_writes(full_rig: Rig) -> None:
    """The run's summary said nothing of a store that had refused every write."""
    assert "store_write_failures" not in full_rig.strategy.report()
    _full(full_rig, on=True)
    since = full_rig.clock.now()
    await full_rig.cycles(3)
    report = full_rig.strategy.report()
    failures = report["store_write_failures"]
    assert failures["recovered"] is False and failures["failed_writes"] >= 3
    assert "DTMS's store failed" in report["note"] and "still failed them" in report["note"]
    _full(full_rig, on=False)
    await full_rig.cycles(1)
    report = full_rig.strategy.report()
    failures = report["store_write_failures"]
    assert failures["recovered"] is True and failures["episodes"] == 1
    assert failures["since"] > since.isoformat()  # the first failed cycle's time
    note = report["note"]
    assert f"store failed {failures['failed_writes']:,} writes from {failures['since']}" in note
    assert "it took writes again at" in note and FULL in note


def test_a_failure_after_a_refusal_said_elsewhere_is_said(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A store that refused writes as a whole (a lock: said by its own episode, quietly
    here), then fails them one by one (the disk full): that failure is new, and said; the
    episode's end is said with both counted."""
    failures = WriteFailures(logging.getLogger("dtms_plugin"))
    at = datetime(2026, 1, 5, 10, tzinfo=UTC)
    with caplog.at_level(logging.DEBUG, logger="dtms_plugin"):
        failures.failed("the cycle's writes", "database locked", at, said=True, told=True)
        failures.failed("the cycle's writes", "database locked", at, said=True, told=True)
        assert [r.levelno for r in caplog.records] == [logging.DEBUG]
        failures.failed("the record of trade 1", FULL, at)
        failures.failed("the record of trade 2", FULL, at)
        failures.went_through(at)
    levels = [r.levelno for r in caplog.records]
    assert levels == [logging.DEBUG, logging.ERROR, logging.DEBUG, logging.WARNING]
    assert "after 4 failed writes" in caplog.records[-1].getMessage()


async def test_a_second_full_disk_with_no_trade_open_vetoes_until_there_is_room(rig: Rig) -> None:
    """The write check of a cycle with nothing to write is a row rewritten in place once
    it exists (a first episode wrote it), which a full disk still takes: it ended the
    second episode at once and let new trades open that DTMS could not record."""
    store = rig.strategy.store
    assert isinstance(store, Store)
    await rig.open_buy(ticket=1, volume=0.1)
    await rig.cycles(2)
    for second in (False, True):
        cap(store, full=True)
        rig.broker.close(rig.broker.open_positions and next(iter(rig.broker.open_positions)))
        await rig.strategy.on_trade_closed(rig.host, rig.broker.closed[-1], "exit")
        vetoed = []
        for _ in range(10):
            await rig.cycles(1)
            vetoed.append(_store_veto(rig))
        assert all(vetoed), (second, vetoed)
        cap(store, full=False)
        await rig.cycles(2)
        assert not _store_veto(rig)
        if not second:
            await rig.open_buy(ticket=2, volume=0.1)
            await rig.cycles(2)


async def test_the_veto_ends_when_the_open_trades_write_only_their_states(
    tmp_path: Path,
) -> None:
    """A trade not armed yet writes no record, only its state stamp, for as long as it
    waits: the episode ended only on a record written, so the veto of new orders
    outlasted the outage by as long (50 cycles and more)."""
    FullDisk.full = False
    far = {"age_bars": 10_000, "profit_r": 100.0, "loss_r": -100.0}
    r = Rig(tmp_path / "dtms", arming=far)
    store = Store(tmp_path / "dtms", disk=FullDisk, log=logging.getLogger("dtms_plugin.store"))
    r.strategy = LocalStrategy(r.settings, store, log=logging.getLogger("dtms_plugin"))
    await r.start()
    try:
        await r.open_buy(ticket=1, volume=0.1)
        await r.cycles(5)
        assert not r.strategy.records[1].armed
        _full(r, on=True)
        await r.cycles(1)
        assert _store_veto(r)
        _full(r, on=False)
        await r.cycles(2)
        assert not _store_veto(r)
    finally:
        FullDisk.full = False
        await r.stop()
        store.close()
