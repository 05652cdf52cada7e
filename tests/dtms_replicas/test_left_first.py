"""What a replica left for a trade's owner (a close, a DELETE: docs/scaling.md §5) names
the trade it was left for: a close left for the ticket's earlier trade never closes the
one registered since (a broker reusing tickets): the owner applied it to whatever
record the ticket held."""

from __future__ import annotations

import json

import pytest
from support.redis_server import RedisServer

from dtms_plugin.server.close_inbox import LeftCloses
from dtms_plugin.server.closing import ClosedReport
from dtms_plugin.server.replicas import Replicas
from dtms_plugin.store.redis_store import RedisStore

OLD, NEW = "2026-03-04T09:00:00+00:00", "2026-03-04T09:30:00+00:00"


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
