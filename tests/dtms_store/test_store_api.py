"""The store's API: records, state cache, account mode, journal, outbox; all on a real
diskcache directory in tmp_path."""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from dtms_plugin.store import Store, StoreError

T0 = datetime(2026, 3, 2, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "dtms")
    yield s
    s.close()


def test_directory_is_private(tmp_path: Path) -> None:
    Store(tmp_path / "a" / "dtms").close()
    assert stat.S_IMODE((tmp_path / "a" / "dtms").stat().st_mode) == 0o700


def test_existing_open_directory_is_tightened(tmp_path: Path) -> None:
    d = tmp_path / "dtms"
    d.mkdir(mode=0o755)
    d.chmod(0o755)
    Store(d).close()
    assert stat.S_IMODE(d.stat().st_mode) == 0o700


def test_records_round_trip_and_survive_reopen(tmp_path: Path) -> None:
    with Store(tmp_path / "dtms") as s:
        s.put_record(7, {"state": "HEALTHY", "seq": 1, "sl": 1.5, "tags": ["a"]})
        s.put_record(8, {"state": "HEDGED", "hedge_ticket": 99})
        s.put_record(7, {"state": "WARNING_L1", "seq": 2})
    with Store(tmp_path / "dtms") as s:
        assert s.get_record(7) == {"state": "WARNING_L1", "seq": 2}
        assert s.records() == {7: {"state": "WARNING_L1", "seq": 2}, 8: s.get_record(8)}
        assert s.get_record(8) == {"state": "HEDGED", "hedge_ticket": 99}
        assert s.get_record(9) is None


def test_delete_record(store: Store) -> None:
    store.put_record(1, {"a": 1})
    store.put_record(2, {"a": 2})
    store.delete_record(1)
    store.delete_record(42)  # absent: no error
    assert store.get_record(1) is None
    assert store.records() == {2: {"a": 2}}


def test_records_lists_only_trades(store: Store) -> None:
    store.put_record(1, {"a": 1})
    store.put_state(2, "HEDGED", T0)
    store.outbox_put(3, {"kind": "register"})
    store.append_action({"ticket": 4, "kind": "hedge"})
    assert store.records() == {1: {"a": 1}}


def test_non_json_record_is_a_store_error_and_keeps_the_old_one(store: Store) -> None:
    store.put_record(1, {"a": 1})
    with pytest.raises(StoreError, match="record of ticket 1"):
        store.put_record(1, {"a": object()})
    with pytest.raises(StoreError):
        store.put_record(1, {"a": float("nan")})
    assert store.get_record(1) == {"a": 1}


def test_state_round_trip_is_utc_aware(store: Store) -> None:
    assert store.get_state(5) is None
    paris = timezone(timedelta(hours=1))
    store.put_state(5, "HEDGED", T0.astimezone(paris))
    state, at = store.get_state(5) or (None, None)
    assert state == "HEDGED"
    assert at == T0
    assert at is not None and at.utcoffset() == timedelta(0)


def test_state_none_means_not_managed(store: Store) -> None:
    store.put_state(5, None, T0)
    assert store.get_state(5) == (None, T0)


def test_naive_time_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="naive"):
        store.put_state(5, "HEDGED", datetime(2026, 1, 1))
    assert store.get_state(5) is None


def test_account_mode_set_and_clear(store: Store) -> None:
    assert store.get_account_mode() is None
    store.put_account_mode(T0 + timedelta(hours=1), "daily loss 2.1%")
    assert store.get_account_mode() == (T0 + timedelta(hours=1), "daily loss 2.1%")
    store.put_account_mode(None, "reset")
    assert store.get_account_mode() is None


def test_actions_journal_newest_limit_oldest_first(store: Store) -> None:
    for i in range(10):
        store.append_action({"ticket": 1 if i % 2 else 2, "i": i})
    store.append_action({"kind": "account", "i": 10})  # no ticket
    assert [e["i"] for e in store.actions()] == list(range(11))
    assert [e["i"] for e in store.actions(limit=3)] == [8, 9, 10]
    assert [e["i"] for e in store.actions(ticket=1)] == [1, 3, 5, 7, 9]
    assert [e["i"] for e in store.actions(ticket=2, limit=2)] == [6, 8]
    assert store.actions(ticket=3) == []
    assert store.actions(limit=0) == []


def test_actions_journal_is_pruned(tmp_path: Path) -> None:
    with Store(tmp_path / "dtms", max_actions=5) as s:
        for i in range(12):
            s.append_action({"ticket": 1, "i": i})
        assert [e["i"] for e in s.actions(limit=100)] == [7, 8, 9, 10, 11]
        assert [e["i"] for e in s.actions(ticket=1)] == [7, 8, 9, 10, 11]


def test_outbox_order_replace_remove(store: Store) -> None:
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


def test_outbox_remove_if_keeps_a_newer_entry(store: Store) -> None:
    store.outbox_put(3, {"kind": "register", "v": 1})
    store.outbox_put(3, {"kind": "unregister", "v": 2})
    assert store.outbox_remove_if(3, {"kind": "register", "v": 1}) is False
    assert store.outbox_items() == [(3, {"kind": "unregister", "v": 2})]
    assert store.outbox_remove_if(3, {"kind": "unregister", "v": 2}) is True
    assert store.outbox_len() == 0


def test_only_json_text_rows_are_written(store: Store, tmp_path: Path) -> None:
    store.put_record(1, {"a": [1, 2]})
    store.put_state(1, "HEDGED", T0)
    store.put_account_mode(T0, "x")
    store.append_action({"ticket": 1})
    store.outbox_put(1, {"kind": "register"})
    con = sqlite3.connect(tmp_path / "dtms" / "cache.db")
    try:
        rows = con.execute("SELECT key, raw, mode, filename, typeof(value) FROM Cache").fetchall()
    finally:
        con.close()
    assert rows
    for key, raw, mode, filename, kind in rows:
        assert (raw, mode, filename, kind) == (1, 1, None, "text"), key
