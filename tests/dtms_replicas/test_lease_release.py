"""A closed trade's lease goes back to Redis, also when the engine's book has already let
the record go: two replicas in one process on a real redis-server, the real lease step
of each cycle (docs/scaling.md). A close left by another replica and applied in a burst
of catch-up cycles left the book (it forgets trades closed before the day) before the
next lease step looked there, and its lease was renewed for ever, counted among the
replica's trades."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from support.dtms_kit import T0, trade
from support.replica_kit import live_replica

from dtms_plugin.book import TradeBook
from dtms_plugin.engine import TradeRecord, close_record, register
from dtms_plugin.server.replica_service import lease_step
from dtms_plugin.server.replicas import Replicas
from dtms_plugin.store.redis_store import RedisStore
from hookspecs import Trade


class _Engine:
    """What the lease step uses of the local strategy: its book, and recover."""

    def __init__(self) -> None:
        self.book = TradeBook()

    async def recover(self, host: Any, now: Any) -> None:
        return None


def _close(replica: Replicas, engine: _Engine, ticket: int, at: Any) -> None:
    """The engine's close of ``ticket`` written under its lease, the record kept in the
    book (as the close applied at the start of a cycle leaves it)."""
    rec = engine.book.records[ticket]
    position = trade(ticket)
    gone = Trade(
        ticket, position.symbol, position.direction, position.volume, position.entry_price,
        position.stop_loss, None, position.opened_at, closed_at=at, close_price=2010.0,
        profit=10.0,
    )  # fmt: skip
    closed, _ = close_record(rec, gone, "take_profit", at)
    replica.view.put_record(ticket, closed.to_json())
    engine.book.put(closed)


def _leases(store: RedisStore, tickets: list[int]) -> list[str | None]:
    return list(store.client.mget([f"dtms:lease:{t}" for t in tickets]))


async def test_a_closed_trade_gone_from_the_book_gives_its_lease_back(
    stores: list[RedisStore],
) -> None:
    a, b = live_replica(stores[0]), live_replica(stores[1])
    tickets = [24, 28, 30, 31]
    for ticket in tickets:
        stores[2].put_record(ticket, register(trade(ticket), None, T0).to_json())
    engine_a, engine_b = _Engine(), _Engine()
    await lease_step(a, engine_a, None, T0)
    await lease_step(b, engine_b, None, T0)
    assert a.held | b.held == set(tickets)
    owner, engine = (a, engine_a) if 24 in a.held else (b, engine_b)
    mine = sorted(owner.held)
    later = T0 + timedelta(days=2)
    for ticket in mine:
        _close(owner, engine, ticket, T0 + timedelta(hours=1))
    # the cycle's end: the book forgets the trades closed before the (catch-up) day
    assert engine.book.prune(later.replace(hour=0), keep_last=0) == len(mine)
    assert all(t not in engine.book.records for t in mine)
    assert owner.held == set(mine)  # still held: the step before had them in the book

    await lease_step(owner, engine, None, later)
    assert owner.held == set()
    assert _leases(stores[2], mine) == [None] * len(mine)
    await lease_step(owner, engine, None, later)  # its heartbeat counts them no more
    assert [r["trades"] for r in owner.status() if r["self"]] == [0]
    other, other_engine = (b, engine_b) if owner is a else (a, engine_a)
    kept = sorted(other.held)
    await lease_step(other, other_engine, None, later)  # closed: nobody takes them
    assert sorted(other.held) == kept and _leases(stores[2], mine) == [None] * len(mine)


async def test_an_open_trade_held_stays_held(stores: list[RedisStore]) -> None:
    """Only a finished trade is let go: one open keeps its lease, in the book or not
    (an unreadable record stays held, said when it was adopted)."""
    a = live_replica(stores[0])
    stores[2].put_record(5, register(trade(5), None, T0).to_json())
    stores[2].put_record(6, {"state": "HEALTHY", "ticket": "not a record"})
    engine = _Engine()
    await lease_step(a, engine, None, T0)
    assert a.held == {5, 6} and list(engine.book.records) == [5]
    assert isinstance(engine.book.records[5], TradeRecord)
    await lease_step(a, engine, None, T0 + timedelta(minutes=5))
    assert a.held == {5, 6}
    assert _leases(stores[2], [5, 6]) == [a.id, a.id]
