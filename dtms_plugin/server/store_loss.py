"""What a replica does when the shared store loses what it held (docs/scaling.md,
"Failures"): Redis restarted without persistence, flushed, or evicting keys under a
``maxmemory-policy`` changed while the replicas run.

- **Held across an outage.** A renewal that fails drops every trade from the engine
  (acting on a lease not renewed is not safe), and used to forget them too: the renewal
  that worked after Redis came back empty had nothing left to find missing, so ~500 open
  positions went undefended without a word. The replica now remembers the trades it held
  and their records as they were; the first renewal that works asks the store for those
  records, and the ones it lost are said at WARNING with their count.
- **Records gone under a held lease.** The renewal at the start of a cycle also finds a
  held trade whose record is gone while its lease is not (an eviction takes one key, not
  the other): the same WARNING.
- **Written again from memory.** Each record lost of a trade this replica held is written
  again from memory, under its lease taken again (a ticket a host registered again
  meanwhile keeps that record), and reconciled with the broker as at start-up
  (docs/dtms.md §8: a pending action settled, a position gone closed): defended again,
  its action history before the loss lost.
- **The store's marker.** ``epoch`` is written once (``SET NX``); found gone, the store
  was emptied (or the key evicted): said once at WARNING, and the account defensive mode
  this replica last read is written back, or said lost when none was in force. So are
  (``SET NX``) the account the store defends and its replicas' settings, as last read:
  without them the next replica to start, of another account or with other settings,
  found nothing to compare with and was let in (docs/scaling.md, "One account, one set
  of settings per Redis").
- **The eviction policy** is read again once a minute and whenever records vanish: one
  that may evict DTMS's keys is a ``/health`` problem and an ERROR once per episode (it
  was read at start-up only).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis

from ..store import StoreError
from ..store.redis_store import RedisStore
from ..store.shared import ACCOUNT_MODE
from .lease_scripts import tickets_text
from .store_checks import SAFE_POLICIES, policy_problem
from .store_index import IndexWatch

#: the store values the replicas were admitted against (:mod:`..redis_account`), written
#: back when the store is found emptied
_ADMISSION_KEYS = ("value:account", "value:replica_settings")

#: how often the eviction policy is read again (``INFO memory``: one cheap command)
POLICY_SECONDS = 60.0
#: an episode of records lost ends after this many cycles in a row that lost none
QUIET_CYCLES = 5


class _Episode:
    """Records lost of held trades, renewal after renewal (a Redis evicting them while
    it stays full): said once when it starts and once, with the counts, when it ends.
    Said each time, it was two lines a cycle per replica (~85 a minute)."""

    def __init__(self, lost: int) -> None:
        self.lost, self.times, self.written, self.quiet = lost, 1, 0, 0
        self.said_written = False


class StoreWatch:
    """A replica's memory of what the store should hold, and the checks that use it."""

    def __init__(self, store: RedisStore, replica: str, log: logging.Logger) -> None:
        self.store, self.replica, self.log = store, replica, log
        #: records of the trades the engine dropped when their leases were lost, by
        #: ticket (the engine's own objects): what is written again if the store lost them
        self.kept: dict[int, Any] = {}
        #: trades held when renewals started failing: checked when one works again
        self.remembered: set[int] = set()
        #: trades whose records the store lost, to be written again from memory
        self.vanished: set[int] = set()
        self._marker_seen = False
        #: the store was found emptied under this replica (its marker gone) since it
        #: started: what a store moved to another account meanwhile is said to come from
        self.emptied = False
        self._mode: str | None = None  # the account mode's stored text, as last read
        #: the account and settings values (:data:`_ADMISSION_KEYS`) as last read
        self._admission: dict[str, str] = {}
        self._policy_at = time.monotonic()  # read at start-up (store_checks)
        #: Redis's evicted_keys as last read: a rise names evictions as why leases went
        self._evicted = self._evicted_keys()
        self.policy_problem: str | None = None
        self.index = IndexWatch(store, replica, log)
        self._episode: _Episode | None = None

    # ------------------------------------------------------------------ renewals

    def failed(self, held: set[int]) -> None:
        """A renewal failed: the trades held are dropped, and remembered."""
        self.remembered |= held

    def renewed(self, why: dict[int, str], indexed: list[int] | None = None) -> dict[int, str]:
        """After a renewal that worked (``why``: the tickets it lost, and why): the
        remembered tickets whose records the store lost, as ``{ticket: "vanished"}`` (the
        renewal says them with its own); the marker and the account mode checked, and
        the eviction policy when due or records vanished. A store that fails these reads
        leaves them for the next renewal. After one at the start of a cycle (``indexed``:
        the held trades it put back in the index), the index is checked
        (:mod:`.store_index`)."""
        for ticket, w in why.items():
            if w == "taken":  # another replica manages it: its record is not ours to write
                self.kept.pop(ticket, None)
        found: dict[int, str] = {}
        try:
            if self.remembered:
                found = dict.fromkeys(self.store.missing(self.remembered), "vanished")
            self._check_marker()
        except (StoreError, redis.RedisError) as exc:
            self.log.debug("replica %s: the store's losses not checked now: %s", self.replica, exc)
            return {}
        self.remembered.clear()
        if indexed is not None:
            self.index.check(indexed)
        self.vanished |= {t for t, w in {**why, **found}.items() if w == "vanished"}
        # the records kept are those lost: the others are claimed from the store
        self.kept = {t: rec for t, rec in self.kept.items() if t in self.vanished}
        if self.vanished or time.monotonic() - self._policy_at > POLICY_SECONDS:
            self.check_policy()
        return found

    def _check_marker(self) -> None:
        """The marker written once; found gone, the store was emptied: said, and written
        back what no replica could derive again: the account mode last read (the rails'
        verdict on closes the store has lost with it), and the account and settings the
        replicas were admitted against (the next replica to start is checked on them)."""
        client, p = self.store.client, self.store.prefix
        pipe = client.pipeline(transaction=False)
        pipe.set(f"{p}epoch", self.replica, nx=True)
        pipe.get(p + ACCOUNT_MODE)
        for key in _ADMISSION_KEYS:
            pipe.get(p + key)
        # a value of the wrong type (planted by hand) reads as none: the marker is checked
        created, mode, *values = pipe.execute(raise_on_error=False)
        if isinstance(created, Exception):
            raise created
        emptied = bool(created) and self._marker_seen
        self._marker_seen = True
        if not emptied:
            self._mode = mode if isinstance(mode, str) else None
            self._admission = {
                k: v for k, v in zip(_ADMISSION_KEYS, values, strict=True) if isinstance(v, str)
            }
            return
        self.emptied = True
        for key, text in self._admission.items():
            client.set(p + key, text, nx=True)  # a replica admitted meanwhile keeps its own
        if mode is None and self._mode is not None:
            client.set(p + ACCOUNT_MODE, self._mode, nx=True)
            said = f"the account defensive mode it last read written back ({self._mode})"
        else:
            said = "no account defensive mode was in force when it last read it"
        self.log.warning(
            "replica %s: the store %s came back empty (its marker %sepoch was gone: Redis"
            " flushed, restarted without persistence, or evicting): the trades this replica"
            " held are written again from memory, the others' by their replicas or when"
            " their hosts register them again%s; %s",
            self.replica,
            self.store.location,
            p,
            "; the account it defends and its replicas' settings written back"
            if self._admission
            else "",
            said,
        )

    def explain(self, said: dict[int, str], *, in_time: bool) -> dict[int, str]:
        """``said`` (the leases a renewal lost, and why) with each "expired" named for
        what it was when it cannot have expired: ``in_time``, the replica renewed it
        within its TTL, or Redis's ``evicted_keys`` rose since it was last read: then
        "evicted" (the rise) or "deleted". Said "expired unrenewed: this replica was
        late", an eviction sent the operator after the replica's cycles."""
        if "expired" not in said.values():
            return said
        before, self._evicted = self._evicted, self._evicted_keys()
        evicted = before is not None and self._evicted is not None and self._evicted > before
        if not (evicted or in_time):
            return said
        now = "evicted" if evicted else "deleted"
        return {t: now if w == "expired" else w for t, w in said.items()}

    def damp(self, said: dict[int, str], *, cycle: bool) -> dict[int, str]:
        """``said`` without the records lost (``vanished``) when an episode of losses
        was said already (they are counted, at DEBUG); an episode's end (``cycle``:
        :data:`QUIET_CYCLES` renewals at the start of a cycle in a row lost none) said
        with its counts."""
        lost = [t for t, w in said.items() if w == "vanished"]
        episode = self._episode
        if lost and episode is None:
            self._episode = _Episode(len(lost))
            return said
        if lost and episode is not None:
            episode.lost += len(lost)
            episode.times += 1
            episode.quiet = 0
            self.log.debug(
                "replica %s: records of %d held trades lost again", self.replica, len(lost)
            )
            return {t: w for t, w in said.items() if w != "vanished"}
        if episode is not None and cycle:
            episode.quiet += 1
            if episode.quiet >= QUIET_CYCLES:
                self._episode = None
                if episode.times > 1:
                    self.log.warning(
                        "replica %s: the store lost no more records of trades it held"
                        " (%d cycles in a row): %d lost in %d renewals over the episode,"
                        " %d written again from memory",
                        *(self.replica, QUIET_CYCLES, episode.lost, episode.times),
                        episode.written,
                    )
        return said

    def say_written(self, count: int) -> bool:
        """Whether records written again from memory are said now: once per episode of
        losses (then counted for its end)."""
        episode = self._episode
        if episode is None:
            return True
        episode.written += count
        first, episode.said_written = not episode.said_written, True
        return first

    def _evicted_keys(self) -> int | None:
        try:
            value = self.store.client.info("stats").get("evicted_keys")
        except redis.RedisError:
            return None
        return value if isinstance(value, int) else None

    def take_vanished(self) -> dict[int, Any]:
        """The records to write again, from memory (those the engine still had)."""
        tickets, self.vanished = self.vanished, set()
        return {t: self.kept.pop(t) for t in sorted(tickets) if self.kept.get(t) is not None}

    # ------------------------------------------------------------------ eviction policy

    def check_policy(self) -> None:
        """The eviction policy read again: one that may evict DTMS's keys (changed by
        ``CONFIG SET`` while the replicas run) is an ERROR once per episode and a
        ``/health`` problem while it lasts. A Redis that does not say it was said
        unchecked at start-up."""
        self._policy_at = time.monotonic()
        try:
            policy = self.store.client.info("memory").get("maxmemory_policy")
        except redis.RedisError:
            return
        if not isinstance(policy, str) or policy in SAFE_POLICIES:
            if self.policy_problem is not None:
                self.log.warning(
                    "store %s: maxmemory-policy is %s again: DTMS's keys are not evicted",
                    self.store.location,
                    policy,
                )
            self.policy_problem = None
            return
        problem = policy_problem(self.store.location, policy)
        if self.policy_problem is None:
            self.log.error("%s", problem)
        self.policy_problem = problem


def restore(replicas: Any, strategy: Any, now: Any) -> list[int]:
    """The records the store lost of trades this replica held, written again from memory
    under their leases, taken again (:class:`StoreWatch`); their reconciliation with the
    broker is the caller's (``strategy.recover``). Returns the tickets written again."""
    lost = replicas.watch.take_vanished()
    done: list[int] = []
    for ticket, rec in lost.items():
        try:
            if not replicas.acquire(ticket):
                continue  # another replica holds it (a host registered it again meanwhile)
            if replicas.store.missing([ticket]):
                replicas.store.adopt([ticket])  # its version: none, as the store has it
                strategy._persist(rec, now)  # written with the cycle's writes
                done.append(ticket)
            else:  # registered again meanwhile: that record stands, adopted as any
                replicas.release({ticket})
        except StoreError as exc:
            replicas.watch.kept[ticket] = rec  # tried again at the next renewal
            replicas.watch.vanished.add(ticket)
            replicas.log.debug("record %s not written again now: %s", ticket, exc)
    if done and not replicas.watch.say_written(len(done)):
        replicas.log.debug("records of %d trades written again from memory", len(done))
    elif done:
        replicas.log.warning(
            "replica %s: the records of %d trades it held written again from memory and"
            " reconciled with the broker (their action history before the loss is lost):"
            " %s",
            replicas.id,
            len(done),
            tickets_text(done),
        )
    return done
