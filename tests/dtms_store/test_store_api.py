"""The store's API: records, state cache, account mode, journal, outbox; every test that
takes ``open_store`` runs against both backends: a real diskcache directory in tmp_path and
a real redis-server (tests/support/redis_server.py)."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from dtms_plugin.store import Store, StoreError, StoreProtocol

T0 = datetime(2026, 3, 2, 12, 0, 0, 123456, tzinfo=UTC)

Opener = Callable[..., StoreProtocol]


@pytest.fixture(params=["diskcache", "redis"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a store of the backend under test on one location (keywords: max_actions)."""
    opened: list[StoreProtocol] = []

    def open_one(**options: Any) -> StoreProtocol:
        if request.param == "redis":
            from dtms_plugin.store.redis_store import RedisStore

            url = request.getfixturevalue("redis_server").url(1)
            store: StoreProtocol = RedisStore(url, **options)
        else:
            store = Store(tmp_path / "dtms", **options)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


@pytest.fixture
def store(open_store: Opener) -> StoreProtocol:
    return open_store()


def test_directory_is_private(tmp_path: Path) -> None:
    Store(tmp_path / "a" / "dtms").close()
    assert stat.S_IMODE((tmp_path / "a" / "dtms").stat().st_mode) == 0o700


def test_existing_open_directory_is_tightened(tmp_path: Path) -> None:
    d = tmp_path / "dtms"
    d.mkdir(mode=0o755)
    d.chmod(0o755)
    Store(d).close()
    assert stat.S_IMODE(d.stat().st_mode) == 0o700


def test_a_shared_folder_keeps_its_mode(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """``state_dir`` naming a folder others use (mode 1777, their files in it): it was
    tightened to 0700, locking them out of their own files (the security probe). It keeps
    its mode, said at WARNING with what it holds."""
    d = tmp_path / "shared"
    d.mkdir()
    d.chmod(0o1777)
    (d / "someone-else.txt").write_text("theirs")
    Store(d).close()
    assert stat.S_IMODE(d.stat().st_mode) == 0o1777
    said = [r.getMessage() for r in caplog.records if "is shared" in r.getMessage()]
    assert said and "(holds someone-else.txt)" in said[0] and "left as it is" in said[0]
    empty = tmp_path / "empty-shared"  # sticky, nothing in it yet: shared all the same
    empty.mkdir()
    empty.chmod(0o1777)
    Store(empty).close()
    assert stat.S_IMODE(empty.stat().st_mode) == 0o1777


def test_records_round_trip_and_survive_reopen(open_store: Opener) -> None:
    with open_store() as s:
        s.put_record(7, {"state": "HEALTHY", "seq": 1, "sl": 1.5, "tags": ["a"]})
        s.put_record(8, {"state": "HEDGED", "hedge_ticket": 99})
        s.put_record(7, {"state": "WARNING_L1", "seq": 2})
    with open_store() as s:
        assert s.get_record(7) == {"state": "WARNING_L1", "seq": 2}
        assert s.records() == {7: {"state": "WARNING_L1", "seq": 2}, 8: s.get_record(8)}
        assert s.get_record(8) == {"state": "HEDGED", "hedge_ticket": 99}
        assert s.get_record(9) is None


def test_delete_record(store: StoreProtocol) -> None:
    store.put_record(1, {"a": 1})
    store.put_record(2, {"a": 2})
    store.delete_record(1)
    store.delete_record(42)  # absent: no error
    assert store.get_record(1) is None
    assert store.records() == {2: {"a": 2}}


def test_records_lists_only_trades(store: StoreProtocol) -> None:
    store.put_record(1, {"a": 1})
    store.put_state(2, "HEDGED", T0)
    store.outbox_put(3, {"kind": "register"})
    store.append_action({"ticket": 4, "kind": "hedge"})
    assert store.records() == {1: {"a": 1}}


def test_non_json_record_is_a_store_error_and_keeps_the_old_one(store: StoreProtocol) -> None:
    store.put_record(1, {"a": 1})
    with pytest.raises(StoreError, match="record of ticket 1"):
        store.put_record(1, {"a": object()})
    with pytest.raises(StoreError):
        store.put_record(1, {"a": float("nan")})
    assert store.get_record(1) == {"a": 1}


def test_state_round_trip_is_utc_aware(store: StoreProtocol) -> None:
    assert store.get_state(5) is None
    paris = timezone(timedelta(hours=1))
    store.put_state(5, "HEDGED", T0.astimezone(paris))
    state, at = store.get_state(5) or (None, None)
    assert state == "HEDGED"
    assert at == T0
    assert at is not None and at.utcoffset() == timedelta(0)


def test_state_none_means_not_managed(store: StoreProtocol) -> None:
    store.put_state(5, None, T0)
    assert store.get_state(5) == (None, T0)


def test_naive_time_is_refused(store: StoreProtocol) -> None:
    with pytest.raises(StoreError, match="naive"):
        store.put_state(5, "HEDGED", datetime(2026, 1, 1))
    assert store.get_state(5) is None


def test_account_mode_set_and_clear(store: StoreProtocol) -> None:
    assert store.get_account_mode() is None
    store.put_account_mode(T0 + timedelta(hours=1), "daily loss 2.1%")
    assert store.get_account_mode() == (T0 + timedelta(hours=1), "daily loss 2.1%")
    store.put_account_mode(None, "reset")
    assert store.get_account_mode() is None


def test_actions_journal_newest_limit_oldest_first(store: StoreProtocol) -> None:
    for i in range(10):
        store.append_action({"ticket": 1 if i % 2 else 2, "i": i})
    store.append_action({"kind": "account", "i": 10})  # no ticket
    assert [e["i"] for e in store.actions()] == list(range(11))
    assert [e["i"] for e in store.actions(limit=3)] == [8, 9, 10]
    assert [e["i"] for e in store.actions(ticket=1)] == [1, 3, 5, 7, 9]
    assert [e["i"] for e in store.actions(ticket=2, limit=2)] == [6, 8]
    assert store.actions(ticket=3) == []
    assert store.actions(limit=0) == []
    # counted without reading them: GET /dtms/actions's total_actions
    assert (store.actions_count(), store.actions_count(1), store.actions_count(2)) == (11, 5, 5)
    assert store.actions_count(3) == 0


def test_actions_journal_is_pruned_but_a_trade_keeps_its_newest(
    open_store: Opener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal as a whole shows its newest ``max_actions``; a trade's own history
    keeps its newest PER_TICKET_ACTIONS while the trade is kept, however busy the store
    (it used to lose them with the global window: a quiet trade's history went empty
    after 10,000 other entries)."""
    from dtms_plugin.store import core, redis_calls

    for module in (core, redis_calls):
        monkeypatch.setattr(module, "PER_TICKET_ACTIONS", 8)
    with open_store(max_actions=5) as s:
        s.append_action({"ticket": 1, "i": 0})  # a quiet trade's one action
        for i in range(1, 12):
            s.append_action({"kind": "account", "i": i})  # entries of no trade
        for i in range(12, 24):
            s.append_action({"ticket": 2, "i": i})
        assert [e["i"] for e in s.actions(limit=100)] == [19, 20, 21, 22, 23]
        assert [e["i"] for e in s.actions(ticket=1)] == [0]
        assert [e["i"] for e in s.actions(ticket=2, limit=100)] == list(range(16, 24))
        # what is kept, counted: the window's five and the quiet trade's older one
        assert (s.actions_count(), s.actions_count(1), s.actions_count(2)) == (9, 1, 8)


def test_outbox_order_replace_remove(store: StoreProtocol) -> None:
    assert store.outbox_items() == [] and store.outbox_len() == 0
    store.outbox_put(3, {"kind": "register", "v": 1})
    store.outbox_put(1, {"kind": "register", "v": 1})
    store.outbox_put(2, {"kind": "register", "v": 1})
    store.outbox_put(3, {"kind": "unregister", "v": 2})  # replaced in place
    assert store.outbox_items() == [
        (3, {"kind": "unregister", "v": 2}),
        (1, {"kind": "register", "v": 1}),
        (2, {"kind": "register", "v": 1}),
    ]
    assert store.outbox_len() == 3
    store.outbox_remove(1)
    store.outbox_remove(1)
    assert [t for t, _ in store.outbox_items()] == [3, 2]
    assert store.outbox_len() == 2


def test_outbox_remove_if_keeps_a_newer_entry(store: StoreProtocol) -> None:
    store.outbox_put(3, {"kind": "register", "v": 1})
    store.outbox_put(3, {"kind": "unregister", "v": 2})
    assert store.outbox_remove_if(3, {"kind": "register", "v": 1}) is False
    assert store.outbox_items() == [(3, {"kind": "unregister", "v": 2})]
    assert store.outbox_remove_if(3, {"kind": "unregister", "v": 2}) is True
    assert store.outbox_len() == 0


def test_only_json_text_rows_are_written(tmp_path: Path) -> None:
    store = Store(tmp_path / "dtms")
    store.put_record(1, {"a": [1, 2]})
    store.put_state(1, "HEDGED", T0)
    store.put_account_mode(T0, "x")
    store.append_action({"ticket": 1})
    store.outbox_put(1, {"kind": "register"})
    store.close()
    con = sqlite3.connect(tmp_path / "dtms" / "cache.db")
    try:
        rows = con.execute("SELECT key, raw, mode, filename, typeof(value) FROM Cache").fetchall()
    finally:
        con.close()
    assert rows
    for key, raw, mode, filename, kind in rows:
        assert (raw, mode, filename, kind) == (1, 1, None, "text"), key


def test_batch_commits_together_and_reads_inside_see_its_writes(store: StoreProtocol) -> None:
    store.put_record(1, {"v": 1})
    with store.batch():
        store.put_records({1: {"v": 2}, 2: {"v": 1}})
        with store.batch():  # a batch inside a batch is part of it
            store.put_states({1: "HEDGED", 2: None}, T0)
        store.append_actions([{"ticket": 1, "i": 0}, {"ticket": 2, "i": 1}])
        store.put_value("n", 5)
        assert store.get_record(1) == {"v": 2}
        assert store.get_state(2) == (None, T0)
        assert store.get_value("n") == 5
        assert store.records() == {1: {"v": 2}, 2: {"v": 1}}
    assert store.records() == {1: {"v": 2}, 2: {"v": 1}}
    assert store.get_state(1) == ("HEDGED", T0)
    assert [e["i"] for e in store.actions()] == [0, 1]


def test_failed_batch_writes_nothing(store: StoreProtocol) -> None:
    store.put_record(1, {"v": 1})
    with pytest.raises(StoreError), store.batch():
        store.put_record(1, {"v": 2})
        store.put_state(1, "HEDGED", T0)
        store.append_action({"ticket": 1})
        store.put_record(2, {"bad": object()})
    assert store.records() == {1: {"v": 1}}
    assert store.get_state(1) is None and store.actions() == []
    store.put_record(1, {"v": 3})  # the store still works after the failure
    assert store.get_record(1) == {"v": 3}


def test_batch_left_by_an_exception_writes_nothing(store: StoreProtocol) -> None:
    with pytest.raises(KeyError), store.batch():
        store.put_record(1, {"v": 1})
        raise KeyError("boom")
    assert store.records() == {}


def test_values_and_update_value(open_store: Opener) -> None:
    a, b = open_store(), open_store()
    assert a.get_value("n") is None
    a.put_value("n", {"count": 1})
    assert b.get_value("n") == {"count": 1}
    assert b.update_value("n", lambda v: {"count": v["count"] + 1}) == {"count": 2}
    assert a.get_value("n") == {"count": 2}


def test_archive_and_retention(store: StoreProtocol) -> None:
    old = datetime(2026, 1, 1, tzinfo=UTC).isoformat()
    store.put_record(1, {"state": "CLOSED", "closed_at": old, "opened_at": "t1"})
    store.put_record(2, {"state": "CLOSED", "closed_at": old, "owed": ["hedge"]})
    store.put_record(3, {"state": "HEALTHY"})
    store.put_state(1, "CLOSED", T0)
    store.append_action({"ticket": 1, "i": 0})
    assert store.archive_record(3) is not None and store.archive_record(9) is None
    assert store.archived(3) == [{"state": "HEALTHY"}] and store.get_record(3) is None
    assert store.purge_closed(T0) == [1]  # 2 still owes an action: kept
    assert store.records() == {2: {"state": "CLOSED", "closed_at": old, "owed": ["hedge"]}}
    assert store.get_state(1) is None and store.actions(ticket=1) == []


def test_archives_are_listed_and_retention_removes_them(store: StoreProtocol) -> None:
    """Archived records are finished trades too: listed for ``dtms export`` and the
    status, and removed by retention past their close (they were kept for ever)."""
    old = {"state": "CLOSED", "closed_at": "2026-01-02T00:00:00+00:00", "opened_at": "a"}
    late = {"state": "CLOSED", "closed_at": "2026-03-02T00:00:00+00:00", "opened_at": "b"}
    for ticket, record in ((3, old), (3, late), (4, old)):
        store.put_record(ticket, record)
        store.archive_record(ticket)
    store.put_record(3, {"state": "HEALTHY"})
    assert sorted(store.archives(), key=lambda e: (e[0], e[1]["opened_at"])) == [
        (3, old), (3, late), (4, old)
    ]  # fmt: skip
    assert store.purge_closed(datetime(2026, 2, 1, tzinfo=UTC)) == []
    assert store.archives() == [(3, late)] and store.get_record(3) == {"state": "HEALTHY"}
