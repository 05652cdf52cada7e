"""The claims of orphaned trades by a ``dtms serve`` replica (docs/scaling.md; the
module docstring of :mod:`.replicas`, "Claims"). :class:`OrphanClaims` is a mixin of
:class:`~.replicas.Replicas`, whose ``__init__`` sets the attributes declared here.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING, Any

from ..store.redis_store import RedisStore
from ..store.rows import key_number
from .redis_calls import store_call


class OrphanClaims:
    store: RedisStore
    log: logging.Logger
    id: str
    ttl_ms: int
    held: set[int]
    _orphans: set[int]
    _offset: int
    _renewed_mono: float | None

    if TYPE_CHECKING:  # the replica's own methods

        def live(self) -> list[dict[str, Any]]: ...

        def acquire(self, ticket: int) -> bool: ...

        def release(self, tickets: set[int] | None = None) -> None: ...

        def _heartbeat(self, trades: int, renewed: float | None) -> None: ...

    def _take(self, ticket: int) -> bool:
        """The lease of orphan ``ticket``, when nobody holds it and its record is still in
        the store. Between this replica's read of the orphans and its taking a lease,
        another replica may take the orphan, apply a ``DELETE`` left for it (its record
        removed) and give the lease back: held, that lease was renewed for a record that
        was gone, read as Redis losing it ("records … disappeared from the store"), a
        false alarm. Once the lease is held nobody else removes the record: checked once,
        here, the lease given back when it is gone."""
        if not self.acquire(ticket):
            return False
        if self.store.client.exists(f"{self.store.prefix}trade:{ticket}"):
            return True
        self.release({ticket})
        return False

    def claim(self) -> list[int]:
        """Orphaned open trades this replica takes: up to its fair share of the open trades
        among the live replicas; the least loaded also takes what the others' shares
        leave. The shares come from heartbeats up to a cycle old (a replica registers
        trades between its heartbeats), so an orphan can fall between them: one that
        every other live replica has passed since its lease expired, or that this one
        saw orphaned at its last claim, is taken now whatever the share. So the last
        live replica to cycle after a lease expired takes what the others left: no
        orphan waits more than one cycle of the replicas past its lease."""
        with store_call(self.store, "claiming orphaned trades"):
            return self._claim()

    def _claim(self) -> list[int]:
        p = self.store.prefix
        client = self.store.client
        # a member that spells no ticket was planted: no trade to claim (records() says so)
        members = client.zrange(f"{p}trades", 0, -1)
        tickets = [t for name in members if (t := key_number(name)) is not None]
        leased = client.mget([f"{p}lease:{t}" for t in tickets]) if tickets else []
        live = self.live()
        # MGET reads a lease of the wrong type as none; one owned by no live replica may
        # be a hand-edited key without a TTL, which would hold its trade for ever
        ids = {str(r.get("id")) for r in live} | {self.id}
        orphans = [t for t, owner in zip(tickets, leased, strict=True) if owner is None]
        orphans += self._unexpiring(
            [t for t, o in zip(tickets, leased, strict=True) if o and o not in ids]
        )
        if not orphans:
            self._orphans = set()
            return []
        pipe = client.pipeline(transaction=False)
        for ticket in orphans:
            pipe.hget(f"{p}trade:{ticket}", "j")
        records: list[Any] = []
        for ticket, text in zip(orphans, pipe.execute(raise_on_error=False), strict=True):
            if isinstance(text, Exception):  # the wrong type: unreadable, said once
                self.store._unreadable(f"{p}trade:{ticket}", text)
                records.append(None)
            else:
                records.append(self.store._decode(f"trade:{ticket}", text))
        open_ = [
            t
            for t, rec in zip(orphans, records, strict=True)
            if isinstance(rec, dict) and rec.get("state") != "CLOSED"
        ]
        others = {str(r.get("id")): int(r.get("trades", 0)) for r in live if r.get("id") != self.id}
        passed = self._passed(open_)
        overdue = [t for t in open_ if t in self._orphans or others.keys() <= passed[t]]
        self._orphans = set(open_)
        fair = math.ceil((len(open_) + sum(others.values()) + len(self.held)) / (len(others) + 1))
        room = fair - len(self.held)
        # the least-loaded live replica also takes what the others' shares leave (their
        # counts may be a cycle old), so no orphan waits for another cycle
        if (len(self.held), self.id) <= min(((n, i) for i, n in others.items()), default=(0, "")):
            room = max(room, len(open_) - sum(max(0, fair - n) for n in others.values()))
        claimed = [t for t in overdue if self._take(t)]
        room -= len(claimed)
        late = set(overdue)
        fresh = [t for t in open_ if t not in late]
        start = self._offset % len(fresh) if fresh else 0  # replicas start apart
        for ticket in fresh[start:] + fresh[:start]:
            if room <= 0:
                break
            if self._take(ticket):  # taken by another meanwhile, or gone: try the next
                claimed.append(ticket)
                room -= 1
        self._pass([t for t in open_ if t not in self.held], claimed)
        if claimed:
            self.store.adopt(claimed, fence=True)  # the previous owner can write no more
            self._orphans.difference_update(claimed)
            # the others' shares count these at once; live as long as the cycle's leases
            self._heartbeat(len(self.held), self._renewed_mono)
            self.log.info("replica %s took over %d trades", self.id, len(claimed))
        return claimed

    def _unexpiring(self, tickets: list[int]) -> list[int]:
        """Those of ``tickets`` whose lease has no TTL: set by hand, never by a replica."""
        pipe = self.store.client.pipeline(transaction=False)
        for ticket in tickets:
            pipe.pttl(f"{self.store.prefix}lease:{ticket}")
        return [t for t, ttl in zip(tickets, pipe.execute(), strict=True) if ttl == -1]

    def _passed(self, tickets: list[int]) -> dict[int, set[str]]:
        """The replicas that left each of ``tickets`` to the others' shares."""
        pipe = self.store.client.pipeline(transaction=False)
        for ticket in tickets:
            pipe.smembers(f"{self.store.prefix}passed:{ticket}")
        return {t: set(ids) for t, ids in zip(tickets, pipe.execute(), strict=True)}

    def _pass(self, left: list[int], claimed: list[int]) -> None:
        """Mark ``left`` as passed by this replica (until a lease TTL after the mark) and
        forget the marks of ``claimed``."""
        if not left and not claimed:
            return
        p = self.store.prefix
        pipe = self.store.client.pipeline(transaction=False)
        for ticket in left:
            pipe.sadd(f"{p}passed:{ticket}", self.id)
            pipe.pexpire(f"{p}passed:{ticket}", self.ttl_ms)
        if claimed:
            pipe.delete(*(f"{p}passed:{t}" for t in claimed))
        pipe.execute()
