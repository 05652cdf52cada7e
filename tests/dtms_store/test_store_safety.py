"""The store under attack and failure: planted pickles, a corrupted directory, a full disk."""

from __future__ import annotations

import logging
import pickle
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from diskcache.core import MODE_PICKLE

from dtms_plugin.server.store_health import store_problems
from dtms_plugin.store import JsonDisk, Store, StoreError

T0 = datetime(2026, 1, 1, tzinfo=UTC)

MARKER_NAME = "pwned"


class _Evil:
    """Unpickling this creates the marker file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return open, (str(self.marker), "w")


def _plant(
    db: Path, key: str, value: Any, *, mode: int = MODE_PICKLE, filename: Any = None
) -> None:
    con = sqlite3.connect(db)
    try:
        now = time.time()
        con.execute("DELETE FROM Cache WHERE key = ?", (key,))
        con.execute(
            "INSERT INTO Cache (key, raw, store_time, expire_time, access_time, access_count,"
            " tag, size, mode, filename, value) VALUES (?, 1, ?, NULL, ?, 0, NULL, 0, ?, ?, ?)",
            (key, now, now, mode, filename, value),
        )
        con.commit()
    finally:
        con.close()


def test_planted_pickle_rows_are_refused_and_never_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    d = tmp_path / "dtms"
    marker = tmp_path / MARKER_NAME
    payload = pickle.dumps(_Evil(marker))
    # Sanity: the payload really does run code when unpickled by a default reader.
    pickle.loads(payload).close()
    assert marker.exists()
    marker.unlink()

    with Store(d) as s:
        s.put_record(7, {"ok": True})
        s.put_state(7, "HEDGED", T0)
    _plant(d / "cache.db", "trade:7", sqlite3.Binary(payload))
    _plant(d / "cache.db", "state:7", sqlite3.Binary(payload))
    _plant(d / "cache.db", "account:mode", sqlite3.Binary(payload))
    (d / "ab").mkdir()
    (d / "ab" / "evil.val").write_bytes(payload)
    _plant(d / "cache.db", "outbox:index", None, filename="ab/evil.val")

    caplog.set_level(logging.ERROR, logger="dtms_plugin.store")
    with Store(d) as s:
        assert s.get_record(7) is None
        assert s.records() == {}
        assert s.get_state(7) is None
        assert s.get_account_mode() is None
        assert s.outbox_items() == []
        # The store still works; a write replaces the planted row with JSON.
        s.put_record(7, {"ok": 2})
        assert s.get_record(7) == {"ok": 2}
    assert not marker.exists()
    refused = [r.getMessage() for r in caplog.records if "unreadable row" in r.getMessage()]
    assert any("'trade:7'" in m and "mode 4" in m for m in refused)
    assert any("'state:7'" in m for m in refused)


def test_garbage_cache_db_is_moved_aside_and_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    d = tmp_path / "dtms"
    d.mkdir(mode=0o700)
    garbage = b"this is not a database at all" * 100
    (d / "cache.db").write_bytes(garbage)
    caplog.set_level(logging.WARNING, logger="dtms_plugin.store")
    with Store(d) as s:
        assert s.records() == {}
        s.put_record(1, {"a": 1})
        assert s.get_record(1) == {"a": 1}
    asides = [p for p in tmp_path.iterdir() if p.name.startswith("dtms.corrupt-")]
    assert len(asides) == 1
    assert (asides[0] / "cache.db").read_bytes() == garbage
    assert any(
        "corrupted" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records
    )


def test_truncated_cache_db_is_moved_aside(tmp_path: Path) -> None:
    d = tmp_path / "dtms"
    with Store(d) as s:
        for t in range(1, 200):
            s.put_record(t, {"pad": "x" * 500})
    data = (d / "cache.db").read_bytes()
    for extra in ("cache.db-wal", "cache.db-shm"):
        (d / extra).unlink(missing_ok=True)
    # Keep the header, smash the pages behind it.
    (d / "cache.db").write_bytes(data[:100] + b"\xff" * (len(data) - 100))
    with Store(d) as s:
        s.put_record(1, {"fresh": True})
        assert s.records() == {1: {"fresh": True}}
    assert any(p.name.startswith("dtms.corrupt-") for p in tmp_path.iterdir())


def _fill_disk(store: Store) -> None:
    """Make SQLite report SQLITE_FULL for anything that needs a new page, exactly as a full
    disk does: cap the database at its current size on the store's own connection."""
    con = store._cache._con
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.execute(f"PRAGMA max_page_count = {pages}")


def test_full_disk_write_raises_store_error_logs_and_keeps_old_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="dtms_plugin.store")
    with Store(tmp_path / "dtms") as s:
        s.put_record(1, {"v": 1})
        s.outbox_put(1, {"kind": "register"})
        _fill_disk(s)
        big = "x" * 300_000
        with pytest.raises(StoreError, match="database or disk is full") as err:
            s.put_record(1, {"v": 2, "pad": big})
        assert str(tmp_path / "dtms") in str(err.value)
        with pytest.raises(StoreError, match="disk is full"):
            s.put_record(2, {"pad": big})
        with pytest.raises(StoreError, match="outbox entry for ticket 3"):
            s.outbox_put(3, {"pad": big})
        # Nothing half-written: the old record, no orphan index entry, outbox unchanged.
        assert s.get_record(1) == {"v": 1}
        assert s.records() == {1: {"v": 1}}
        assert s.outbox_items() == [(1, {"kind": "register"})]
        # Space back: writes work again on the same store.
        s._cache._con.execute("PRAGMA max_page_count = 1073741823")
        s.put_record(2, {"pad": "ok"})
        assert set(s.records()) == {1, 2}
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("record of ticket 1" in r.getMessage() and "full" in r.getMessage() for r in errors)


def test_failing_disk_layer_is_a_store_error(tmp_path: Path) -> None:
    class FullDisk(JsonDisk):
        """Serialisation fails like a full disk would, for writes only."""

        full = False

        def store(self, value: Any, read: bool, key: Any = None) -> Any:
            if FullDisk.full:
                raise sqlite3.OperationalError("database or disk is full")
            return super().store(value, read, key)

    with Store(tmp_path / "dtms", disk=FullDisk) as s:
        s.put_state(1, "HEDGED", T0)
        FullDisk.full = True
        with pytest.raises(StoreError, match="state of ticket 1"):
            s.put_state(1, "HEALTHY", T0)
        assert s.get_state(1) == ("HEDGED", T0)


def test_a_lock_held_past_the_timeout_fails_the_write_but_is_no_store_failure(
    tmp_path: Path,
) -> None:
    """Another writer holding the database past the timeout is contention, not a store
    that cannot keep writes: it was recorded as the last write failure, so ``/health``
    answered 503 for a minute after one busy moment (and a supervisor may restart a
    healthy server). The write still fails, as a StoreError saying so; a full disk still
    counts."""
    with Store(tmp_path / "dtms", timeout=0.1) as s:
        s.put_record(1, {"v": 1})
        other = sqlite3.connect(tmp_path / "dtms" / "cache.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another writer's transaction, held
        try:
            with pytest.raises(StoreError, match="locked by another writer past the timeout"):
                s.put_record(1, {"v": 2})
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert s.last_write_failure is None
        assert store_problems(s, None) == []
        _fill_disk(s)
        with pytest.raises(StoreError, match="disk is full"):
            s.put_record(2, {"pad": "x" * 300_000})
        assert s.last_write_failure is not None
        (problem,) = store_problems(s, None)
        assert "disk is full" in problem


def test_writes_a_held_lock_refuses_are_one_episode_said_once_with_its_end(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Every write waits on the same lock, so each refusal is the store's as a whole
    (``unavailable``: a writer keeps what it meant to write) and the refusals are one
    episode: one ERROR, then DEBUG, and one WARNING with the count when a write goes
    through. Each was an ERROR, on a live engine's terminal too, several a cycle."""
    with Store(tmp_path / "dtms", timeout=0.05) as s:
        other = sqlite3.connect(tmp_path / "dtms" / "cache.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with caplog.at_level(logging.DEBUG, logger="dtms_plugin.store"):
                for n in range(3):
                    with pytest.raises(StoreError) as refused:
                        s.put_record(1, {"v": n})
                    assert refused.value.unavailable
        finally:
            other.execute("ROLLBACK")
            other.close()
        levels = [r.levelname for r in caplog.records]
        assert levels == ["ERROR", "DEBUG", "DEBUG"]
        assert caplog.records[0].message.endswith("(said once until a write goes through)")
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="dtms_plugin.store"):
            s.put_record(1, {"v": 3})
            s.put_record(1, {"v": 4})
        (ended,) = caplog.records
        assert ended.levelname == "WARNING"
        assert ended.message.startswith(f"store {s.directory}: writes go through again, after 3")
