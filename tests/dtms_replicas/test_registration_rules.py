"""Registrations through replicas answer as one server does (docs/dtms.md §8, the rules of
dtms_plugin/server/registering.py): a registration contradicting the live trade is a 409
naming the field, a CLOSED ticket registered for another position is a new trade (the old
record archived), and two replicas racing on one ticket have one winner. They were all
"registered" or "already registered": the outcome was decided before the registration was
queued, and the replica applying it took any record as already registered (real processes
on one redis-server and one paper account)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
from support.e2e_procs import AUTH, wait_for
from support.redis_server import RedisServer
from support.replica_procs import SYMBOL, cluster, registration


def _post(url: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{url}/dtms/trade/enable", json=body, headers=AUTH, timeout=60)


def _conflict(ticket: int, field: str, sent: str, held: str, direction: str) -> dict[str, Any]:
    """The single server's 409 body (registering._check_conflict's message)."""
    return {
        "success": False,
        "error": "conflicting registration",
        "field": field,
        "message": f"ticket {ticket} is a live {direction} trade on {SYMBOL}: "
        f"{field} {sent!r} conflicts with {held!r}",
    }


def test_two_replicas_registering_one_ticket_both_ways_have_one_winner(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    # no cycle meanwhile: a sell registered for the account's buy would be turned back
    with cluster(redis_server.url(), tmp_path, trades=12, replicas_n=2, lease_seconds=3.0,
                 monitor_seconds=60) as c:  # fmt: skip
        urls = [r.server.url for r in c.replicas]
        with ThreadPoolExecutor(2) as pool:
            for ticket in c.tickets:
                bodies = [
                    registration(ticket),
                    {**registration(ticket), "direction": "sell", "stop_loss": 2100.0},
                ]
                answers = list(pool.map(_post, urls, bodies))
                statuses = [r.status_code for r in answers]
                assert sorted(statuses) == [201, 409], (ticket, [r.text for r in answers])
                won = statuses.index(201)
                winner, loser = bodies[won]["direction"], bodies[1 - won]["direction"]
                assert answers[1 - won].json() == _conflict(
                    ticket, "direction", loser, winner, winner
                )
                record = c.store.get_record(ticket)
                assert record is not None and record["direction"] == winner
                assert c.store.archived(ticket) == []


def test_a_registration_contradicting_a_live_trade_is_a_409_on_either_replica(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with cluster(redis_server.url(), tmp_path, trades=1, replicas_n=2, lease_seconds=3.0,
                 monitor_seconds=0.2) as c:  # fmt: skip
        (live,) = c.tickets
        urls = [r.server.url for r in c.replicas]
        assert _post(urls[0], registration(live)).status_code == 201
        for url in urls:
            other_side = _post(url, {**registration(live), "direction": "sell"})
            assert other_side.status_code == 409, other_side.text
            assert other_side.json() == _conflict(live, "direction", "sell", "buy", "buy")
            other_symbol = _post(url, {**registration(live), "symbol": "EURUSD"})
            assert other_symbol.status_code == 409, other_symbol.text
            assert other_symbol.json() == _conflict(live, "symbol", "EURUSD", SYMBOL, "buy")
            same = _post(url, registration(live))  # the same trade: simply already there
            assert same.status_code == 200 and same.json()["already_registered"] is True
        record = c.store.get_record(live)
        assert record is not None and (record["direction"], record["symbol"]) == ("buy", SYMBOL)


def test_a_closed_ticket_registered_for_another_position_is_a_new_trade(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with cluster(redis_server.url(), tmp_path, trades=2, replicas_n=2, lease_seconds=3.0,
                 monitor_seconds=0.2) as c:  # fmt: skip
        reused, later = c.tickets
        urls = [r.server.url for r in c.replicas]
        for ticket in c.tickets:
            assert _post(urls[0], registration(ticket)).status_code == 201
        # closed, reported to the owner (applied at once)
        wait_for(lambda: all(c.owners()), timeout=30, what="the leases")
        by_id = {r.id: r.server.url for r in c.replicas}
        for ticket in c.tickets:
            owner = by_id[str(c.owners([ticket])[0])]
            closed = requests.post(
                f"{owner}/dtms/trade/{ticket}/closed", json={"reason": "take_profit",
                "profit": 5.0}, headers=AUTH, timeout=30,
            )  # fmt: skip
            assert closed.status_code == 200, closed.text
        old = c.store.get_record(reused)
        assert old is not None and old["state"] == "CLOSED"
        same = _post(urls[1], registration(reused))  # the same closed trade: a retry
        assert same.status_code == 409 and same.json()["state"] == "CLOSED", same.text
        assert same.json()["error"] == "trade closed" and same.json()["close_reason"]
        # another entry price alone (no opening time sent), while the broker lists the
        # ticket's position open at the entry kept (its fill, docs/dtms.md §8): that
        # position, the closed trade, not another one
        again = _post(urls[1], {**registration(reused), "entry_price": 2050.0})
        assert again.status_code == 409 and again.json()["error"] == "trade closed", again.text
        assert c.store.archived(reused) == []
        # another opening time, to the other replica (another side is another position
        # too, but the paper account holds a buy there: the owner's cycle turns it back)
        old = c.store.get_record(later)
        body = {**registration(later), "opened_at": "2026-03-04T09:00:00+00:00"}
        again = _post(urls[0], body)
        assert again.status_code == 201, again.text
        record = c.store.get_record(later)
        assert record is not None and record["opened_at"] == "2026-03-04T09:00:00+00:00"
        assert c.store.archived(later) == [old]
        # the new trade is managed: held by a replica
        wait_for(lambda: all(c.owners([later])), timeout=30, what="the new trade's lease")


def test_an_unregistration_stands_on_every_replica(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """Unregistered through one replica, a host's automatic registration of the same
    position through another is the single server's 409; a registration without
    ``automatic`` manages it again."""
    with cluster(redis_server.url(), tmp_path, trades=1, replicas_n=2, lease_seconds=3.0,
                 monitor_seconds=60) as c:  # fmt: skip
        [ticket] = c.tickets
        assert _post(c.replicas[0].server.url, registration(ticket)).status_code in (200, 201)
        # through its owner: through the other, the DELETE waits for the owner's next
        # cycle (monitor_seconds=60), longer than the wait below
        wait_for(lambda: all(c.owners([ticket])), timeout=30, what="its lease")
        [owner] = c.owners([ticket])
        first = next(r.server.url for r in c.replicas if r.id == owner)
        second = next(r.server.url for r in c.replicas if r.id != owner)
        gone = requests.delete(f"{first}/dtms/trade/{ticket}", headers=AUTH, timeout=60)
        assert gone.status_code in (200, 202), gone.text  # 202: through the stream
        wait_for(lambda: c.store.get_record(ticket) is None, timeout=30, what="the unregistration")
        again = _post(second, {**registration(ticket), "automatic": True})
        assert again.status_code == 409, again.text
        assert again.json()["error"] == "trade unregistered"
        assert c.store.get_record(ticket) is None
        # a registration refused after the check (a symbol the broker does not trade)
        # leaves the unregistration standing: the host's next one is still turned back
        refused = _post(first, {**registration(ticket), "symbol": "NOPE"})
        assert refused.status_code == 400, refused.text
        still = _post(second, {**registration(ticket), "automatic": True})
        assert still.status_code == 409, still.text
        wanted = _post(second, registration(ticket))
        assert wanted.status_code == 201, wanted.text
        wait_for(lambda: c.store.get_record(ticket) is not None, timeout=30, what="the record")
        assert c.store.get_value("unregistered") == {}  # lifted: no mark, no null left
