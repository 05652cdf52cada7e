"""The records' listing (dtms_plugin/store/listing.py), on both backends (a real diskcache
directory and a real redis-server): every writer keeps it (no write leaves it to be
rebuilt), it always equals what the records themselves say, and one that is missing
(a store written by an older version), unreadable, or of another record version is
rebuilt from the records, said in one log line and written back; a planted row is
never decoded for it."""

from __future__ import annotations

import logging
import pickle
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.dashboard_reference import records, tickets
from support.redis_server import RedisServer

from dtms_plugin.store import Encoded, Store, StoreProtocol
from dtms_plugin.store.listing import Listed, listed

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
REBUILT = "rebuilt from the records"

Opener = Callable[[], StoreProtocol]


@pytest.fixture(params=["diskcache", "redis"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a store of the backend under test, every time on the same location."""
    opened: list[StoreProtocol] = []

    def open_one() -> StoreProtocol:
        if request.param == "redis":
            from dtms_plugin.store.redis_store import RedisStore

            store: StoreProtocol = RedisStore(request.getfixturevalue("redis_server").url(1))
        else:
            store = Store(tmp_path / "dtms")
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        store.close()


def _projection(store: StoreProtocol) -> dict[int, Listed]:
    return {t: listed(r) for t, r in store.records().items()}


def _rebuilt(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if REBUILT in r.getMessage()]


def _strip(store: StoreProtocol, value: str | None = None) -> None:
    """Every record's stored entry made absent (as an older version leaves it) or made
    ``value``, behind the store's back."""
    if isinstance(store, Store):
        con = sqlite3.connect(store.directory / "cache.db")
        con.execute("UPDATE Cache SET tag = ? WHERE key LIKE 'trade:%'", (value,))
        con.commit()
        con.close()
        return
    client: Any = store.client  # type: ignore[attr-defined]
    for key in client.keys("dtms:trade:*"):
        if value is None:
            client.hdel(key, "l", "lv")
        else:
            client.hset(key, "l", value)


def _closed(ticket: int, at: datetime, **more: Any) -> dict[str, Any]:
    return {
        "ticket": ticket,
        "state": "CLOSED",
        "symbol": "XAUUSD",
        "opened_at": (at - timedelta(hours=1)).isoformat(),
        "closed_at": at.isoformat(),
        "owed": [],
        **more,
    }


def test_every_writer_keeps_the_listing(
    open_store: Opener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dtms_plugin.store")
    store = open_store()
    store.put_record(1, {"state": "HEALTHY", "symbol": "XAUUSD", "opened_at": "2026-01-01"})
    store.put_record(2, Encoded('{"state":"HEDGED","trade":{"symbol":"EURUSD"}}'))
    store.put_records({3: _closed(3, T0 - timedelta(days=40)), 4: _closed(4, T0)})
    with store.batch():
        store.put_record(5, {"state": "WARNING_L1", "opened_at": "2026-01-02"})
        store.put_record(1, {"state": "WARNING_L2", "symbol": "XAUUSD"})
        assert store.listing() == _projection(store)  # the batch's own writes
        store.delete_record(2)
    store.put_record(6, {"state": "HEALTHY"})
    store.archive_record(6)  # a broker reusing ticket 6
    store.put_record(6, {"state": "RECOVERING", "symbol": "BTCUSD"})
    assert store.purge_closed(T0 - timedelta(days=30)) == [3]
    store.put_record(7, [1, 2])  # not a record: listed by neither
    expected = {
        1: Listed("WARNING_L2", "XAUUSD", None, None),
        4: Listed("CLOSED", "XAUUSD", (T0 - timedelta(hours=1)).isoformat(), T0.isoformat()),
        5: Listed("WARNING_L1", None, "2026-01-02", None),
        6: Listed("RECOVERING", "BTCUSD", None, None),
    }
    assert store.listing() == _projection(store) == expected
    assert list(store.get_records([6, 99, 1, 7])) == [6, 1]
    assert _rebuilt(caplog) == []  # no writer left its entry to be rebuilt
    with open_store() as again:  # another process (or replica) reads what this one wrote
        assert again.listing() == expected
    assert _rebuilt(caplog) == []


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_the_listing_is_what_the_records_say(
    open_store: Opener, data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever a writer stored, in whatever order, the listing equals the projection of
    the records a full read finds, without anything rebuilt."""
    store = open_store()
    for ticket in list(store.records()):  # each example from an empty store
        store.delete_record(ticket)
    caplog.clear()
    for _ in range(data.draw(st.integers(1, 6))):
        rows = data.draw(st.dictionaries(tickets(), records(), max_size=6))
        how = data.draw(st.sampled_from(["one", "many", "batch", "encoded", "delete"]))
        if how == "one":
            for ticket, record in rows.items():
                store.put_record(ticket, record)
        elif how == "encoded":
            store.put_records({t: Encoded(_json(r)) for t, r in rows.items()})
        elif how == "many":
            store.put_records(rows)
        elif how == "batch":
            with store.batch():
                store.put_records(rows)
                for ticket in [t for t in rows if t % 3 == 0]:
                    store.delete_record(ticket)
        else:
            for ticket in list(store.records())[: len(rows)]:
                store.delete_record(ticket)
    assert store.listing() == _projection(store)
    assert _rebuilt(caplog) == []


def _json(record: dict[str, Any]) -> str:
    import json

    return json.dumps(record, separators=(",", ":"))


def test_a_store_written_without_a_listing_is_listed_from_its_records(
    open_store: Opener, caplog: pytest.LogCaptureFixture
) -> None:
    """An upgrade: records written by a version before the listing are listed from their
    records, once, said in one line, and their entries written back."""
    store = open_store()
    store.put_records({t: {"state": "HEALTHY", "opened_at": f"2026-01-{t:02}"} for t in (1, 2)})
    store.put_record(3, _closed(3, T0))
    expected = _projection(store)
    _strip(store)
    caplog.set_level(logging.INFO, logger="dtms_plugin.store")
    assert store.listing() == expected
    lines = _rebuilt(caplog)
    assert len(lines) == 1 and "3 records" in lines[0] and "older version" in lines[0]
    caplog.clear()
    with open_store() as other:
        assert other.listing() == expected
    assert _rebuilt(caplog) == []  # written back: read as entries now


@pytest.mark.parametrize(
    "damage", ["junk", '{"state":"HEALTHY"}', "[2,null,null,null,null]", "[1,5,null,null,null]"]
)
def test_an_unreadable_listing_is_rebuilt_from_the_records(
    open_store: Opener, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    store = open_store()
    store.put_record(1, {"state": "HEDGED", "symbol": "XAUUSD"})
    store.put_record(2, _closed(2, T0))
    expected = _projection(store)
    _strip(store, damage)
    caplog.set_level(logging.INFO, logger="dtms_plugin.store")
    assert store.listing() == expected
    (line,) = _rebuilt(caplog)
    assert "2 unreadable or disagreeing" in line
    caplog.clear()
    assert store.listing() == expected
    assert _rebuilt(caplog) == []


def test_an_entry_disagreeing_with_its_record_is_rebuilt_when_asked(
    open_store: Opener, caplog: pytest.LogCaptureFixture
) -> None:
    """A well-formed entry that lies (only a hand at the database writes one) is found
    by whoever reads that record (the dashboard reads its page's) and rebuilt."""
    store = open_store()
    store.put_record(1, _closed(1, T0))
    _strip(store, '[1,"HEDGED","XAUUSD",null,null]')
    assert store.listing()[1].state == "HEDGED"  # believed: nothing says otherwise
    caplog.set_level(logging.INFO, logger="dtms_plugin.store")
    assert store.listing(mend=[1]) == _projection(store)
    assert len(_rebuilt(caplog)) == 1
    assert store.listing()[1].state == "CLOSED"


def test_a_planted_row_is_never_decoded_for_the_listing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A record row that is not JSON text (a pickle that would run code, a file name) is
    listed by no tag it carries and is never decoded, as ``records()`` refuses it."""
    ran = tmp_path / "ran"
    d = tmp_path / "dtms"
    with Store(d) as s:
        s.put_records({7: {"state": "HEALTHY"}, 8: {"state": "HEALTHY"}, 9: {"state": "HEDGED"}})
    con = sqlite3.connect(d / "cache.db")
    evil = pickle.dumps(_Runs(str(ran)))
    good_tag = '[1,"HEALTHY","XAUUSD",null,null]'
    con.execute(
        "UPDATE Cache SET mode = 4, value = ?, tag = ? WHERE key = 'trade:7'", (evil, good_tag)
    )
    con.execute(
        "UPDATE Cache SET mode = 2, filename = '/etc/passwd', value = NULL, tag = ?"
        " WHERE key = 'trade:8'",
        (good_tag,),
    )
    con.execute("UPDATE Cache SET tag = NULL WHERE key = 'trade:9'")  # read from its record
    con.commit()
    con.close()
    with Store(d) as s:
        caplog.set_level(logging.INFO, logger="dtms_plugin.store")
        assert s.listing() == {9: Listed("HEDGED", None, None, None)}
        assert s.get_records([7, 8, 9]) == {9: {"state": "HEDGED"}}
        assert set(s.records()) == {9}
    assert not ran.exists()
    messages = [r.getMessage() for r in caplog.records]
    assert any("'trade:7'" in m and "not JSON text" in m for m in messages)


class _Runs:
    """Unpickled, it would create a file: proof that nothing unpickled it."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


def test_replicas_read_each_others_listing_and_an_older_replica_is_found(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Replicas share one Redis: what one writes another lists without rebuilding; a
    fencing token moves the entry on with its record; a record written by a replica of
    an older version (its version moved on, its entry not) is listed from the record."""
    from dtms_plugin.store.redis_store import RedisStore

    with RedisStore(redis_server.url()) as a, RedisStore(redis_server.url()) as b:
        caplog.set_level(logging.INFO, logger="dtms_plugin.store")
        a.put_records({1: {"state": "HEALTHY"}, 2: {"state": "HEDGED"}})
        assert b.listing() == _projection(a)
        b.adopt([1, 2], fence=True)  # b takes them over: their versions move on
        assert a.listing() == _projection(a)
        assert _rebuilt(caplog) == []
        b.put_record(1, {"state": "WARNING_L1"})  # b's write after a's listing
        # a replica of an older version writes a record its own way: j and v, no entry
        a.client.hset("dtms:trade:2", "j", '{"state":"CLOSED"}')
        a.client.hincrby("dtms:trade:2", "v", 1)
        b.adopt([2])  # b reads it at that version
        listing = a.listing()
        assert listing == _projection(a)
        assert (listing[1].state, listing[2].state) == ("WARNING_L1", "CLOSED")
        (line,) = _rebuilt(caplog)
        assert "1 records" in line and "older version" in line
        caplog.clear()
        b.put_record(2, {"state": "CLOSED", "by": "b"})  # rebuilding moved no version
        assert b.listing() == a.listing() == _projection(a)
        assert _rebuilt(caplog) == []


@pytest.mark.parametrize("symbol", ["XAUUSD", "золото", "\ud800 lone surrogate"])
def test_any_text_a_record_holds_is_listed_as_a_read_finds_it(
    open_store: Opener, caplog: pytest.LogCaptureFixture, symbol: str
) -> None:
    """Whatever text a record holds (not ASCII; a lone surrogate, which the standard
    encoder writes and orjson refuses), its entry is what a read of it finds, or, when
    the backend's reader cannot read the record at all, neither lists it."""
    caplog.set_level(logging.INFO, logger="dtms_plugin.store")
    store = open_store()
    store.put_record(1, {"state": "HEALTHY", "symbol": symbol})
    assert store.listing() == _projection(store)
    assert store.listing() == _projection(store)
    assert _rebuilt(caplog) == []


def test_the_redis_listing_reads_chunk_by_chunk_whatever_is_planted(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Read a few tickets a script call: every record is listed once, a member planted
    with another's score is not jumped over, and a member or an entry holding a line
    break, or a key of the wrong type, shifts nothing and hides no other record."""
    from dtms_plugin.store import redis_listing
    from dtms_plugin.store.redis_store import RedisStore

    monkeypatch.setattr(redis_listing, "LISTING_CHUNK", 3)
    with RedisStore(redis_server.url()) as s:
        s.put_records({t: {"state": "HEALTHY", "n": t} for t in range(1, 11)})
        c = s.client
        c.zadd("dtms:trades", {"11": c.zscore("dtms:trades", "3")})  # a score 3 holds
        c.hset("dtms:trade:11", mapping={"v": 1, "j": '{"state":"HEDGED"}'})
        c.hset("dtms:trade:4", "l", '[1,"HEDGED",null,null,null]\n5\n[1,"CLOSED"]')
        c.zadd("dtms:trades", {"12\n13": 100})
        c.set("dtms:trade:14", "not a hash")
        c.zadd("dtms:trades", {"14": 101})
        caplog.set_level(logging.INFO, logger="dtms_plugin.store")
        listing = s.listing()
        assert listing == {t: listed(s.get_record(t) or {}) for t in range(1, 12)}
        # records() reads past a member that spells no ticket, as the listing does
        assert sorted(s.records()) == list(range(1, 12))
        assert (listing[4].state, listing[11].state) == ("HEALTHY", "HEDGED")
        assert "dtms:trade:14" in s.damaged


@pytest.mark.parametrize(
    "text",
    ['{"state": "HEALTHY", "symbol": "XAUUSD"}', '{"symbol": "\\ud800"}',
     '{"ticket": 123456789012345678901234567890}', '{"x": NaN}', '{"a": 1, "a": 2}'],
)  # fmt: skip
def test_the_redis_listing_reads_a_record_as_the_standard_decoder_does(text: str) -> None:
    """orjson first for speed; what it refuses (a lone surrogate, NaN) falls back, so the
    entry is what a read of the record finds."""
    import json

    from dtms_plugin.store.listing import lenient_loads, listing_text

    assert listing_text(text, lenient_loads) == listing_text(text, json.loads)
