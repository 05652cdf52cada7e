"""How the local strategy writes to its store: one SQLite transaction per cycle for every
record, state and history write, nothing written that did not change, and every write of
the cycle durable once the hook returns. Counted on the real store's own connection with
SQLite's statement trace."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from support.dtms_local_rig import Rig

TRADES = 5


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path / "dtms")
    await r.start()
    for ticket in range(1, TRADES + 1):
        await r.open_buy(ticket=ticket, volume=0.1)
    yield r
    await r.stop()


def _trace(rig: Rig) -> list[str]:
    statements: list[str] = []
    rig.strategy.store._cache._con.set_trace_callback(statements.append)
    return statements


def _store_time(directory: Path, key: str) -> float:
    con = sqlite3.connect(directory / "cache.db")
    try:
        row = con.execute("SELECT store_time FROM Cache WHERE key = ?", (key,)).fetchone()
        return float(row[0])
    finally:
        con.close()


async def test_a_cycle_is_one_transaction(rig: Rig, tmp_path: Path) -> None:
    await rig.cycles(2)  # warmed up; no transition before the ninth cycle
    statements = _trace(rig)
    await rig.cycles(1)
    assert [s for s in statements if s.startswith(("BEGIN", "COMMIT"))] == [
        "BEGIN IMMEDIATE",
        "COMMIT",
    ]
    now = rig.clock.now()
    for ticket in range(1, TRADES + 1):  # every record re-scored and its state re-stamped
        record = rig.strategy.store.get_record(ticket) or {}
        assert record["updated_at"] == now.isoformat()
        assert rig.strategy.store.get_state(ticket) == ("HEALTHY", now)


async def test_an_unchanged_record_is_not_rewritten(rig: Rig, tmp_path: Path) -> None:
    await rig.cycles(2)
    directory = tmp_path / "dtms"
    record_before = _store_time(directory, "trade:1")
    state_before = _store_time(directory, "state:1")
    # the same time again: no new bar, nothing moves; the state cache is re-stamped with
    # the same time, which is the row it already holds: not rewritten either
    await rig.strategy.on_cycle(rig.host, rig.clock.now())
    assert _store_time(directory, "trade:1") == record_before
    assert _store_time(directory, "state:1") == state_before
    assert rig.strategy.store.get_state(1) == ("HEALTHY", rig.clock.now())
    # a later stamp is written
    later = rig.clock.now() + timedelta(seconds=1)
    await rig.strategy.on_cycle(rig.host, later)
    assert _store_time(directory, "state:1") > state_before
    assert rig.strategy.store.get_state(1) == ("HEALTHY", later)


async def test_an_action_commits_its_pending_entry_before_the_broker_call(rig: Rig) -> None:
    await rig.cycles(8)
    statements = _trace(rig)
    await rig.cycles(1)  # WARNING_L1 for every trade: a transition and a stop each
    commits = [s for s in statements if s == "COMMIT"]
    # per trade: the state at once on its transition, the pending entry before the
    # broker call (the answer goes with the next one); then the cycle's own
    assert len(commits) == 2 * TRADES + 1
    assert [h["kind"] for h in rig.strategy.store.actions(1)] == ["tighten_sl"]
    for ticket in range(1, TRADES + 1):
        stored = rig.strategy.store.get_record(ticket) or {}
        assert [e["status"] for e in stored["journal"]] == ["done"]


def test_a_record_json_cannot_hold_is_logged_and_the_rest_are_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A comment holding a lone surrogate (the API now refuses one; a broker or a plugin
    could still hand one over) cannot be stored as JSON text: that record is reported
    failed and logged, and the cycle's other writes still go in (they all failed with it,
    every cycle, until a restart)."""
    import logging
    from datetime import UTC, datetime

    from dtms_plugin.book import TradeBook
    from dtms_plugin.engine.record import register
    from dtms_plugin.local_writes import PendingWrites
    from dtms_plugin.store.location import open_store
    from hookspecs import Trade

    now = datetime(2024, 1, 2, tzinfo=UTC)
    store = open_store("", str(tmp_path / "state"), logging.getLogger("test"))
    book = TradeBook()
    writes = PendingWrites(book, logging.getLogger("test.writes"))
    for ticket, comment in ((1, "fine"), (2, "bad \ud800"), (3, "fine too")):
        trade = Trade(ticket, "XAUUSD", "buy", 1.0, 2000.0, 1990.0, None, now, comment=comment)
        rec = register(trade, None, now)
        book.put(rec)
        writes.record(rec, now)
    with caplog.at_level(logging.ERROR):
        assert writes.flush(store) == {2}
    assert "DTMS 2: record not persisted: not JSON" in caplog.text
    assert sorted(store.records()) == [1, 3]
    store.close()
