"""Leases, claims, the registration stream and the engine's view of the store, between
replicas in one process on a real redis-server (the processes' test is
test_failover_processes.py)."""

from __future__ import annotations

import logging
import time

import pytest
from support.dtms_kit import T0, trade
from support.redis_server import RedisServer, stop_redis
from support.replica_kit import live_replica

from dtms_plugin.book import TradeBook
from dtms_plugin.engine import register
from dtms_plugin.local_writes import PendingWrites
from dtms_plugin.server.owned_store import NotHeld
from dtms_plugin.server.replicas import Replicas
from dtms_plugin.store.redis_store import RedisStore, StaleWrite
from hookspecs import Action, ActionKind, ActionResult, ResultCode


def test_a_lease_is_held_by_one_replica_and_lost_when_another_takes_it(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    a, b = live_replica(stores[0]), live_replica(stores[1])
    assert a.acquire(7) and not b.acquire(7)
    assert a.renew() == set() and a.held == {7}
    stores[2].client.delete("dtms:lease:7")  # expired while a was paused
    assert b.acquire(7)
    assert a.renew() == {7} and a.held == set()
    assert "lost the lease of 1 trades" in caplog.text


def test_orphans_are_shared_between_live_replicas(stores: list[RedisStore]) -> None:
    for ticket in range(1, 11):
        stores[2].put_record(ticket, {"state": "HEALTHY"})
    stores[2].put_record(11, {"state": "CLOSED"})  # closed: nobody needs it
    a, b = live_replica(stores[0]), live_replica(stores[1])
    assert len(a.claim()) == 5  # its fair share while b is live
    a.renew()
    assert len(b.claim()) == 5
    assert a.held.isdisjoint(b.held) and a.held | b.held == set(range(1, 11))
    a.release()  # a clean shutdown gives everything back
    released = set(range(1, 11)) - b.held
    assert all(stores[2].client.get(f"dtms:lease:{t}") is None for t in released)
    b.renew()
    assert set(b.claim()) == released  # a is gone: b's share is everything
    assert b.held == set(range(1, 11))
    assert [r["id"] for r in b.status()] == [b.id]


def test_a_planted_member_of_the_trades_set_is_no_trade_to_claim(
    stores: list[RedisStore],
) -> None:
    """A member that spells no ticket (written by hand, never by a store) raised in the
    claim, so the replica's cycle failed every time and no orphan moved."""
    for ticket in range(1, 5):
        stores[2].put_record(ticket, {"state": "HEALTHY"})
    stores[2].client.zadd("dtms:trades", {"not-a-ticket": 0, "2\u00b2": 1})
    a = live_replica(stores[0])
    assert sorted(a.claim()) == [1, 2, 3, 4]
    assert sorted(stores[0].records()) == [1, 2, 3, 4]


def test_the_last_replica_to_claim_takes_what_the_others_left(stores: list[RedisStore]) -> None:
    """A replica that registered trades since its heartbeat has a larger load than the
    first claimer counted: its own share then leaves orphans. Those the others passed
    are its to take at once (not at the others' next cycle)."""
    for ticket in range(1, 11):
        stores[2].put_record(ticket, {"state": "HEALTHY"})
    a, b = live_replica(stores[0]), live_replica(stores[1])
    assert len(a.claim()) == 5  # its fair share while b (heartbeat: 0 trades) is live
    a.renew()
    for ticket in range(21, 25):  # b applies four registrations before its next cycle
        assert b.acquire(ticket)
    # b's share alone: ceil((5 orphans + a's 5 + b's 4) / 2) - 4 = 3 of the 5 left
    assert len(b.claim()) == 5
    assert a.held | b.held >= set(range(1, 11)) and a.held.isdisjoint(b.held)
    assert not any(stores[2].client.keys("dtms:passed:*"))  # claimed: marks forgotten


def test_an_orphan_is_left_to_a_replica_that_has_not_passed_it(stores: list[RedisStore]) -> None:
    """With three live replicas the second claimer keeps to its share: the third has not
    had its turn, and takes the rest when it comes."""
    for ticket in range(1, 13):
        stores[2].put_record(ticket, {"state": "HEALTHY"})
    a, b, c = live_replica(stores[0]), live_replica(stores[1]), live_replica(stores[2])
    assert len(a.claim()) == 4
    a.renew()
    assert len(b.claim()) == 4
    b.renew()
    assert len(c.claim()) == 4
    assert len(a.held | b.held | c.held) == 12


def test_the_engine_view_holds_only_leased_trades(stores: list[RedisStore]) -> None:
    stores[2].put_record(1, {"n": 1})
    stores[2].put_record(2, {"n": 1})
    a = live_replica(stores[0])
    assert sorted(a.claim()) == [1, 2] and a.release({2}) is None
    assert a.view.records() == {1: {"n": 1}} and a.view.get_record(2) is None
    a.view.put_record(1, {"n": 2})
    a.view.put_states({1: "HEALTHY", 2: "HEALTHY"}, T0)  # the state cache: held ones only
    assert stores[2].get_state(1) == ("HEALTHY", T0) and stores[2].get_state(2) is None
    with pytest.raises(NotHeld, match="ticket 2: this replica does not hold its lease"):
        a.view.delete_state(2)
    assert stores[2].records() == {1: {"n": 2}, 2: {"n": 1}}


def test_a_write_after_a_takeover_is_refused_by_version_and_the_loss_noticed(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    stores[2].put_record(1, {"n": 1})
    a, b = live_replica(stores[0]), live_replica(stores[1])
    assert a.claim() == [1]
    lost: list[set[int]] = []
    a.on_lost = lost.append
    stores[2].client.delete("dtms:lease:1")  # expired while a was paused
    assert b.claim() == [1]  # fenced: the record moved to its next version
    # a still believes it holds the trade (it has not renewed): Redis refuses by version
    with pytest.raises(StaleWrite, match="the record of ticket 1 is at version"):
        a.view.put_record(1, {"n": "stale"})
    assert lost == [{1}] and a.held == set()  # renewed at once: the engine lets it go
    assert "lost the lease of 1 trades" in caplog.text
    assert stores[2].get_record(1) == {"n": 1}


def test_a_refused_record_takes_its_history_entries_with_it(stores: list[RedisStore]) -> None:
    a, b = live_replica(stores[0]), live_replica(stores[1])
    book = TradeBook()
    writes = PendingWrites(book, logging.getLogger("test.writes"))
    for ticket in (1, 2):
        assert a.acquire(ticket)
        book.put(register(trade(ticket), None, T0))
        writes.record(book.records[ticket], T0)
    assert writes.flush(a.view) == set()
    a.on_lost = lambda tickets: [book.pop(t) for t in tickets]  # as the service binds it
    stores[2].client.delete("dtms:lease:2")
    assert b.claim() == [2]
    for ticket in (1, 2):  # a settled something for each, then writes its cycle
        rec = book.records[ticket]
        book.put(rec.evolve(stop_loss=1995.0))
        writes.record(book.records[ticket], T0)
        move = Action(ticket, ActionKind.TIGHTEN_SL, {"stop_loss": 1995.0}, "t", f"{ticket}:k")
        writes.action(move, ActionResult(True, ResultCode.OK, ""), T0)
    assert writes.flush(a.view) == {2}
    assert [e["ticket"] for e in stores[2].actions(limit=10)] == [1]
    assert sorted(book.records) == [1]


def test_unrenewable_leases_stop_everything_at_once(
    redis_server: RedisServer, stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    a = live_replica(stores[0])
    assert a.acquire(1) and a.acquire(2)
    stop_redis(redis_server.process)
    assert a.renew() == {1, 2} and a.held == set()
    assert a.renew() == set()
    assert caplog.text.count("cannot renew its leases") == 1  # once per episode


def test_a_dead_consumers_registration_is_claimed_by_another(stores: list[RedisStore]) -> None:
    a, b = live_replica(stores[0]), live_replica(stores[1])
    entry = a.publish({"ticket": 5, "symbol": "XAUUSD"})
    assert b.read(100) == [(entry, {"ticket": 5, "symbol": "XAUUSD"})]  # then b dies
    assert a.read(10) == []  # not idle long enough yet: b may still be working on it
    time.sleep(a.ttl_ms / 1000 + 0.1)
    assert a.read(10) == [(entry, {"ticket": 5, "symbol": "XAUUSD"})]
    a.done(entry, {"error": None})
    time.sleep(a.ttl_ms / 1000 + 0.1)
    assert b.read(10) == [] and a.outcome(entry) == {"error": None}


def test_renewals_late_by_over_half_a_ttl_are_warned_of_before_the_leases_lapse(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture
) -> None:
    """Three loaded replicas all lost their leases ("expired unrenewed: this replica was
    late") with no word before of cycles that ran long."""
    a = Replicas(stores[0], cycle_seconds=0.1, lease_seconds=0.6)
    a.renew(records=True)
    time.sleep(0.4)  # a cycle that ran long: past (TTL + interval) / 2, within the TTL
    a.renew(records=True)
    a.renew(records=True)  # the next cycle in time
    late = [r for r in caplog.records if "renewed its leases" in r.message]
    assert [r.levelname for r in late] == ["WARNING"]
    assert "over 0.35 s (cycles every 0.1 s, a TTL of 0.6 s)" in late[0].message
    assert caplog.text.count("renews its leases in time again") == 1


def test_an_orphan_unregistered_while_it_is_claimed_is_let_go_not_reported_lost(
    stores: list[RedisStore], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between a replica's read of the orphans and its taking their leases, another
    replica took one, applied a DELETE left for it (the record removed) and gave its
    lease back. The first then held the lease of a record that was gone, and its next
    renewal warned that Redis had lost records ("Redis flushed … or evicted")."""
    stores[2].put_record(7, {"state": "HEALTHY"})
    a, b = live_replica(stores[0]), live_replica(stores[1])
    taking = a.acquire

    def after_the_other_replica(ticket: int) -> bool:
        if not b.held:  # the other replica's whole takeover and DELETE, in between
            assert b.acquire(7)
            stores[1].adopt([7], fence=True)
            stores[1].delete_record(7)
            b.release({7})
        return taking(ticket)

    monkeypatch.setattr(a, "acquire", after_the_other_replica)
    assert a.claim() == []
    assert a.held == set() and stores[2].client.get("dtms:lease:7") is None
    caplog.set_level(logging.WARNING)
    assert a.renew(records=True) == set()  # the start of its next cycle
    assert "disappeared" not in caplog.text


def test_a_replica_that_died_after_its_claims_is_dead_when_its_leases_expire(
    stores: list[RedisStore],
) -> None:
    """Its heartbeat says it live until the leases of its last renewal expire, not a TTL
    after the claims later in that cycle: with the longer heartbeat, a replica killed
    after claiming still counted as live when its leases lapsed, and the survivor took
    only its own share of the orphans, leaving the rest for one more cycle."""
    for ticket in range(1, 11):
        stores[2].put_record(ticket, {"state": "HEALTHY"})
    a = Replicas(stores[0], cycle_seconds=0.1, lease_seconds=1.0)
    b = Replicas(stores[1], cycle_seconds=0.1, lease_seconds=1.0)
    a.renew(), b.renew()
    assert len(a.claim()) == 5 and len(b.claim()) == 5
    renewed = time.monotonic()
    a.renew(), b.renew()  # a's last renewal: its five leases expire a TTL from now
    time.sleep(0.4)
    stores[2].put_record(11, {"state": "HEALTHY"})
    assert a.claim() == [11]  # its heartbeat written again, after the claim; then killed
    lease, beat = (stores[2].client.pttl(f"dtms:{k}") for k in ("lease:1", f"replica:{a.id}"))
    assert beat <= lease + 20  # ms: not a whole TTL from the claim
    b.renew()
    time.sleep(max(0.0, renewed + 1.1 - time.monotonic()))  # a's renewed leases lapsed
    mine = set(b.held)
    assert b.renew() == set() and b.held == mine
    assert sorted(b.claim()) == sorted(set(range(1, 11)) - mine)  # all of a's at once
