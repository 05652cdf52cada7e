"""A close reported to a replica that does not hold the trade's lease: left for the owner,
answered at once (202), applied by the owner at its next cycle (real processes on one
redis-server and one paper account). It was a 503 until the lease moved, which it never
does while its owner lives. And the owner's side alone: a report that fails to apply is
kept and said once, and the cycle goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from support.dtms_server_schema import errors
from support.e2e_procs import wait_for
from support.redis_server import RedisServer
from support.replica_procs import AUTH, WARMUP, cluster, push_bars, register, zigzag

from dtms_plugin.server.close_inbox import LeftCloses
from dtms_plugin.server.closing import ClosedReport
from dtms_plugin.server.openapi import document
from dtms_plugin.server.replicas import Replicas
from dtms_plugin.store.redis_store import RedisStore

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
            timeout=5,  # the remote strategy's: answered at once, not after the owner's cycle
        )  # fmt: skip
        assert resp.status_code == 202, resp.text[:400]
        second = requests.post(  # before the owner's cycle: the first report stands
            f"{other.server.url}/dtms/trade/{ticket}/closed",
            json={"reason": "stop_loss", "profit": -3.0}, headers=AUTH, timeout=5,
        )  # fmt: skip
        assert second.status_code in (200, 202)
        body = resp.json()
        assert body["left_for_owner"] is True and body["success"] is True
        doc = document()
        schema = doc["paths"]["/dtms/trade/{ticket}/closed"]["post"]["responses"]["202"]
        assert errors(body, schema["content"]["application/json"]["schema"], doc) == []

        def applied() -> bool:
            record = c.store.get_record(ticket)
            return record is not None and record.get("close_reason") == "take_profit"

        wait_for(applied, timeout=30, what="the owner applying the close")
        record = c.store.get_record(ticket)
        assert record is not None and (record["state"], record["realised_profit"]) == (
            "CLOSED",
            12.5,
        )
        owner_log = by_id[owners[ticket]].server.log
        said = f"DTMS {ticket}: close left by another replica applied"
        # the owner writes the record, then logs and takes the close out of the inbox
        wait_for(lambda: said in owner_log.read_text(), timeout=30, what="the owner's line")
        wait_for(lambda: c.store.client.hlen("dtms:closes") == 0, timeout=30, what="inbox empty")
        assert "refused" not in other.server.log.read_text()  # nobody else wrote it
        # reported again, now to the owner: the outcome stands, nothing applied twice
        again = requests.post(
            f"{by_id[owners[ticket]].server.url}/dtms/trade/{ticket}/closed",
            json={"reason": "stop_loss", "profit": -3.0}, headers=AUTH, timeout=5,
        )  # fmt: skip
        assert again.status_code == 200 and again.json()["already_closed"] is True
        assert c.store.get_record(ticket)["close_reason"] == "take_profit"  # type: ignore[index]
        # closed with nothing owed, it needs no owner: the lease goes back
        wait_for(lambda: c.owners([ticket]) == [None], timeout=30, what="the lease released")

        # DELETE to the replica that does not own a trade: left for the owner, which lets
        # it go (written here, the owner wrote it back and went on acting on it)
        gone = c.tickets[1]
        owner = by_id[owners[gone]]
        stranger = next(r for r in c.replicas if r.id != owners[gone])
        resp = requests.delete(f"{stranger.server.url}/dtms/trade/{gone}", headers=AUTH, timeout=5)
        assert resp.status_code == 202 and resp.json()["left_for_owner"] is True, resp.text
        wait_for(lambda: c.store.get_record(gone) is None, timeout=30, what="the owner letting go")
        wait_for(lambda: c.owners([gone]) == [None], timeout=30, what="its lease released")
        said = f"DTMS {gone}: unregistration left by another replica applied"
        # the owner applies it, then logs: the record and the lease may go first
        wait_for(lambda: said in owner.server.log.read_text(), timeout=30, what="its line")
        push_bars(c.account, zigzag(2, first=bar + 1))  # more bars: nobody writes it back
        last = zigzag(2, first=bar + 1)[1].time
        wait_for(lambda: c.stamped(last, others_than=[ticket, gone]), timeout=60,
                 what="two more bars")  # fmt: skip
        assert c.store.get_record(gone) is None


async def test_a_left_close_that_fails_is_kept_said_once_and_the_cycle_goes_on(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    with RedisStore(redis_server.url()) as store:
        replicas = Replicas(store, cycle_seconds=0.1, lease_seconds=3.0)
        for ticket in (5, 6):
            store.put_record(ticket, {"ticket": ticket, "state": "HEALTHY"})
            store.client.hset("dtms:closes", str(ticket), json.dumps(
                {"ticket": ticket, "reason": "tp", "profit": 1.0}))  # fmt: skip
        store.client.hset("dtms:closes", "7", "{not json")
        store.put_record(7, {"ticket": 7, "state": "HEALTHY"})
        replicas.held.update({5, 6, 7})
        applied: list[int] = []
        broken = {5}

        async def apply(report: ClosedReport) -> None:
            if report.ticket in broken:
                raise RuntimeError("the broker said no")
            applied.append(report.ticket)

        async def unregister(ticket: int) -> None:
            raise AssertionError(f"no unregistration was left, yet {ticket} was let go")

        left = LeftCloses()
        with caplog.at_level("INFO", logger="dtms_plugin.server.replicas"):
            for _ in range(3):
                await left.apply(replicas, store, apply, unregister)  # the cycle goes on
            broken.clear()
            await left.apply(replicas, store, apply, unregister)
        assert applied == [6, 5]
        assert store.client.hlen("dtms:closes") == 0  # applied, or dropped unreadable
        said = [r.getMessage() for r in caplog.records]
        assert sum("5: close left by another replica not applied" in m for m in said) == 1
        assert "DTMS 5: close left by another replica applied after 3 failed cycles" in said
        assert any("7: close left by another replica unreadable, dropped" in m for m in said)


async def test_a_failing_left_close_that_is_dropped_ends_its_episode(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A report that failed, then was dropped (its trade gone): the failure episode had no
    closing line, and the ticket stayed counted, so the next failure of the ticket was
    never said (a new episode taken for the old one)."""
    with RedisStore(redis_server.url()) as store:
        replicas = Replicas(store, cycle_seconds=0.1, lease_seconds=3.0)
        entry = json.dumps({"ticket": 9, "reason": "tp", "profit": 1.0})
        store.put_record(9, {"ticket": 9, "state": "HEALTHY"})
        store.client.hset("dtms:closes", "9", entry)
        replicas.held.add(9)

        async def apply(report: ClosedReport) -> None:
            raise RuntimeError("the broker said no")

        async def unregister(ticket: int) -> None:
            raise AssertionError(f"no unregistration was left, yet {ticket} was let go")

        left = LeftCloses()
        with caplog.at_level("INFO", logger="dtms_plugin.server.replicas"):
            for _ in range(2):
                await left.apply(replicas, store, apply, unregister)
            store.delete_record(9)  # the trade is gone: nobody will apply its close
            await left.apply(replicas, store, apply, unregister)
            assert store.client.hlen("dtms:closes") == 0
            # the ticket's next trade, whose close left for it fails too: a new episode
            store.put_record(9, {"ticket": 9, "state": "HEALTHY"})
            store.client.hset("dtms:closes", "9", entry)
            await left.apply(replicas, store, apply, unregister)
        said = [r.getMessage() for r in caplog.records]
        assert (
            "DTMS 9: left by another replica, no longer retried after 2 failed cycles: dropped"
            in said
        )
        assert sum("9: close left by another replica not applied" in m for m in said) == 2
