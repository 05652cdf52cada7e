"""Rows and settings planted in a real store directory with sqlite3 change nothing: no
file outside (or inside) is read, followed or removed because a row names it, a planted
setting is never applied, a damaged index never hides an intact record, and a store that
cannot be opened is one StoreError line naming its directory."""

from __future__ import annotations

import logging
import pickle
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from diskcache.core import MODE_BINARY, MODE_TEXT

from dtms_plugin.store import Store, StoreError

AT = 1_767_225_600.0  # 2026-01-01, for planted rows


def _sql(db: Path, statement: str, *args: Any) -> None:
    con = sqlite3.connect(db)
    try:
        con.execute(statement, args)
        con.commit()
    finally:
        con.close()


def _plant_file_row(db: Path, key: str, mode: int, filename: str, *, expired: bool = False) -> None:
    """An existing row made to name ``filename``; ``expired`` puts its expiry in the past
    (what diskcache's ``expire``/``cull`` delete, removing the named file by default)."""
    _sql(
        db,
        "UPDATE Cache SET mode = ?, filename = ?, value = NULL, expire_time = ? WHERE key = ?",
        mode,
        filename,
        AT if expired else None,
        key,
    )


@pytest.fixture
def outside(tmp_path: Path) -> list[Path]:
    """Files a planted row points at: by absolute path, and by a relative one escaping
    the store directory."""
    files = []
    for name in ("keep.txt", "keep2.txt", "keep3.txt", "keep4.txt"):
        f = tmp_path / "outside" / name
        f.parent.mkdir(exist_ok=True)
        f.write_text(f"precious {name}")
        files.append(f)
    return files


def test_rows_naming_files_are_refused_and_the_files_left_alone(
    tmp_path: Path, outside: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    d = tmp_path / "dtms"
    with Store(d) as s:
        s.put_record(7, {"ok": 1})
        s.put_record(8, {"ok": 1})
        s.put_state(7, "HEDGED", _now())
        s.outbox_put(7, {"kind": "register"})
        s.put_value("old", 1)
    db = d / "cache.db"
    _plant_file_row(db, "trade:7", MODE_BINARY, str(outside[0]))  # absolute: the real path
    _plant_file_row(db, "state:7", MODE_TEXT, "../outside/keep2.txt")
    _plant_file_row(db, "outbox:7", MODE_BINARY, str(outside[2]))
    _plant_file_row(db, "value:old", MODE_BINARY, str(outside[3]), expired=True)
    _plant_file_row(db, "trade:8", MODE_TEXT, str(outside[0]))

    caplog.set_level(logging.ERROR, logger="dtms_plugin.store")
    with Store(d) as s:
        # get: refused without reading the file, reported
        assert s.get_record(7) is None
        assert s.get_state(7) is None
        assert s.records() == {}
        assert s.outbox_items() == []
        # put: the row becomes JSON text again; the file it named is not removed
        s.put_record(7, {"ok": 2})
        assert s.get_record(7) == {"ok": 2}
        # diskcache's own set() on a planted row hands its file name to Disk.remove
        s._cache.set("trade:8", {"ok": 3})
        # delete: diskcache hands the row's file name to Disk.remove after the delete
        s.delete_state(7)
        s.outbox_remove(7)
        # cull / expire: the expired row is deleted, its file is not
        s._cache.cull()
        s._cache.expire()
        assert s.get_value("old") is None
    for f in outside:
        assert f.read_text() == f"precious {f.name}", f
    messages = [r.getMessage() for r in caplog.records]
    assert any("'trade:7'" in m and "naming a file" in m for m in messages)
    assert any("'state:7'" in m and "mode 3" in m for m in messages)
    untouched = [m for m in messages if "left untouched" in m]
    assert any(str(outside[0]) in m for m in untouched)  # the set() on trade:8
    assert any("keep2.txt" in m for m in untouched)  # delete of state:7
    assert any(str(outside[2]) in m for m in untouched)  # outbox removal
    assert any(str(outside[3]) in m for m in untouched)  # the expired row culled


def test_planted_settings_are_never_applied(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    d = tmp_path / "dtms"
    with Store(d) as s:
        s.put_record(1, {"a": 1})
    db = d / "cache.db"
    planted = {
        "sqlite_query_only": 1,  # every write would fail
        "disk_evil": 1,  # an unknown Disk keyword: the Disk could not even be built
        "disk__directory": "/",  # a Disk attribute
        "disk": "diskcache.Disk",  # the default, unpickling Disk
        "eviction_policy": "least-recently-stored",  # culling records
        "size_limit": 1,
        "cull_limit": 10,
        "sqlite_synchronous": 0,
    }
    for key, value in planted.items():
        _sql(db, "INSERT OR REPLACE INTO Settings VALUES (?, ?)", key, value)

    caplog.set_level(logging.WARNING, logger="dtms_plugin.store")
    with Store(d) as s:
        for t in range(2, 60):  # writes work, and nothing is culled
            s.put_record(t, {"pad": "x" * 200})
        assert set(s.records()) == set(range(1, 60))
        assert type(s._cache.disk).__name__ == "JsonDisk"
        assert s._cache.disk._directory == str(d)
        assert s._cache._sql("PRAGMA query_only").fetchone()[0] == 0
        assert s._cache._sql("PRAGMA synchronous").fetchone()[0] == 1
        # planted while open: a new connection (another thread) would re-read the table
        _sql(db, "INSERT OR REPLACE INTO Settings VALUES ('sqlite_query_only', 1)")
        errors: list[BaseException] = []

        def write_from_another_thread() -> None:
            try:
                s.put_record(100, {"from": "thread"})
            except BaseException as exc:  # reported to the test below
                errors.append(exc)

        worker = threading.Thread(target=write_from_another_thread)
        worker.start()
        worker.join()
        assert errors == []
        assert s.get_record(100) == {"from": "thread"}
    con = sqlite3.connect(db)
    try:
        rows = dict(con.execute("SELECT key, value FROM Settings").fetchall())
    finally:
        con.close()
    assert not {"disk_evil", "disk__directory", "disk"} & set(rows)
    assert rows["eviction_policy"] == "none" and rows["cull_limit"] == 0
    warned = [r.getMessage() for r in caplog.records if "settings rows" in r.getMessage()]
    assert warned and str(d) in warned[0] and "'disk_evil'" in warned[0]


@pytest.mark.parametrize("damage", ["file_in_the_way", "foreign_schema"])
def test_a_store_that_cannot_be_opened_is_one_store_error(tmp_path: Path, damage: str) -> None:
    d = tmp_path / "dtms"
    if damage == "file_in_the_way":
        d.write_text("not a directory")
    else:
        d.mkdir(mode=0o700)
        _sql(d / "cache.db", "CREATE TABLE Cache (something_else TEXT)")
    with pytest.raises(StoreError) as err:
        Store(d)
    message = str(err.value)
    assert message.startswith(f"cannot open store in {d}: ")
    assert "\n" not in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_damaged_indexes_never_hide_intact_rows(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    d = tmp_path / "dtms"
    with Store(d) as s:
        for t in (3, 1, 2):
            s.put_record(t, {"t": t})
        s.put_record(3, {"t": 3, "again": True})  # an update keeps its place
        s.outbox_put(5, {"kind": "register"})
        s.outbox_put(4, {"kind": "register"})
        for i in range(3):
            s.append_action({"ticket": 1, "i": i})
    pickled = sqlite3.Binary(pickle.dumps([999]))
    db = d / "cache.db"
    for key in ("trade:index", "outbox:index", "actions:ticket:1"):  # old index keys too
        _sql(db, "DELETE FROM Cache WHERE key = ?", key)
        _sql(
            db,
            "INSERT INTO Cache (key, raw, store_time, expire_time, access_time, access_count,"
            " tag, size, mode, filename, value) VALUES (?, 1, ?, NULL, ?, 0, NULL, 0, 4, NULL, ?)",
            key,
            AT,
            AT,
            pickled,
        )
    caplog.set_level(logging.ERROR, logger="dtms_plugin.store")
    with Store(d) as s:
        assert s.records() == {3: {"t": 3, "again": True}, 1: {"t": 1}, 2: {"t": 2}}
        assert [t for t, _ in s.outbox_items()] == [5, 4] and s.outbox_len() == 2
        assert [e["i"] for e in s.actions(ticket=1)] == [0, 1, 2]  # rebuilt from the entries
        s.append_action({"ticket": 1, "i": 3})
        assert [e["i"] for e in s.actions(ticket=1)] == [0, 1, 2, 3]
    assert any("journal index of ticket 1 rebuilt" in r.getMessage() for r in caplog.records)


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(time.time(), UTC)


@pytest.mark.parametrize("counter", ['"abc"', "0", None], ids=["not-a-number", "lagging", "gone"])
def test_a_damaged_journal_counter_never_writes_over_the_history(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, counter: str | None
) -> None:
    """The journal's counter row planted (not a number), put back to 0 (an old copy), or
    deleted: the next entry was numbered 0 and wrote over the first one, so one trade's
    history answered another's entry, without a word (the security probe). The counter
    is rebuilt from the entries, said once at ERROR, and nothing is overwritten."""
    store = Store(tmp_path / "dtms")
    store.append_actions([{"ticket": 5018, "type": "close"}, {"ticket": 5018, "type": "x"}])
    store.close()
    db = tmp_path / "dtms" / "cache.db"
    if counter is None:
        _sql(db, "DELETE FROM Cache WHERE key = 'action:seq'")
    else:
        _sql(db, "UPDATE Cache SET value = ? WHERE key = 'action:seq'", counter)
    caplog.set_level(logging.ERROR, logger="dtms_plugin")
    store = Store(tmp_path / "dtms")
    assert [e["type"] for e in store.actions()] == ["close", "x"]  # read before any write
    store.append_actions([{"ticket": 9006, "type": "unregistered"}])
    assert [e["type"] for e in store.actions(5018)] == ["close", "x"]
    assert [e["type"] for e in store.actions(9006)] == ["unregistered"]
    assert [e["ticket"] for e in store.actions()] == [5018, 5018, 9006]
    said = [r.getMessage() for r in caplog.records if "journal counter" in r.getMessage()]
    assert len(said) == 1 and said[0].endswith("rebuilt from the entries: next is 2"), said
    store.append_actions([{"ticket": 9006, "type": "again"}])  # the counter is whole again
    assert [e["type"] for e in store.actions(9006)] == ["unregistered", "again"]
    store.close()


def test_an_index_naming_another_trade_s_entry_shows_none_of_it(tmp_path: Path) -> None:
    """A trade's journal index that names another trade's entry (planted, or left from a
    counter that went back) answers only the trade's own entries."""
    store = Store(tmp_path / "dtms")
    store.append_actions([{"ticket": 1, "type": "a"}, {"ticket": 2, "type": "b"}])
    store.close()
    _sql(tmp_path / "dtms" / "cache.db", "UPDATE Cache SET value = '[0, 1]' WHERE key = ?",
         "actions:ticket:1")  # fmt: skip
    store = Store(tmp_path / "dtms")
    assert [e["type"] for e in store.actions(1)] == ["a"]
    store.close()


def test_an_unreadable_row_is_listed_damaged_said_once_and_let_go_when_mended(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A record row that is not JSON hid its trade while ``/health`` said healthy with
    ``damaged: []`` (only the Redis store kept its unreadable keys), and its ERROR came on
    every read (the security probe). It is in :attr:`Store.damaged` (what ``/health``
    lists), said once, and let go when the row reads well again."""
    from dtms_plugin.server.store_health import damaged_keys

    store = Store(tmp_path / "dtms")
    store.put_record(9006, {"state": "HEALTHY"})
    store.close()
    db = tmp_path / "dtms" / "cache.db"
    _sql(db, "UPDATE Cache SET value = 'not json' WHERE key = 'trade:9006'")
    caplog.set_level(logging.ERROR, logger="dtms_plugin")
    store = Store(tmp_path / "dtms")
    for _ in range(3):
        assert store.get_record(9006) is None
    assert damaged_keys(store) == ["trade:9006"]
    said = [r for r in caplog.records if "unreadable row 'trade:9006'" in r.getMessage()]
    assert len(said) == 1
    store.put_record(9006, {"state": "HEALTHY"})  # mended
    assert store.get_record(9006) == {"state": "HEALTHY"}
    assert damaged_keys(store) == []
    store.close()
