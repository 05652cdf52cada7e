"""The registration stream is trimmed of its applied entries (every registration ever
queued stayed on it, ~256 bytes each), never of one a replica has not read or has not
acknowledged; a replica that joins after the trim still learns every open trade, from
the records (replicas in one process on a real redis-server)."""

from __future__ import annotations

import time

from support.replica_kit import live_replica

from dtms_plugin.server.replica_stream import GROUP
from dtms_plugin.store.redis_store import RedisStore

STREAM = "dtms:registrations"


def _queue(store: RedisStore, tickets: range) -> list[str]:
    a = live_replica(store)
    return [a.publish({"ticket": t, "symbol": "XAUUSD"}) for t in tickets]


def test_the_stream_keeps_only_what_is_unread_or_unacknowledged(
    stores: list[RedisStore],
) -> None:
    a = live_replica(stores[0])
    a.create_group()
    applied = _queue(stores[1], range(1, 501))
    read: list[str] = []
    while len(read) < len(applied):
        read += [entry for entry, _ in a.read(100)]
    for entry in read:
        a.done(entry, {"created": True})
    pending = [entry for entry, _ in (_queue(stores[1], range(501, 503)) and a.read(100))]
    unread = _queue(stores[1], range(503, 506))
    assert a.trim() == 0  # applied an hour ago at the earliest: kept
    client = stores[2].client
    assert client.xlen(STREAM) == 505
    time.sleep(0.01)  # a bound of 0 ms: past the millisecond of the last entry
    assert a.trim(keep_ms=0) == 500
    assert [e for e, _ in client.xrange(STREAM)] == pending + unread
    a.done(pending[0], {"created": True})
    assert a.trim(keep_ms=0) == 1  # the other one is still pending
    assert [e for e, _ in client.xrange(STREAM)] == pending[1:] + unread
    # the unread ones are delivered as ever, to any replica of the group
    b = live_replica(stores[2])
    assert [body["ticket"] for _, body in b.read(100)] == [503, 504, 505]
    assert client.xinfo_groups(STREAM)[0]["name"] == GROUP


def test_a_replica_joining_after_the_trim_learns_every_open_trade(
    stores: list[RedisStore],
) -> None:
    a = live_replica(stores[0])
    a.create_group()
    for ticket in range(1, 6):
        a.publish({"ticket": ticket, "symbol": "XAUUSD"})
    for entry, body in a.read(100):
        assert a.acquire(body["ticket"])
        stores[0].put_record(body["ticket"], {"ticket": body["ticket"], "state": "HEALTHY"})
        a.done(entry, {"created": True})
    time.sleep(0.01)
    assert a.trim(keep_ms=0) == 5 and stores[2].client.xlen(STREAM) == 0
    a.release()  # a shuts down: its leases go
    stores[2].client.delete(f"dtms:replica:{a.id}")
    joined = live_replica(stores[1])
    assert sorted(joined.claim()) == [1, 2, 3, 4, 5]
