"""What a replica left for a trade's owner (a close, a DELETE: docs/scaling.md §5) comes
first, as on one server, where it would have been applied before anything that came
after it (real processes on one redis-server and one paper account):

- a second report of the close, sent to the owner, is ``already_closed``: the first one
  left stands. The owner took the one left back and applied the second as a fresh close;
- a DELETE sent to the owner finds the trade closed. The owner let it go, and the close
  left for it was dropped;
- the ticket registered for a new position (a broker reusing tickets) is a new trade:
  the old one closed with the report left for it, archived, and the new one registered
  and defended. It was answered "already registered" by the old, still open, record, and
  the owner's next cycle closed it with the old trade's report: undefended. The same
  trade registered again is a 409 "trade closed", as on one server. Also when
  the trade's engine closed it itself and gave the lease back before the close left for
  it was applied (nobody claims a closed trade): the replica deciding applies it;
- a close left for the ticket's earlier trade never closes the one registered since.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from support.e2e_procs import AUTH, wait_for
from support.redis_server import RedisServer
from support.replica_procs import Cluster, cluster, registration

from dtms_plugin.server.close_inbox import LeftCloses
from dtms_plugin.server.closing import ClosedReport
from dtms_plugin.server.replicas import Replicas
from dtms_plugin.store.redis_store import RedisStore
from hostapp.brokers.paper import PaperBroker, PaperSettings

OLD, NEW = "2026-03-04T09:00:00+00:00", "2026-03-04T09:30:00+00:00"


def _post(url: str, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{url}{path}", json=body, headers=AUTH, timeout=60)


def _owner_and_other(c: Cluster, ticket: int) -> tuple[str, str]:
    """The URLs of the replica holding ``ticket``'s lease and of another one."""
    (owner,) = c.owners([ticket])
    urls = {r.id: r.server.url for r in c.replicas}
    return urls[str(owner)], next(u for i, u in urls.items() if i != owner)


def test_the_close_left_for_the_owner_stands_when_the_owner_is_told_next(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    # cycles 5 s apart: the owner is told before its next cycle applies what was left
    with cluster(redis_server.url(), tmp_path, trades=2, replicas_n=2, lease_seconds=10.0,
                 monitor_seconds=5.0) as c:  # fmt: skip
        closed, deleted = c.tickets
        for ticket in c.tickets:
            assert _post(c.replicas[0].server.url, "/dtms/trade/enable",
                         registration(ticket)).status_code == 201  # fmt: skip
        wait_for(lambda: all(c.owners()), timeout=30, what="the leases")

        owner, other = _owner_and_other(c, closed)
        first = _post(other, f"/dtms/trade/{closed}/closed", {"reason": "tp", "profit": 10.0})
        assert first.status_code == 202 and first.json()["left_for_owner"] is True, first.text
        second = _post(owner, f"/dtms/trade/{closed}/closed", {"reason": "sl", "profit": -7.0})
        assert second.status_code == 200, second.text
        assert second.json().get("already_closed") is True, second.text  # as one server says
        assert second.json()["trade_info"]["realised_profit"] == 10.0
        record = c.store.get_record(closed)
        assert record is not None
        assert (record["state"], record["close_reason"], record["realised_profit"]) == (
            "CLOSED", "tp", 10.0)  # fmt: skip
        assert c.store.client.hget("dtms:closes", str(closed)) is None  # applied, not waiting

        owner, other = _owner_and_other(c, deleted)
        left = _post(other, f"/dtms/trade/{deleted}/closed", {"reason": "tp", "profit": 4.0})
        assert left.status_code == 202, left.text
        gone = requests.delete(f"{owner}/dtms/trade/{deleted}", headers=AUTH, timeout=60)
        assert gone.status_code == 409 and gone.json()["error"] == "trade closed", gone.text
        record = c.store.get_record(deleted)
        assert record is not None and (record["state"], record["realised_profit"]) == (
            "CLOSED", 4.0)  # fmt: skip


def test_a_ticket_registered_again_after_a_close_left_for_its_owner_is_a_new_trade(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with cluster(redis_server.url(), tmp_path, trades=4, replicas_n=2, lease_seconds=5.0,
                 monitor_seconds=2.0) as c:  # fmt: skip
        *reused, retried = c.tickets
        for ticket in c.tickets:
            body = {**registration(ticket), "opened_at": OLD}
            assert _post(c.replicas[0].server.url, "/dtms/trade/enable", body).status_code == 201
        wait_for(lambda: all(c.owners()), timeout=30, what="the leases")
        others = [_owner_and_other(c, t)[1] for t in c.tickets]
        for ticket, other in zip(c.tickets, others, strict=True):
            left = _post(other, f"/dtms/trade/{ticket}/closed", {"reason": "tp", "profit": 5.0})
            assert left.status_code == 202, left.text
        # at once, before the owners' next cycles: the broker handed three tickets out
        # again; the fourth trade is registered again as it was (a client's retry)
        bodies = [{**registration(t), "opened_at": NEW} for t in reused]
        bodies.append({**registration(retried), "opened_at": OLD})
        with ThreadPoolExecutor(len(c.tickets)) as pool:
            answers = list(pool.map(_post, others, ["/dtms/trade/enable"] * 4, bodies))
        same = answers.pop()  # as one server answers it once the close is applied
        assert same.status_code == 409 and same.json()["error"] == "trade closed", same.text
        assert same.json()["realised_profit"] == 5.0
        for ticket, answer in zip(reused, answers, strict=True):
            assert answer.status_code == 201, (ticket, answer.text)
            assert answer.json()["already_registered"] is False
            record = c.store.get_record(ticket)
            assert record is not None and record["opened_at"] == NEW
            assert record["state"] != "CLOSED"
            (old,) = c.store.archived(ticket)  # the old trade, closed by the report left
            assert (old["opened_at"], old["state"], old["realised_profit"]) == (
                OLD, "CLOSED", 5.0)  # fmt: skip
        assert c.store.client.hlen("dtms:closes") == 0
        # two cycles of every replica later, the new trades are still defended, and held
        since = time.time()
        ids = [r.id for r in c.replicas]
        for _ in range(2):
            wait_for(lambda s=since: min(c.renewals(ids).values()) > s, timeout=30,
                     what="a cycle of every replica")  # fmt: skip
            since = time.time()
        for ticket in reused:
            record = c.store.get_record(ticket)
            assert record is not None and record["opened_at"] == NEW
            assert record["state"] != "CLOSED"
        wait_for(lambda: all(c.owners(reused)), timeout=30, what="the new trades' leases")


def test_a_registration_settles_a_close_left_for_a_closed_trade_nobody_owns(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with cluster(redis_server.url(), tmp_path, trades=1, replicas_n=2, lease_seconds=3.0,
                 monitor_seconds=0.3) as c:  # fmt: skip
        (ticket,) = c.tickets
        body = {**registration(ticket), "opened_at": OLD}
        assert _post(c.replicas[0].server.url, "/dtms/trade/enable", body).status_code == 201
        broker = PaperBroker(settings=PaperSettings(account_file=str(c.account)))
        try:
            assert broker.close(ticket).ok
            at_broker = broker.closed_trade(ticket)
        finally:
            broker.release()
        assert at_broker is not None and at_broker.profit != 5.0
        # its engine closes it, the position gone, and gives the lease back
        wait_for(lambda: c.owners() == [None] and (c.store.get_record(ticket) or {}).get(
            "state") == "CLOSED", timeout=30, what="the trade closed by its engine")  # fmt: skip
        # the client's report, left by a replica that did not own the trade just before
        # its owner gave the lease back: nobody claims a closed trade to apply it
        report = {"kind": "closed", "ticket": ticket, "reason": "tp", "profit": 5.0}
        c.store.client.hset("dtms:closes", str(ticket), json.dumps({**report, "opened_at": OLD}))
        body = {**registration(ticket), "opened_at": NEW}  # the ticket handed out again
        answer = _post(c.replicas[1].server.url, "/dtms/trade/enable", body)
        assert answer.status_code == 201, answer.text
        # with the report's reason, and the money of the broker's history (docs/client.md)
        (old,) = c.store.archived(ticket)
        assert (old["opened_at"], old["close_reason"], old["realised_profit"]) == (
            OLD, "tp", at_broker.profit)  # fmt: skip
        assert c.store.client.hlen("dtms:closes") == 0
        record = c.store.get_record(ticket)  # (the paper account has no position for it)
        assert record is not None and record["opened_at"] == NEW


async def test_a_close_left_for_an_earlier_trade_of_the_ticket_closes_no_other(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    with RedisStore(redis_server.url()) as store:
        replicas = Replicas(store, cycle_seconds=0.1, lease_seconds=3.0)
        left: dict[int, str | None] = {5: OLD, 6: NEW, 7: None}  # 7: said no trade
        for ticket, opened in left.items():
            store.put_record(ticket, {"ticket": ticket, "state": "HEALTHY", "opened_at": NEW})
            entry = {"kind": "closed", "ticket": ticket, "reason": "tp", "profit": 1.0}
            if opened is not None:
                entry["opened_at"] = opened
            store.client.hset("dtms:closes", str(ticket), json.dumps(entry))
        replicas.held.update(left)
        applied: list[int] = []

        async def apply(report: ClosedReport) -> None:
            applied.append(report.ticket)

        async def unregister(ticket: int) -> None:
            raise AssertionError(f"no unregistration was left, yet {ticket} was let go")

        with caplog.at_level("INFO", logger="dtms_plugin.server.replicas"):
            await LeftCloses().apply(replicas, store, apply, unregister)
        assert sorted(applied) == [6, 7]
        assert store.client.hlen("dtms:closes") == 0
        said = [r.getMessage() for r in caplog.records]
        assert any("DTMS 5: close left for an earlier trade of the ticket" in m for m in said)
