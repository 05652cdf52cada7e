"""``volatile-ttl`` and ``volatile-random`` evict keys with a TTL with no regard to use:
under memory pressure from another application's cache keys (an hour's TTL), a full
Redis took the live replicas' leases (20 of 20 → 2) and heartbeats (2 of 2 → 0) first,
with ``/health`` 200 throughout; and a replica of another account started meanwhile
counted nobody live and took the store over. Both are refused now, at start-up and
when set while the replicas run, and a replica is not counted dead from its heartbeat
alone: the set ``replicas`` (no TTL) says until when it counts as live
(docs/scaling.md, "Redis's settings"). Real redis-server."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.redis_server import RedisServer
from support.replica_kit import B, admitted, arrive, live_replica
from support.replica_procs import open_positions, replica_config, serve_refused

from dtms_plugin.server import store_loss
from dtms_plugin.server.replicas import Replicas
from dtms_plugin.store import StoreError
from dtms_plugin.store.redis_store import RedisStore


def test_volatile_ttl_is_refused_at_start_up_in_one_line(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with RedisStore(redis_server.url()) as store:
        store.client.config_set("maxmemory-policy", "volatile-ttl")
    account = tmp_path / "account.db"
    open_positions(account, 1)
    code, said = serve_refused(replica_config(tmp_path, account, redis_server.url()),
                               tmp_path / "serve.log")  # fmt: skip
    assert code == 2, said[-2000:]
    (line,) = [s for s in said.splitlines() if "maxmemory-policy" in s]
    assert line == (
        f"dtms: cannot start: store {redis_server.url()}: maxmemory-policy is volatile-ttl:"
        " when full, Redis would evict the leases and heartbeats of live replicas before"
        " other keys with a TTL, silently; set it to noeviction, or volatile-lru or"
        " volatile-lfu (docs/scaling.md)"
    )
    assert "Traceback" not in said


def test_volatile_random_set_while_a_replica_runs_is_a_health_problem(
    stores: list[RedisStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_loss, "POLICY_SECONDS", 0.0)
    a = live_replica(stores[0])
    stores[1].client.config_set("maxmemory-policy", "volatile-random")
    a.renew()
    (problem,) = a.problems()
    assert "maxmemory-policy is volatile-random: when full, Redis evicts the leases" in problem
    stores[1].client.config_set("maxmemory-policy", "volatile-lfu")
    a.renew()
    assert a.problems() == []


def test_a_replica_whose_heartbeat_was_evicted_still_counts_as_live(
    stores: list[RedisStore],
) -> None:
    a = admitted(stores[0])
    stores[1].client.delete(f"dtms:replica:{a.id}")  # evicted, well before its TTL
    starting = Replicas(stores[2], cycle_seconds=0.1, lease_seconds=1.0)
    assert starting.live() == []  # its look at the heartbeats forgets no live replica
    with pytest.raises(StoreError, match=f"its replica {a.id} is live"):
        arrive(stores[1], B, "b1")
    assert stores[1].get_value("account") == {"identity": "paper 111", "login": 111}
    a.release()  # a clean stop: counts as live no more
    assert stores[1].client.zscore("dtms:replicas", a.id) is None


def test_a_lease_evicted_is_said_evicted_not_late(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    """It said "expired unrenewed: this replica was late" (107 such ERROR lines in 35 s
    of eviction), sending the operator after the replica's cycles."""
    hand = stores[1].client
    stores[1].put_record(1, {"ticket": 1, "state": "HEALTHY"})
    a = live_replica(stores[0])
    assert a.acquire(1)
    hand.config_set("maxmemory-policy", "volatile-ttl")  # set while the replica runs
    hand.config_set("maxmemory", int(hand.info("memory")["used_memory"]) + 200_000)
    for i in range(20_000):  # another application's cache, an hour's TTL
        hand.set(f"cache:{i}", "x" * 2000, ex=3600)
        if not hand.exists("dtms:lease:1"):
            break
    hand.config_set("maxmemory", 0)
    assert not hand.exists("dtms:lease:1") and hand.exists("dtms:trade:1")
    a.renew(records=True)
    lost = [r for r in caplog.records if "lost the lease" in r.message]
    assert [r.levelname for r in lost] == ["ERROR"]
    assert "(the key evicted by Redis before its TTL: the store is full" in lost[0].message
    assert "late" not in lost[0].message
