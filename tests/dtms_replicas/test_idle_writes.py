"""What an idle replica writes to Redis, with a real ``dtms serve`` on a real
redis-server: with no client and the account's clock standing, its trades' state cache
entries already hold what each cycle would stamp, and are not written again."""

from __future__ import annotations

import threading
from pathlib import Path

import redis
from support.e2e_procs import wait_for
from support.redis_server import RedisServer
from support.replica_procs import ONE_REPLICA, cluster, register


def _commands(url: str, seconds: float) -> list[str]:
    """The commands Redis ran over ``seconds`` (MONITOR, up to an ECHO of a marker sent
    once they passed: a read never waits on a quiet Redis with no end)."""
    client = redis.Redis.from_url(url, socket_timeout=30, decode_responses=True)
    other = redis.Redis.from_url(url, decode_responses=True)
    seen: list[str] = []
    with client.monitor() as monitor:
        timer = threading.Timer(seconds, lambda: other.echo("end of the watch"))
        timer.start()
        while "end of the watch" not in (text := str(monitor.next_command()["command"])):
            seen.append(text)
        timer.join()
    client.close()
    other.close()
    return seen


def test_an_idle_replica_does_not_stamp_its_states_again(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Every cycle wrote every open trade's state again, ``SET dtms:state:N`` with the
    value it already held: 1,430 trades cost Redis thousands of commands a second for
    nothing."""
    with cluster(redis_server.url(), tmp_path, **ONE_REPLICA) as c:
        for ticket in c.tickets:
            assert register(c.replicas[0].server.url, ticket).status_code in (200, 201)
        wait_for(
            lambda: all(c.store.get_state(t) is not None for t in c.tickets),
            timeout=30,
            what="the states stamped",
        )
        # its first cycles over them write their records (and so their states) once:
        # waited for as a second with no state written, not a fixed time (a loaded
        # machine's first cycles take longer); the old code wrote them every cycle
        wait_for(
            lambda: not [x for x in _commands(redis_server.url(), 1.0) if "dtms:state:" in x],
            timeout=60,
            what="a second with no state written",
        )
        stamped = {t: c.store.get_state(t) for t in c.tickets}
        commands = _commands(redis_server.url(), 2.5)  # five cycles of 0.5 s
        assert any("dtms:lease:" in x for x in commands)  # it cycles: renews its leases
        assert [x for x in commands if "dtms:state:" in x] == []
        assert {t: c.store.get_state(t) for t in c.tickets} == stamped
