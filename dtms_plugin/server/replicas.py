"""Several ``dtms serve`` replicas on one Redis, each trade managed by exactly one of them
(docs/scaling.md).

- **Leases.** A replica manages a trade only while it holds ``lease:<ticket>``
  (``SET NX PX``), renewed at the start of every cycle. A lease it no longer holds (expired
  while it was paused, taken by another) or a renewal that fails (Redis unreachable) drops
  the trade from its engine at once, logged. Its leases are deleted on a clean shutdown.
- **Fencing.** A lease can expire under a replica stopped mid-cycle; when it wakes, its
  writes are refused by the record's version (:mod:`dtms_plugin.store.redis_store`), so
  neither its record nor a journal entry written with it lands, and no broker call follows
  (the journal is written before every broker call, docs/dtms.md §8).
- **Claims.** Every cycle a replica claims orphaned trades (no lease: new, or their owner
  died) up to its fair share of the open trades among the live replicas; the least-loaded
  live replica claims the rest. An orphan left for the others' shares is marked as passed
  by this replica (``passed:<ticket>``); one that every other live replica has passed is
  taken whatever the share, so each orphan is owned again within one cycle of every live
  replica after its lease expired. A claimed trade is loaded at its current version and
  recovered (a pending action is settled from the broker before anything is re-sent).
- **Registrations** go through the stream ``registrations`` and its consumer group: any
  replica accepts one (XADD) and waits for its outcome; the replica that reads it takes
  the lease, decides by the single server's rules (already registered, a conflict, or a
  new trade), registers it in its engine and acknowledges it only after the record is
  written. Entries a dead replica read and never acknowledged are claimed by another
  after a lease TTL (XAUTOCLAIM).
- **Heartbeats** (``replica:<id>``, expiring with a lease TTL) say which replicas are live,
  how many trades each holds and when it last renewed; ``/dtms/status`` lists them. The
  set ``replicas`` scores each by when it counts as dead (its last renewal plus a TTL):
  a heartbeat evicted by a full Redis does not make a live replica dead.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import redis

from ..store.redis_hints import redis_hint
from ..store.redis_store import RedisStore
from .lease_scripts import ACQUIRE, RELEASE, RENEW, lost_by_why, say_lost
from .owned_store import OwnedStore
from .redis_calls import store_call
from .replica_claims import OrphanClaims
from .replica_stream import RegistrationStream
from .store_checks import check_eviction
from .store_loss import StoreWatch


class Replicas(OrphanClaims, RegistrationStream):
    """This replica's leases, heartbeat and share of the registration stream."""

    def __init__(
        self,
        store: RedisStore,
        *,
        cycle_seconds: float,
        lease_seconds: float = 10.0,
        log: logging.Logger | None = None,
    ) -> None:
        self.store = store
        self.log = log or logging.getLogger("dtms_plugin.server.replicas")
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        #: renewed each cycle, so it outlives at least two; a dead replica's trades move
        #: to the live ones after it
        self.ttl_ms = int(max(lease_seconds, 2.0 * cycle_seconds) * 1000)
        self.cycle_seconds = cycle_seconds
        if lease_seconds < 2.0 * cycle_seconds:
            self.log.warning(
                "replica: lease_seconds (%g) is under twice monitor_seconds (%g): leases would"
                " lapse between two cycles that do nothing; a TTL of two cycles (%g s) is used",
                lease_seconds,
                cycle_seconds,
                self.ttl_ms / 1000,
            )
        self.held: set[int] = set()
        #: what each heartbeat says of this replica's account and settings (set when it
        #: is admitted, :mod:`.replica_admission`): a replica starting checks them, as
        #: the store's own keys of them may be lost with the rest (docs/scaling.md)
        self.identity: dict[str, Any] = {}
        #: the store defends another account than this replica's now (set and cleared by
        #: :func:`.replica_admission.moved_away`): a ``/health`` problem while it lasts
        self.account_problem: str | None = None
        #: told at once of the tickets a renewal finds lost, wherever it runs (the start
        #: of a cycle, or a broker call mid-cycle): the engine drops them before it
        #: evaluates them again
        self.on_lost: Callable[[set[int]], None] | None = None
        self._offset = secrets.randbelow(1 << 30)
        #: open orphans seen by the last claim: still orphaned now, they are overdue
        self._orphans: set[int] = set()
        # a write refused by version means another replica fenced the trade: renew now,
        # so the loss is logged and the rest of the cycle leaves those trades alone
        self.view = OwnedStore(store, self.held.__contains__, on_stale=self.renew)
        self.started_at = datetime.now(UTC)
        self.renewed_at: float | None = None  # wall clock of the last good renewal
        self._renewed_mono: float | None = None  # monotonic, taken before that renewal
        self._renewal_failures = 0
        self._renewal_error = ""  # why the failing renewals fail
        self._created_mono = time.monotonic()
        self._slow = False  # renewals late, said once per episode (_late)
        self._cycle_mono: float | None = None  # monotonic, the last start-of-cycle renewal
        #: what the store should hold, checked at each renewal (:mod:`.store_loss`)
        self.watch = StoreWatch(store, self.id, self.log)
        p = store.prefix
        self._stream, self._renew, self._release, self._acquire = (
            p + "registrations",
            store.client.register_script(RENEW),
            store.client.register_script(RELEASE),
            store.client.register_script(ACQUIRE),
        )
        check_eviction(store)
        self.create_group()

    # ------------------------------------------------------------------ leases

    def renew(self, *, records: bool = False) -> set[int]:
        """Renew every lease held and the heartbeat; the tickets no longer held (all of
        them when Redis cannot be reached: acting on a lease not renewed is not safe).
        With ``records`` (the start of a cycle) a held trade whose record is gone is
        lost too. The store's losses are checked by :attr:`watch` (:mod:`.store_loss`):
        the trades held before failed renewals are remembered, and those whose records
        the store lost meanwhile are said with the others that vanished."""
        p = self.store.prefix
        sent = time.monotonic()
        flag = "1" if records else "0"
        in_time = False
        try:
            why = lost_by_why(self._renew(args=[p, self.id, self.ttl_ms, flag, *self.held]))
            indexed = sorted(t for t, w in why.items() if w == "indexed")  # held still
            why = {t: w for t, w in why.items() if w != "indexed"}
            lost = set(why)
            self._heartbeat(len(self.held - lost), sent)
        except redis.RedisError as exc:
            self._renewal_failures += 1
            hint = redis_hint(exc, self.store.location)
            self._renewal_error = f"{type(exc).__name__}: {exc}{hint}"
            if self._renewal_failures == 1:
                self.log.error(
                    "replica %s cannot renew its leases (%s%s): stopped acting on its %d trades",
                    self.id,
                    exc,
                    hint,
                    len(self.held),
                )
            self.watch.failed(self.held)
            lost, why, indexed = set(self.held), {}, []
        else:
            last = self._renewed_mono
            # renewed well within the TTL: a lease gone now did not expire (store_loss)
            in_time = last is not None and sent - last < 0.9 * self.ttl_ms / 1000
            if self._renewal_failures:  # the gap is theirs, not the cycles'
                self.log.warning(
                    "replica %s renews its leases again, after %d failed renewals (%s)",
                    self.id,
                    self._renewal_failures,
                    "its first renewal"
                    if last is None
                    else f"{sent - last:.1f} s after the last that worked",
                )
            else:
                self._late(sent, cycle=records)
            self._renewal_failures = 0
            self.renewed_at = time.time()
            self._renewed_mono = sent
        gone = lost & self.held
        said = {t: w for t, w in why.items() if t in gone}
        self.held -= lost
        if gone and self.on_lost is not None:
            self.on_lost(gone)  # their records kept in memory (replica_service.bind)
        if not self._renewal_failures:
            said |= self.watch.renewed(why, indexed if records else None)
            said = self.watch.explain(said, in_time=in_time)
            said = self.watch.damp(said, cycle=records)
        say_lost(self.log, self.id, said)
        return lost

    def _late(self, sent: float, *, cycle: bool) -> None:
        """Say, once per episode, renewals that come late, and once their end. A normal
        gap is the interval plus a short cycle; one that ate over half the TTL's margin
        over the interval (7.5 s at the defaults: TTL 10 s, cycles 5 s) is late, a little
        more and the leases lapse under a live replica (taken over while it still holds
        them). Over only when cycles start within a quarter of the margin of each other:
        a long cycle's renewal before a broker call comes soon after a late one."""
        ttl, interval = self.ttl_ms / 1000, self.cycle_seconds
        late, prompt = (ttl + interval) / 2, interval + (ttl - interval) / 4
        gap = sent - self._renewed_mono if self._renewed_mono is not None else 0.0
        if gap > late and not self._slow:
            self.log.warning(
                "replica %s renewed its leases %.1f s after the last renewal, over %g s"
                " (cycles every %g s, a TTL of %g s): its cycles run long (too many trades"
                " for it, a slow broker or Redis); past the TTL its leases lapse and other"
                " replicas take its trades (raise lease_seconds, or add replicas)",
                *(self.id, gap, late, interval, ttl),
            )
            self._slow = True
        if cycle:
            last, self._cycle_mono = self._cycle_mono, sent
            if self._slow and last is not None and sent - last <= prompt:
                self.log.warning(
                    "replica %s renews its leases in time again (cycles %.1f s apart)",
                    *(self.id, sent - last),
                )
                self._slow = False

    def renewal_failing(self) -> str:
        """Why the renewals fail now, naming the store ("" while they work)."""
        if not self._renewal_failures:
            return ""
        return f"store {self.store.location}: renewing the leases failed: {self._renewal_error}"

    def problems(self) -> list[str]:
        """Why this replica cannot answer for the shared state now (its ``/health``,
        docs/scaling.md "Failures"): leases not renewed (failing, or last renewed over a
        lease TTL ago) mean it acts on no trade and its trades wait, their leases lapsing,
        for a replica that renews; a failing registration consumer applies nothing; nor
        does a replica whose store defends another account now. Reads
        may still work meanwhile (Redis out of memory refuses writes only)."""
        out: list[str] = []
        ttl = self.ttl_ms / 1000
        if self._renewal_failures:
            out.append(
                f"replica {self.id} cannot renew its leases ({self._renewal_failures} tries:"
                f" {self._renewal_error}): it acts on no trade"
            )
        elif (age := time.monotonic() - (self._renewed_mono or self._created_mono)) > ttl:
            out.append(
                f"replica {self.id} last renewed its leases {age:.1f} s ago, past their"
                f" TTL ({ttl:g} s): it acts on no trade"
            )
        if self.consumer_error is not None:
            out.append(self.consumer_error)
        if self.watch.policy_problem is not None:
            out.append(self.watch.policy_problem)
        if self.account_problem is not None:
            out.append(self.account_problem)
        return out

    def holds_now(self, ticket: int) -> bool:
        """Whether this replica may act on ``ticket`` now: it holds the lease and renewed
        it less than three quarters of a TTL ago; past that, it renews first (a cycle that
        ran long, or a process that was paused: then the lease is usually gone)."""
        limit = 0.75 * self.ttl_ms / 1000
        if self._renewed_mono is None or time.monotonic() - self._renewed_mono > limit:
            self.renew()
        fresh = self._renewed_mono is not None and time.monotonic() - self._renewed_mono <= limit
        return fresh and ticket in self.held

    def _heartbeat(self, trades: int, renewed: float | None) -> None:
        """Say this replica live until the leases it renewed at ``renewed`` (monotonic;
        ``None``: none renewed yet, a full TTL from now) expire, and no longer: a
        heartbeat written later in the cycle (after its claims) with a TTL of its own
        outlived them, and a replica killed then still counted as live when its leases
        expired, so the others' shares left its trades for one more cycle
        (docs/scaling.md, "Takeover": none waits more than one cycle past its lease)."""
        age = 0.0 if renewed is None else max(0.0, time.monotonic() - renewed)
        renewed_at = time.time() - age
        body = {
            "id": self.id,
            "trades": trades,
            "renewed_at": renewed_at,
            "started_at": self.started_at.isoformat(),
            **self.identity,
        }
        p = self.store.prefix
        pipe = self.store.client.pipeline(transaction=False)
        left_ms = max(1, self.ttl_ms - int(age * 1000))
        pipe.set(f"{p}replica:{self.id}", _json(body), px=left_ms)
        # scored by when it counts as dead: the heartbeat has a TTL, and an evicting
        # Redis takes it first; the set has none (docs/scaling.md, "Redis's settings")
        pipe.zadd(f"{p}replicas", {self.id: renewed_at + self.ttl_ms / 1000})
        pipe.execute()

    def live(self) -> list[dict[str, Any]]:
        """The heartbeats of the live replicas (this one included once it renewed). A
        replica leaves the set ``replicas`` once its heartbeat is gone and its score (when
        it counts as dead) passed, not before: an evicted heartbeat is no death."""
        p = self.store.prefix
        client = self.store.client
        with store_call(self.store, f"reading the heartbeats ({p}replicas)"):
            rows = client.zrange(f"{p}replicas", 0, -1, withscores=True)
            ids = [i for i, _ in rows]
            texts = client.mget([f"{p}replica:{i}" for i in ids]) if ids else []
            now = time.time()
            dead = [
                i
                for (i, until), text in zip(rows, texts, strict=True)
                if text is None and until < now
            ]
            if dead:
                client.zrem(f"{p}replicas", *dead)
        return [self.store._decode("replica", t) for t in texts if t is not None]

    def acquire(self, ticket: int) -> bool:
        """Take the lease of ``ticket`` if nobody holds it."""
        key = f"{self.store.prefix}lease:{ticket}"
        with store_call(self.store, f"taking the lease {key} (SET NX)"):
            taken, was = self._acquire(args=[key, self.id, self.ttl_ms])
        if was:
            self.log.warning(
                "replica %s: lease %s held nothing (%s: edited by hand?): replaced",
                self.id,
                key,
                was,
            )
        if taken:
            self.held.add(ticket)
        return bool(taken)

    def release(self, tickets: set[int] | None = None) -> None:
        """Give leases back (all of them on a clean shutdown) and say so in the heartbeat."""
        gone = set(self.held if tickets is None else tickets)
        try:
            if gone:
                self._release(args=[self.store.prefix, self.id, *gone])
            if tickets is None:  # stopped: counts as live no more
                self.store.client.delete(f"{self.store.prefix}replica:{self.id}")
                self.store.client.zrem(f"{self.store.prefix}replicas", self.id)
        except redis.RedisError as exc:
            self.log.error("replica %s could not release its leases: %s", self.id, exc)
        self.held -= gone

    # ------------------------------------------------------------------ status

    def status(self) -> list[dict[str, Any]]:
        now = time.time()
        return [
            {
                "id": r.get("id"),
                "self": r.get("id") == self.id,
                "trades": r.get("trades"),
                "lease_age_seconds": round(now - float(r.get("renewed_at", now)), 3),
                "started_at": r.get("started_at"),
            }
            for r in self.live()
        ]


def _json(value: Any) -> str:
    from ..store.disk import encode

    return encode(value)
