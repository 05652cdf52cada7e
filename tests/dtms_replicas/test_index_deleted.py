"""``DEL dtms:trades`` by hand (the index of the trade records) with trades open: their
records stayed, but nothing listed them (``/dtms/trades`` total 0) and nobody claimed them
once their holder died, without a word. Each renewal at the start of a cycle now puts
the held trades back in the index, and a replica's look for records the index lacks
puts the others back; said once at WARNING (dtms_plugin/server/store_index.py). Real
redis-server."""

from __future__ import annotations

import logging

import pytest
from support.replica_kit import expired, live_replica

from dtms_plugin.server import store_index
from dtms_plugin.server.replicas import Replicas
from dtms_plugin.store.redis_store import RedisStore


def test_a_deleted_index_is_rebuilt_and_the_dead_holders_trades_claimed(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO)
    hand = stores[2]
    for ticket in (1, 2, 3, 4):
        hand.put_record(ticket, {"ticket": ticket, "state": "HEALTHY"})
    a = live_replica(stores[0])
    dead = Replicas(stores[1], cycle_seconds=0.1)
    assert a.acquire(1) and a.acquire(2) and dead.acquire(3) and dead.acquire(4)
    hand.client.delete("dtms:trades")
    hand.client.delete("dtms:lease:3", "dtms:lease:4")  # its holder died meanwhile
    expired(hand, dead.id)
    a.renew(records=True)
    assert a.held == {1, 2}
    assert set(hand.records()) == {1, 2, 3, 4}
    (said,) = [r for r in caplog.records if "lacked" in r.message]
    assert said.levelname == "WARNING"
    assert "the index dtms:trades of store" in said.message
    assert "lacked 4 trades whose records are there" in said.message
    assert said.message.endswith(": 1, 2, 3, 4")
    assert sorted(a.claim()) == [3, 4]  # the dead holder's trades: claimed again
    monkeypatch.setattr(store_index, "INDEX_SECONDS", 0.0)
    a.renew(records=True)  # a look that finds the index whole: the episode is over
    hand.client.delete("dtms:trades")
    a.renew(records=True)  # found at once: the held trades are all of them
    assert set(hand.records()) == {1, 2, 3, 4}
    assert len([r for r in caplog.records if "lacked" in r.message]) == 2
    a.renew(records=True)
    assert len([r for r in caplog.records if "lacked" in r.message]) == 2
