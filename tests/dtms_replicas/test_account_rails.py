"""The account rails (docs/dtms.md §7: the stop streak, the daily loss) judge every close
of the account, whichever replica closed it (docs/scaling.md, "The account rails"): real
``dtms serve`` replicas on one redis-server and one paper account. Each replica's engine
holds only the trades it leases and let a closed one go with its lease, so its rails saw
neither the others' closes nor, a cycle later, its own: three stop-outs in a row through
two replicas put the account in no defensive mode (the soak: 1 episode of ~510)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from support.e2e_procs import wait_for
from support.redis_server import RedisServer
from support.replica_procs import AUTH, Cluster, cluster, register

from dtms_plugin.store.closes import close_of
from dtms_plugin.store.redis_store import RedisStore

STREAK = "3 consecutive trades closed at their stop"


def _closes_through_two_replicas(c: Cluster, closes: list[tuple[str, float]]) -> list[int]:
    """Register every trade (each replica gets some), then report ``closes`` (reason,
    profit), one trade each, to its owner, the owners taking turns; the tickets closed."""
    for i, ticket in enumerate(c.tickets):
        assert register(c.replicas[i % 2].server.url, ticket).status_code == 201
    wait_for(lambda: all(c.owners()), timeout=60, what="every lease taken")
    owners = dict(zip(c.tickets, c.owners(), strict=True))
    mine = [[t for t in c.tickets if owners[t] == r.id] for r in c.replicas]
    turns = [t for pair in zip(*mine, strict=False) for t in pair]  # the owners in turn
    order = (turns + [t for t in c.tickets if t not in turns])[: len(closes)]
    assert {owners[t] for t in order} == {r.id for r in c.replicas}, owners
    url = {r.id: r.server.url for r in c.replicas}
    for ticket, (reason, profit) in zip(order, closes, strict=True):
        resp = requests.post(
            f"{url[owners[ticket]]}/dtms/trade/{ticket}/closed",
            json={"reason": reason, "profit": profit}, headers=AUTH, timeout=30,
        )  # fmt: skip
        assert resp.status_code == 200, resp.text[:400]
        assert resp.json()["state"] == "CLOSED"
        # the owner's next cycle gives the lease back and lets the closed record go
        wait_for(lambda t=ticket: c.owners([t]) == [None], timeout=30, what="lease released")
    return order


def _both_defensive(c: Cluster, open_ticket: int, reason: str) -> None:
    """Every replica answers the account defensive (a host's entries vetoed: its
    ``allow_order`` reads ``/dtms/status``) and an open trade defensive (``is_defensive``)."""
    for replica in c.replicas:
        mode = replica.server.json("/dtms/status")["account_mode"]
        assert mode["defensive"] is True, (replica.id, mode)
        assert reason in mode["reason"], mode
        trade = replica.server.json(f"/dtms/trade/{open_ticket}")
        assert trade["defensive"] is True, trade


@pytest.mark.parametrize(
    ("closes", "reason"),
    [
        pytest.param([("stop_loss", -5.0)] * 3, STREAK, id="stop-streak"),
        # 1.2 % of the balance (1e9) each: the day's loss reaches 2 % only with both
        pytest.param([("manual", -1.2e7)] * 2, "daily realised loss", id="daily-loss"),
    ],
)
def test_the_account_rails_count_the_closes_of_every_replica(
    redis_server: RedisServer, tmp_path: Path, closes: list[tuple[str, float]], reason: str
) -> None:
    with cluster(redis_server.url(), tmp_path, trades=6, replicas_n=2, lease_seconds=3.0,
                 monitor_seconds=0.1) as c:  # fmt: skip
        closed = _closes_through_two_replicas(c, closes)
        open_ticket = next(t for t in c.tickets if t not in closed)
        _both_defensive(c, open_ticket, reason)
        # as one server decides it: the mode's end from the last close (docs/dtms.md §7)
        mode = c.store.get_account_mode()
        assert mode is not None
        last = c.store.get_record(closed[-1])
        assert last is not None
        closed_at = datetime.fromisoformat(last["closed_at"])
        if reason == STREAK:
            assert mode[0] == closed_at + timedelta(minutes=5 * 12)
        else:
            day = closed_at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            assert mode[0] == day + timedelta(days=1)


def test_the_shared_closes_stay_bounded_and_exact(redis_server: RedisServer) -> None:
    """What the rails read, and no more: the closes of the day (and the day before) and
    the last ``at_least``; older ones go as they are read. Close times keep their
    microseconds (a Lua number would round them to 14 digits)."""
    day = datetime(2026, 3, 4, tzinfo=UTC)
    with RedisStore(redis_server.url()) as store:
        for i in range(40):  # one a day for 40 days, each 1.5 µs-exact
            at = day - timedelta(days=39 - i, microseconds=-i)
            store.put_record(i, {"ticket": i, "opened_at": (at - timedelta(hours=1)).isoformat(),
                                 "closed_at": at.isoformat(), "realised_profit": -1.0,
                                 "close_reason": "stop_loss", "state": "CLOSED"})  # fmt: skip
        store.put_record(99, {"ticket": 99, "opened_at": day.isoformat(), "state": "HEALTHY"})
        assert store.client.zcard("dtms:closed") == 40
        recent = store.recent_closes(day, 5)
        assert [c.ticket for c in recent] == [35, 36, 37, 38, 39]
        assert recent[-1].closed_at == day + timedelta(microseconds=39)
        assert store.client.zcard("dtms:closed") == 5  # the older ones went
        assert store.client.hlen("dtms:closed:entries") == 5
        record = store.get_record(39)
        assert record is not None and close_of(record) == recent[-1]
