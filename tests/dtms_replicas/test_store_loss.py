"""The shared state lost under the replicas (Redis flushed, restarted without
persistence, keys evicted, or damaged by hand): each replica notices what it relies on,
repairs what it can and says what it cannot (docs/scaling.md, "Failures")."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import requests
from support.e2e_procs import TOKEN, command, free_port, wait_for
from support.redis_server import RedisServer, start_redis, stop_redis
from support.replica_kit import live_replica
from support.replica_procs import (
    ONE_REPLICA,
    cluster,
    open_positions,
    register,
    replica_config,
)

from dtms_plugin.server.replicas import Replicas
from dtms_plugin.store import StoreError
from dtms_plugin.store.redis_store import RedisStore


def test_a_lost_consumer_group_is_made_again_and_what_was_queued_is_read(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    a = live_replica(stores[0])
    stores[1].client.flushdb()  # Redis restarted empty: the stream and its group are gone
    entry = a.publish({"ticket": 5})  # XADD makes the stream again, without the group
    assert [e for e, _ in a.read(10)] == [entry]
    assert caplog.text.count("consumer group of dtms:registrations was missing") == 1


def test_registrations_go_on_after_a_flush_and_health_says_when_the_stream_fails(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with cluster(redis_server.url(), tmp_path, **ONE_REPLICA) as c:
        (replica,), store, (first, second) = c.replicas, c.store, c.tickets
        url = replica.server.url
        assert register(url, first).status_code == 201
        store.client.flushdb()
        reply = register(url, second)
        assert reply.status_code == 201, reply.text[:300]

        def problems() -> list[str]:
            reply = requests.get(f"{url}/health", timeout=30)
            assert (reply.status_code == 503) == bool(reply.json()["problems"])
            return list(reply.json()["problems"])

        store.client.delete("dtms:registrations")
        store.client.set("dtms:registrations", "not a stream")  # every read fails
        wait_for(
            lambda: [p for p in problems() if "registration stream" in p and "WRONGTYPE" in p],
            timeout=30,
            what="/health to say the registration stream fails, and why",
        )
        store.client.delete("dtms:registrations")  # the consumer makes it again
        wait_for(lambda: problems() == [], timeout=30, what="/health to be 200 again")


def test_health_and_status_say_when_the_leases_cannot_be_renewed_while_reads_work(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with cluster(redis_server.url(), tmp_path, **ONE_REPLICA) as c:
        (replica,), store, (ticket, other) = c.replicas, c.store, c.tickets
        url = replica.server.url
        assert register(url, ticket).status_code == 201
        store.client.config_set("maxmemory", "1")  # out of memory: writes refused, reads not
        refused = register(url, other)  # its XADD is refused: a 503 that says so
        assert refused.status_code == 503, refused.text[:500]
        assert refused.json()["message"].startswith(
            f"store {redis_server.url()}: queueing a registration (XADD dtms:registrations)"
            " failed: command not allowed when used memory > 'maxmemory'"
        )

        def health() -> tuple[int, list[str]]:
            reply = requests.get(f"{url}/health", timeout=30)
            return reply.status_code, list(reply.json()["problems"])

        try:
            _, problems = wait_for(  # and the cycles that fail on it (a steady answer)
                lambda: (h := health())[0] == 503 and len(h[1]) == 2 and h,
                timeout=30,
                what="/health to say the leases are not renewed",
            )
            assert any("cannot renew its leases" in p and "maxmemory" in p for p in problems), (
                problems
            )
            engine = replica.server.json("/dtms/status")["engine"]
            # as /health says them; a cycle between the two reads counts one try more
            (said, tries), (now_said, now_tries) = _tries(problems), _tries(engine["problems"])
            assert not engine["healthy"] and now_said == said, (problems, engine["problems"])
            assert all(b >= a for a, b in zip(tries, now_tries, strict=True)), (tries, now_tries)
        finally:
            store.client.config_set("maxmemory", "0")
        wait_for(lambda: health() == (200, []), timeout=30, what="/health to be 200 again")
        log = replica.server.log.read_text()
        assert "Traceback" not in log
        assert log.count("cannot renew its leases") == 1
        assert "renews its leases again, after" in log


def _tries(problems: list[str]) -> tuple[list[str], list[int]]:
    """``problems`` with the count of failed renewals each names taken out, and those
    counts: each cycle tries again, so a later read of the same problem counts more."""
    counts = [int(m[1]) for p in problems if (m := re.search(r"\((\d+) tries: ", p))]
    return [re.sub(r"\(\d+ tries: ", "(N tries: ", p) for p in problems], counts


def test_a_replica_that_has_not_renewed_for_a_lease_ttl_says_it(stores: list[RedisStore]) -> None:
    replica = Replicas(stores[0], cycle_seconds=0.1, lease_seconds=0.3)
    replica.renew()
    assert replica.problems() == []
    time.sleep(0.4)  # no cycle renewed meanwhile (stuck, or paused)
    (said,) = replica.problems()
    assert "last renewed its leases" in said and "past their TTL (0.3 s)" in said


def test_records_that_vanished_from_under_their_owner_are_said_so(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    for ticket in (1, 2, 3, 4):
        stores[1].put_record(ticket, {"state": "HEALTHY"})
    a = live_replica(stores[0])
    assert all(a.acquire(t) for t in (1, 2, 3, 4))
    stores[1].client.delete("dtms:trade:1", "dtms:trade:2", "dtms:lease:1", "dtms:lease:2")
    stores[1].client.delete("dtms:lease:3")  # deleted by hand
    assert a.renew() == {1, 2, 3} and a.held == {4}
    vanished = [r for r in caplog.records if "disappeared from the store" in r.message]
    assert [r.levelname for r in vanished] == ["WARNING"]
    assert "records of 2 held trades disappeared" in vanished[0].message
    # gone although renewed within its TTL: deleted (or evicted), not "this replica was late"
    assert "lost the lease of 1 trades (the key gone before its TTL, renewed in time" in caplog.text
    assert "another replica manages them now" not in caplog.text


def test_a_redis_that_may_evict_dtms_keys_is_refused_at_start_up(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with RedisStore(redis_server.url()) as store:
        store.client.config_set("maxmemory-policy", "allkeys-lru")
    done = _serve(tmp_path, redis_server.url())
    assert done.returncode == 2, done.stderr[-2000:]
    said = [line for line in done.stderr.splitlines() if "maxmemory-policy" in line]
    assert said == [
        f"dtms: cannot start: store {redis_server.url()}: maxmemory-policy is allkeys-lru:"
        " Redis would evict trade records and leases silently when full; set it to"
        " noeviction (docs/scaling.md)"
    ]
    assert "Traceback" not in done.stderr


def test_a_replicas_own_redis_calls_fail_as_the_stores_error_naming_what_was_asked(
    stores: list[RedisStore], redis_server: RedisServer
) -> None:
    stores[1].put_record(1, {"state": "HEALTHY"})
    a = live_replica(stores[0])
    stop_redis(redis_server.process)
    asked = {
        "taking the lease dtms:lease:2 (SET NX)": lambda: a.acquire(2),
        "claiming orphaned trades": a.claim,
        "queueing a registration (XADD dtms:registrations)": lambda: a.publish({"ticket": 2}),
        "reading the outcome dtms:registered:1-0": lambda: a.outcome("1-0"),
        "acknowledging registration 1-0 (XACK)": lambda: a.done("1-0", {}),
        "reading the heartbeats (dtms:replicas)": a.status,
    }
    for what, call in asked.items():
        with pytest.raises(StoreError) as raised:
            call()
        assert str(raised.value).startswith(f"store {redis_server.url()}: {what} failed:")


def test_a_damaged_key_hides_only_itself_and_is_named_once(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    store, hand = stores[0], stores[1].client
    for ticket in (1, 2, 3):
        stores[1].put_record(ticket, {"state": "HEALTHY"})
    hand.delete("dtms:trade:1")
    hand.set("dtms:trade:1", "garbage")  # a string where a hash belongs
    hand.hset("dtms:trade:2", "j", "not json{")
    hand.set("dtms:account:mode", "{bad")
    a = live_replica(store)
    for _ in range(3):  # every cycle and request reads them again
        assert list(store.records()) == [3]
        assert store.get_record(1) is None and store.get_account_mode() is None
        a.claim()
        a.release()
    for key in ("dtms:trade:1", "dtms:trade:2", "dtms:account:mode"):
        said = [r for r in caplog.records if f" {key} unreadable" in r.message]
        assert len(said) == 1, (key, caplog.text)
    assert "WRONGTYPE" in store.damaged["dtms:trade:1"]
    assert sorted(store.damaged) == ["dtms:account:mode", "dtms:trade:1", "dtms:trade:2"]
    hand.delete("dtms:account:mode")  # mended: gone from the damaged keys
    assert store.get_account_mode() is None and "dtms:account:mode" not in store.damaged


def test_a_damaged_record_leaves_the_servers_answers_about_the_others_right(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with cluster(redis_server.url(), tmp_path, **ONE_REPLICA) as c:
        (replica,), store, (first, second) = c.replicas, c.store, c.tickets
        server = replica.server
        assert register(server.url, first).status_code == 201
        assert register(server.url, second).status_code == 201
        store.client.delete(f"dtms:trade:{first}")
        store.client.set(f"dtms:trade:{first}", "garbage")
        assert server.json("/dtms/status")["trades"] == 1
        assert server.json(f"/dtms/trade/{second}")["ticket"] == second
        health = requests.get(f"{server.url}/health", timeout=30)
        assert health.status_code == 200 and health.json()["damaged"] == [f"dtms:trade:{first}"]
        time.sleep(1.5)  # cycles read it again: said once
        assert server.log.read_text().count(f"dtms:trade:{first} unreadable") == 1


def test_a_lease_set_by_hand_without_a_ttl_or_of_the_wrong_type_holds_nothing(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    for ticket in (3, 4, 5, 6):
        stores[2].put_record(ticket, {"state": "HEALTHY"})
    hand = stores[2].client
    hand.set("dtms:lease:3", "x")  # no TTL, no such replica: it would hold 3 for ever
    a = live_replica(stores[0])
    assert all(a.acquire(t) for t in (4, 5))
    hand.delete("dtms:lease:5")
    hand.hset("dtms:lease:5", "a", "b")  # the wrong type: the renewal script failed on it
    assert a.renew() == {5} and a.held == {4}  # the others are still renewed
    assert "lease keys (lease:<ticket>) of 1 held trades of the wrong type" in caplog.text
    a.claim()
    assert a.held == {3, 4, 5, 6}
    assert stores[2].client.pttl("dtms:lease:3") > 0
    for key, was in (("dtms:lease:3", "no TTL"), ("dtms:lease:5", "a hash")):
        assert caplog.text.count(f"lease {key} held nothing ({was}: edited by hand?)") == 1
    a.release()
    assert hand.keys("dtms:lease:*") == []


def test_a_read_only_redis_is_refused_at_start_up_naming_the_store(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    primary = start_redis(tmp_path / "primary")
    try:
        with RedisStore(redis_server.url()) as store:  # a replica of another Redis
            store.client.replicaof(primary.host, primary.port)
        done = _serve(tmp_path, redis_server.url())
        assert done.returncode == 2, done.stderr[-2000:]
        assert done.stderr.splitlines()[-1] == (
            f"dtms: cannot start: store {redis_server.url()}: creating the consumer group of"
            " dtms:registrations failed: You can't write against a read only replica."
        )
    finally:
        stop_redis(primary.process)


def _serve(directory: Path, redis_url: str) -> subprocess.CompletedProcess[str]:
    """``dtms serve`` on ``redis_url``, expected to refuse to start."""
    account = directory / "account.db"
    open_positions(account, 1)
    config = replica_config(directory, account, redis_url)
    argv = [*command("dtms"), "serve", "--config", str(config), "--port", str(free_port())]
    env = {**os.environ, "DTMS_TOKEN": TOKEN}
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
