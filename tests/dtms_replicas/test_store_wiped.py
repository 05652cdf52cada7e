"""The shared store losing the records of trades a replica holds while it runs (Redis
restarted without persistence, keys evicted under a policy changed while the replicas
run): the replica says so once with the count, writes those records again from memory
and reconciles them with the broker, so the positions are defended again
(docs/scaling.md, "Failures"; dtms_plugin/server/store_loss.py). Real redis-server,
real ``dtms serve`` processes."""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import pytest
import requests
from support.e2e_procs import AUTH, wait_for
from support.redis_server import RedisServer, start_redis, stop_redis
from support.replica_kit import live_replica
from support.replica_procs import ONE_REPLICA, cluster, register

from dtms_plugin.server import store_loss
from dtms_plugin.store.redis_store import RedisStore


def _trades(url: str) -> int:
    reply = requests.get(f"{url}/dtms/status", headers=AUTH, timeout=30)
    return int(reply.json()["trades"]) if reply.status_code == 200 else -1


def test_a_redis_restarted_empty_gets_the_held_trades_back_from_the_replicas_memory(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with cluster(redis_server.url(), tmp_path, **ONE_REPLICA) as c:
        (replica,), tickets = c.replicas, c.tickets
        url, log = replica.server.url, replica.server.log
        for ticket in tickets:
            assert register(url, ticket).status_code == 201
        redis_server.process.send_signal(signal.SIGKILL)  # shutdown nosave
        redis_server.process.wait(10)
        wait_for(lambda: "cannot renew its leases" in log.read_text(), timeout=30,
                 what="the renewals to fail")  # fmt: skip
        back = start_redis(redis_server.directory, port=redis_server.port)  # empty
        try:
            wait_for(lambda: _trades(url) == 2, timeout=30, what="the records written again")
            for ticket in tickets:
                reply = requests.get(f"{url}/dtms/trade/{ticket}", headers=AUTH, timeout=30)
                assert reply.status_code == 200, reply.text[:300]
            text = log.read_text()
            assert text.count("records of 2 held trades disappeared from the store") == 1
            assert "came back empty (its marker dtms:epoch was gone" in text
            assert "the records of 2 trades it held written again from memory" in text
            assert "Traceback" not in text
            wait_for(lambda: requests.get(f"{url}/health", timeout=30).status_code == 200,
                     timeout=30, what="/health 200")  # fmt: skip
        finally:
            stop_redis(back.process)


def test_records_evicted_under_held_leases_are_written_again_and_the_policy_said(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with cluster(redis_server.url(), tmp_path, **ONE_REPLICA) as c:
        (replica,), store, tickets = c.replicas, c.store, c.tickets
        url, log = replica.server.url, replica.server.log
        for ticket in tickets:
            assert register(url, ticket).status_code == 201
        store.client.config_set("maxmemory-policy", "allkeys-lru")  # changed while it runs
        store.client.delete(*(f"dtms:trade:{t}" for t in tickets))  # evicted; leases stay
        wait_for(lambda: _trades(url) == 2, timeout=30, what="the records written again")

        def problems() -> list[str]:
            return list(requests.get(f"{url}/health", timeout=30).json()["problems"])

        said = wait_for(problems, timeout=30, what="/health to name the policy")
        assert any("maxmemory-policy is allkeys-lru" in p for p in said), said
        text = log.read_text()
        assert text.count("records of 2 held trades disappeared from the store") == 1
        assert text.count("maxmemory-policy is allkeys-lru") == 1  # ERROR once an episode
        store.client.config_set("maxmemory-policy", "noeviction")
        store.client.delete(f"dtms:trade:{tickets[0]}")  # vanishing: read again at once
        wait_for(lambda: problems() == [], timeout=30, what="/health 200 again")
        assert "maxmemory-policy is noeviction again" in log.read_text()


def test_the_account_mode_of_an_emptied_store_is_written_back_from_memory(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    hand = stores[1]
    a = live_replica(stores[0])
    hand.client.set("dtms:account:mode", '{"until":"2030-01-01T00:00:00+00:00","reason":"r"}')
    a.renew()
    hand.client.flushdb()
    a.renew()
    assert hand.get_account_mode() is not None
    assert caplog.text.count("came back empty") == 1
    assert "the account defensive mode it last read written back" in caplog.text
    a.renew()
    assert caplog.text.count("came back empty") == 1


def test_an_eviction_policy_changed_while_a_replica_runs_is_a_problem_said_once(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_loss, "POLICY_SECONDS", 0.0)
    a = live_replica(stores[0])
    assert a.problems() == []
    stores[1].client.config_set("maxmemory-policy", "allkeys-lru")
    for _ in range(3):
        a.renew()
    (problem,) = a.problems()
    assert "maxmemory-policy is allkeys-lru" in problem
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "allkeys-lru" in r.message]
    assert len(errors) == 1
    stores[1].client.config_set("maxmemory-policy", "volatile-lru")
    a.renew()
    assert a.problems() == []


def test_a_renewal_held_over_from_an_outage_finds_the_records_lost_meanwhile(
    stores: list[RedisStore], redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    for ticket in (1, 2, 3):
        stores[1].put_record(ticket, {"state": "HEALTHY"})
    a = live_replica(stores[0])
    assert all(a.acquire(t) for t in (1, 2, 3))
    stop_redis(redis_server.process)
    assert a.renew() == {1, 2, 3} and a.held == set()
    back = start_redis(redis_server.directory, port=redis_server.port)  # empty
    try:
        with RedisStore(redis_server.url()) as hand:
            hand.put_record(3, {"state": "HEALTHY"})
        a.renew()
        vanished = [r for r in caplog.records if "disappeared from the store" in r.message]
        assert [r.levelname for r in vanished] == ["WARNING"]
        assert "records of 2 held trades disappeared" in vanished[0].message
        assert a.watch.vanished == {1, 2}
    finally:
        stop_redis(back.process)


def test_records_lost_cycle_after_cycle_are_said_once_and_summed_up_when_it_ends(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Under sustained eviction (a policy changed to allkeys-lru while the replicas run)
    "records of N held trades disappeared …" and "… written again from memory" were
    logged every cycle: about 85 lines a minute per replica."""
    with cluster(redis_server.url(), tmp_path, **ONE_REPLICA) as c:
        (replica,), store, tickets = c.replicas, c.store, c.tickets
        url, log = replica.server.url, replica.server.log
        for ticket in tickets:
            assert register(url, ticket).status_code == 201
        for _ in range(3):  # evicted, written again, evicted again ...
            store.client.delete(*(f"dtms:trade:{t}" for t in tickets))
            wait_for(lambda: store.client.exists(*(f"dtms:trade:{t}" for t in tickets)) == 2,
                     timeout=30, what="the records written again")  # fmt: skip
        said = wait_for(lambda: [s for s in log.read_text().splitlines() if "lost no more" in s],
                        timeout=30, what="the episode's end")  # fmt: skip
        text = log.read_text()
        assert text.count("held trades disappeared from the store") == 1
        assert text.count("written again from memory and reconciled") == 1
        (end,) = said
        assert "WARNING" in end
        assert "6 lost in 3 renewals over the episode, 6 written again from memory" in end
