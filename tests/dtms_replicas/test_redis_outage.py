"""Redis out of reach: a server must say it cannot answer (503), never "no such trade" or
"unknown" (a host caches that as "not managed" and lets its exit manager act), and its
``/health`` must say why."""

from __future__ import annotations

import re
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from support.e2e_procs import AUTH, wait_for
from support.redis_server import RedisServer, start_redis, stop_redis
from support.replica_procs import (
    ONE_REPLICA,
    cluster,
    register,
)


def test_a_server_whose_redis_stops_answers_503_and_its_health_says_why(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with cluster(redis_server.url(), tmp_path, **{**ONE_REPLICA, "trades": 1}) as c:
        (replica,), (ticket,) = c.replicas, c.tickets
        url = replica.server.url
        assert register(url, ticket).status_code in (200, 201)
        redis_server.process.send_signal(signal.SIGKILL)  # Redis is gone
        redis_server.process.wait(10)

        def get(path: str, **params: str) -> requests.Response:
            return requests.get(f"{url}{path}", headers=AUTH, params=params, timeout=30)

        asked = [
            (f"/dtms/trade/{ticket}", {}),
            ("/dtms/trades", {"tickets": str(ticket)}),
            ("/dtms/trades", {}),
            ("/dtms/status", {}),
        ]
        for path, params in asked:
            reply = get(path, **params)
            assert reply.status_code == 503, (path, reply.status_code, reply.text[:300])
            assert "cannot read" in reply.json()["message"], reply.text[:300]
        closed = requests.post(
            f"{url}/dtms/trade/{ticket}/closed", json={"reason": "take_profit", "profit": 1.0},
            headers=AUTH, timeout=30,
        )  # fmt: skip
        assert closed.status_code == 503, closed.text[:300]

        def unhealthy() -> list[str] | None:
            reply = requests.get(f"{url}/health", timeout=30)
            return reply.json()["problems"] if reply.status_code == 503 else None

        problems = wait_for(unhealthy, timeout=30, what="/health to say the store is gone")
        assert any(p.startswith(f"store {redis_server.url()}: cannot read") for p in problems)
        assert "Traceback" not in replica.server.log.read_text()


def test_an_outage_is_one_line_in_the_log_not_a_traceback_each_cycle(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    one = {**ONE_REPLICA, "trades": 1, "monitor_seconds": 0.2}
    with cluster(redis_server.url(), tmp_path, **one) as c:
        (replica,), (ticket,) = c.replicas, c.tickets
        assert register(replica.server.url, ticket).status_code in (200, 201)
        redis_server.process.send_signal(signal.SIGKILL)
        redis_server.process.wait(10)
        log = replica.server.log
        # each cycle fails on its renewal (never a success: it reached no store)
        wait_for(lambda: "renewing the leases failed" in log.read_text(), timeout=30,
                 what="a cycle to fail on the store")  # fmt: skip
        time.sleep(2.0)  # ten more cycles
        text = log.read_text()
        assert text.count("monitoring cycle at") == 1, text[-3000:]
        assert "said once until a cycle succeeds" in text and "Traceback" not in text


def test_a_paused_redis_holds_up_only_the_requests_that_read_it(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with (
        cluster(redis_server.url(), tmp_path, **{**ONE_REPLICA, "trades": 1}) as c,
        ThreadPoolExecutor(1) as pool,
    ):
        (replica,), store, (ticket,) = c.replicas, c.store, c.tickets
        url = replica.server.url
        assert register(url, ticket).status_code in (200, 201)
        for path in ("/health", f"/dtms/trade/{ticket}", "/dtms/status", "/dtms/trades"):
            store.client.client_pause(3000)  # Redis answers nobody for 3 s
            slow = pool.submit(requests.get, f"{url}{path}", headers=AUTH, timeout=30)
            time.sleep(0.2)  # that request is waiting for Redis now
            page = requests.get(f"{url}/", timeout=30)  # the dashboard: no store read
            # answered while the other still waits: an order, not a duration a loaded
            # machine could stretch (the dashboard waiting for Redis would come after it)
            assert page.status_code == 200 and not slow.done(), path
            assert slow.result().status_code == 200, path


def test_requests_refused_while_redis_is_away_are_one_line_per_route(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Every host asks every cycle: a line per 503 was 19 ERROR lines in 10 s of a soak.
    Now one per route when its episode starts, one with the count when it answers again
    (dtms_plugin/server/unavailable.py)."""
    with cluster(redis_server.url(), tmp_path, **{**ONE_REPLICA, "trades": 1}) as c:
        (replica,), (ticket,) = c.replicas, c.tickets
        url = replica.server.url
        assert register(url, ticket).status_code in (200, 201)
        redis_server.process.send_signal(signal.SIGKILL)
        redis_server.process.wait(10)
        for _ in range(19):
            reply = requests.get(
                f"{url}/dtms/trades", headers=AUTH, params={"tickets": str(ticket)}, timeout=30
            )
            assert reply.status_code == 503, reply.text[:300]
        for other in (ticket, ticket + 1):  # one route: every ticket's requests
            reply = requests.get(f"{url}/dtms/trade/{other}", headers=AUTH, timeout=30)
            assert reply.status_code == 503, reply.text[:300]
        log = replica.server.log
        lines = [ln for ln in log.read_text().splitlines() if "GET /dtms/trades:" in ln]
        assert len(lines) == 1 and "ERROR" in lines[0] and "cannot read" in lines[0], lines
        single = [ln for ln in log.read_text().splitlines() if "GET /dtms/trade/{ticket}" in ln]
        assert len(single) == 1, single
        back = start_redis(redis_server.directory, port=redis_server.port)  # empty
        try:
            wait_for(
                lambda: requests.get(
                    f"{url}/dtms/trades", headers=AUTH, params={"tickets": str(ticket)},
                    timeout=30,
                ).status_code == 200,
                timeout=30, what="GET /dtms/trades to answer again",
            )  # fmt: skip
            text = log.read_text()
            said = [ln for ln in text.splitlines() if "GET /dtms/trades answers again, " in ln]
            assert len(said) == 1 and "WARNING" in said[0], said
            count = re.search(r"after (\d+) requests answered 503", said[0])
            assert count is not None and int(count.group(1)) >= 19, said  # and the polls'
        finally:
            stop_redis(back.process)


def test_cycles_that_cannot_reach_redis_never_count_as_succeeding(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Past a lease TTL without Redis a replica holds nothing, and its cycles, reaching
    no store, passed for successes: "monitoring cycles succeed again" was said while
    Redis was still down. Each fails now, naming the renewal, until Redis answers."""
    quick = {**ONE_REPLICA, "trades": 1, "lease_seconds": 1.0, "monitor_seconds": 0.2}
    with cluster(redis_server.url(), tmp_path, **quick) as c:
        (replica,), (ticket,) = c.replicas, c.tickets
        assert register(replica.server.url, ticket).status_code in (200, 201)
        redis_server.process.send_signal(signal.SIGKILL)
        redis_server.process.wait(10)
        log = replica.server.log
        wait_for(lambda: "monitoring cycle at" in log.read_text(), timeout=30,
                 what="a cycle to fail on the store")  # fmt: skip
        time.sleep(3.0)  # three lease TTLs: nothing held, nothing to claim
        text = log.read_text()
        assert "succeed again" not in text, text[-3000:]
        assert text.count("monitoring cycle at") == 1 and "Traceback" not in text
        back = start_redis(redis_server.directory, port=redis_server.port)
        try:
            wait_for(lambda: "monitoring cycles succeed again" in log.read_text(), timeout=30,
                     what="the cycles to succeed again")  # fmt: skip
        finally:
            stop_redis(back.process)
