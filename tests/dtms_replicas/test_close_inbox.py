"""A close reported to a replica that does not hold the trade's lease, with real
processes on one redis-server and one paper account: the report is left for the owner,
which applies it on its next cycle, and the answer is the trade CLOSED with the outcome
reported (it was a 503 until the lease moved, which it never does while its owner
lives)."""

from __future__ import annotations

from pathlib import Path

import requests
from support.e2e_procs import wait_for
from support.redis_server import RedisServer
from support.replica_procs import AUTH, WARMUP, cluster, push_bars, register, zigzag

N = 6


def test_a_close_reported_to_another_replica_reaches_the_owner(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with cluster(redis_server.url(), tmp_path, trades=N, replicas_n=2, lease_seconds=3.0,
                 monitor_seconds=0.1) as c:  # fmt: skip
        for i, ticket in enumerate(c.tickets):
            assert register(c.replicas[i % 2].server.url, ticket).status_code == 201
        wait_for(lambda: all(c.owners()), timeout=60, what="every lease taken")
        bar = WARMUP
        for _ in range(5):  # armed, and trailing: the owner rewrites its records each bar
            push_bars(c.account, zigzag(1, first=bar))
            at = zigzag(1, first=bar)[0].time
            wait_for(lambda at=at: c.stamped(at), timeout=120, what="a bar")
            bar += 1
        push_bars(c.account, zigzag(1, first=bar))  # a new bar: the owner is writing now
        by_id = {r.id: r for r in c.replicas}
        owners = dict(zip(c.tickets, c.owners(), strict=True))
        ticket = c.tickets[0]
        other = next(r for r in c.replicas if r.id != owners[ticket])
        assert other is not by_id[owners[ticket]]
        report = {"reason": "take_profit", "profit": 12.5}
        resp = requests.post(
            f"{other.server.url}/dtms/trade/{ticket}/closed", json=report, headers=AUTH,
            timeout=60,
        )  # fmt: skip
        assert resp.status_code == 200, resp.text[:400]
        body = resp.json()
        assert body["state"] == "CLOSED"
        assert (body["trade_info"]["close_reason"], body["trade_info"]["profit"]) == (
            "take_profit",
            12.5,
        )
        record = c.store.get_record(ticket)
        assert record is not None and record["close_reason"] == "take_profit"
        owner_log = by_id[owners[ticket]].server.log.read_text()
        assert f"DTMS {ticket}: close left by another replica applied" in owner_log
        assert c.store.client.hlen("dtms:closes") == 0  # taken out once applied
        # the trade is the owner's still: its engine closed it, nobody else wrote it
        assert "refused" not in other.server.log.read_text()
