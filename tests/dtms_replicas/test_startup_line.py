"""What a replica's start-up line says it loaded, with real ``dtms serve`` processes on
one redis-server: its own records (none before its first claim) beside the trades of the
shared store."""

from __future__ import annotations

from pathlib import Path

from support.e2e_procs import wait_for
from support.redis_server import RedisServer
from support.replica_procs import cluster, register, replicas


def test_a_replica_starting_beside_another_says_what_the_shared_store_holds(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """A replica restarted beside another said "DTMS local engine: 0 records loaded"
    while the shared store held every trade, leased to the other one."""
    with cluster(redis_server.url(), tmp_path, trades=3, replicas_n=1, lease_seconds=10.0,
                 monitor_seconds=0.5) as c:  # fmt: skip
        first = c.replicas[0]
        for ticket in c.tickets:
            assert register(first.server.url, ticket).status_code in (200, 201)
        wait_for(lambda: c.owners() == [first.id] * 3, timeout=30, what="the leases")
        second_dir = tmp_path / "second"
        second_dir.mkdir()
        with replicas(tmp_path / "replicas.toml", second_dir, 1, monitor_seconds=0.5) as (r,):
            lines = [x for x in r.server.log.read_text().splitlines() if "local engine:" in x]
    assert len(lines) == 1, lines
    assert lines[0].endswith(
        "DTMS local engine: 0 records held by this replica; the shared store holds 3 trades"
        " (other replicas' leases, closed ones, and orphans it claims its share of each cycle)"
    )
    assert "records loaded" not in first.server.log.read_text()
