"""What a replica left for a trade's owner (a close, a DELETE: docs/scaling.md §5) comes
first, as on one server, where it would have been applied before anything that came
after it (real processes on one redis-server and one paper account):

- a second report of the close, sent to the owner, is ``already_closed``: the first one
  left stands. The owner took the one left back and applied the second as a fresh close;
- a DELETE sent to the owner finds the trade closed. The owner let it go, and the close
  left for it was dropped;
- a close left for the ticket's earlier trade never closes the one registered since.
"""

from __future__ import annotations

import json
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
