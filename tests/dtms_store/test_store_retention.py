"""Retention: closed trades older than the limit leave the store (record, state, action
history) in batches; an open trade, a closed one still owing an action, a recent one and a
row that is not JSON are never touched. Then the local strategy: quiet cycles remove them
from its store and its book."""

from __future__ import annotations

import itertools
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.dtms_local_rig import Rig

from dtms_plugin.local_commits import RETENTION_BATCH
from dtms_plugin.store import Store

NOW = datetime(2026, 3, 1, tzinfo=UTC)
OLD = (NOW - timedelta(days=40)).isoformat()


def _rec(ticket: int, state: str, closed_at: str | None, owed: list[str] | None = None) -> dict:
    return {"ticket": ticket, "state": state, "closed_at": closed_at, "owed": owed or []}


def test_only_old_closed_trades_go_in_batches(tmp_path: Path) -> None:
    with Store(tmp_path / "dtms") as store:
        store.put_record(1, _rec(1, "HEALTHY", None))
        store.put_record(2, _rec(2, "HEDGED", OLD))  # not closed, whatever its fields say
        store.put_record(3, _rec(3, "CLOSED", OLD, owed=["close"]))  # still owes its close
        store.put_record(4, _rec(4, "CLOSED", (NOW - timedelta(days=2)).isoformat()))
        store.put_record(5, _rec(5, "CLOSED", None))
        old = range(100, 220)
        for t in old:
            store.put_record(t, _rec(t, "CLOSED", OLD))
            store.put_state(t, "CLOSED", NOW)
            store.append_action({"ticket": t, "type": "action", "key": f"{t}:0:close"})
        store.append_action({"ticket": 1, "type": "action", "key": "1:0:tighten_sl"})
        con = sqlite3.connect(tmp_path / "dtms" / "cache.db")
        con.execute(
            "INSERT INTO Cache (key, raw, store_time, expire_time, access_time, access_count,"
            " tag, size, mode, filename, value) VALUES ('trade:6', 1, ?, NULL, ?, 0, NULL, 0,"
            " 1, NULL, 'not json {')",
            (time.time(), time.time()),
        )
        con.commit()
        con.close()

        cutoff = NOW - timedelta(days=30)
        batches = []
        while gone := store.purge_closed(cutoff, 50):
            batches.append(gone)
        assert [len(b) for b in batches] == [50, 50, 20]
        assert sorted(t for b in batches for t in b) == list(old)
        assert set(store.records()) == {1, 2, 3, 4, 5}
        for t in old:
            assert store.get_state(t) is None and store.actions(t) == []
        assert [a["key"] for a in store.actions(1)] == ["1:0:tighten_sl"]
        assert store.actions(limit=1000) == [
            {"ticket": 1, "type": "action", "key": "1:0:tighten_sl"}
        ]


def test_a_planted_row_of_an_expired_trade_goes_and_the_file_it_names_stays(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Retention removes a trade's rows in one statement; a row among them that is not
    JSON text (planted to name a file) is removed too, and its file is left alone."""
    keep = tmp_path / "outside" / "keep.txt"
    keep.parent.mkdir()
    keep.write_text("precious")
    with Store(tmp_path / "dtms") as store:
        for t in (1, 2):
            store.put_record(t, _rec(t, "CLOSED", OLD))
            store.put_state(t, "CLOSED", NOW)
            store.append_action({"ticket": t, "type": "action", "key": f"{t}:0:close"})
    con = sqlite3.connect(tmp_path / "dtms" / "cache.db")
    con.execute(
        "UPDATE Cache SET mode = 2, filename = ?, value = NULL WHERE key = 'state:2'", (str(keep),)
    )
    con.commit()
    con.close()
    with Store(tmp_path / "dtms") as store:
        assert sorted(store.purge_closed(NOW - timedelta(days=30))) == [1, 2]
        assert store.records() == {} and store.actions(limit=10) == []
        keys = [k for (k,) in store._cache._con.execute("SELECT key FROM Cache")]
        # the journal's counter stays; diskcache's own row count agrees
        assert keys == ["action:seq"] and len(store._cache) == 1, keys
    assert keep.read_text() == "precious"
    assert any(str(keep) in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("days", [30.0, 3.0])
async def test_the_local_strategy_removes_expired_closed_trades_in_quiet_cycles(
    tmp_path: Path, days: float, caplog: pytest.LogCaptureFixture
) -> None:
    rig = Rig(tmp_path / "dtms", retention_days=days)
    await rig.start()
    closed = RETENTION_BATCH + 10
    for ticket in range(1, closed + 2):
        await rig.open_buy(ticket=ticket, volume=0.1)
    for ticket in range(1, closed + 1):
        rig.broker.close(ticket)
        await rig.strategy.on_trade_closed(rig.host, rig.broker.closed[-1], "manual")
    store = rig.strategy.store
    await rig.cycles(2)
    assert len(store.records()) == closed + 1  # not expired yet
    rig.clock.advance(timedelta(days=days, hours=1))
    counts = [len(store.records())]
    with caplog.at_level("INFO", logger="dtms_plugin.local"):
        for _ in range(6):
            await rig.cycles(1)
            counts.append(len(store.records()))
    told = [r.getMessage() for r in caplog.records if "retention" in r.getMessage()]
    assert sum(int(t.split(": ")[1].split()[0]) for t in told) == closed  # each said once
    assert told[0].startswith(f"DTMS retention: {RETENTION_BATCH} closed trades removed")
    # a small batch per quiet cycle, never more, until only the open trade is left
    assert all(0 <= a - b <= RETENTION_BATCH for a, b in itertools.pairwise(counts))
    assert counts[0] - counts[1] <= RETENTION_BATCH < counts[0] - 1
    assert set(store.records()) == {closed + 1}  # the open trade stays
    assert set(rig.strategy.records) == {closed + 1}
    assert store.get_state(1) is None and store.actions(1) == []
    await rig.stop()


async def test_retention_runs_while_no_trade_is_open(tmp_path: Path) -> None:
    """A flat book (every trade closed: a weekend, a bot that stopped trading, a
    ``dtms serve`` whose clients went away) prunes too: each cycle there is quiet, and
    retention ran only after a cycle that had a trade to watch."""
    rig = Rig(tmp_path / "dtms", retention_days=3.0)
    await rig.start()
    for ticket in (1, 2, 3):
        await rig.open_buy(ticket=ticket, volume=0.1)
        rig.broker.close(ticket)
        await rig.strategy.on_trade_closed(rig.host, rig.broker.closed[-1], "manual")
    store = rig.strategy.store
    await rig.cycles(2)
    assert set(store.records()) == {1, 2, 3}
    rig.clock.advance(timedelta(days=3, hours=1))
    await rig.cycles(2)
    assert store.records() == {} and rig.strategy.records == {}
    await rig.stop()
