"""The DTMS store on Redis, for several ``dtms serve`` replicas on several machines sharing
one state (docs/scaling.md). Same API as the diskcache :class:`~.core.Store`
(:class:`~.protocol.StoreProtocol`), pinned by the same tests.

Why the synchronous ``redis.Redis`` client and not ``redis.asyncio``: the store API is
synchronous and is called from two event loops on two threads, the engine thread (the
strategy's cycle writes) and the server's loop (queries), plus the host's plugin and the
CLI. An asyncio client belongs to one loop, so it would need one client per loop and every
caller and the protocol would turn async, for no gain: the sync client's connection pool
is thread-safe, and a loopback round trip (~0.1 ms) costs what the SQLite read of the
diskcache backend costs on the same threads today.

Values are JSON text only (never pickles); keys live under one prefix (``dtms:``). Every
write goes through one Lua script (:mod:`.redis_script`), so a :meth:`RedisStore.batch`
is one atomic step. Each record carries a version, and every record write is a
compare-and-set on the version this store last saw of it (0 for a ticket it never read):
a replica that was paused while another took its trades over cannot overwrite their newer
state (:class:`StaleWrite`). Not for Redis Cluster: the script touches keys it computes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import redis

from hookspecs import masked_url

from .archives import (
    redis_archived_count,
    redis_archives,
    redis_index_archives,
    redis_purge_archives,
)
from .core import _iso
from .disk import Encoded, encode
from .listing import lenient_loads, listing_text
from .opening import StoreError
from .outage import WriteOutage
from .redis_calls import RedisCalls, StaleWrite
from .redis_closes import RedisCloses
from .redis_hints import redis_hint
from .redis_listing import LISTING, RedisListing
from .redis_script import APPLY, SETTLE
from .redis_values import RedisValues
from .rows import key_number
from .shared import SharedReads

__all__ = ["RedisStore", "StaleWrite"]  # StaleWrite: where callers import it from

_ABSENT = 0  # the version of a record that does not exist


class RedisStore(RedisCalls, RedisValues, RedisCloses, RedisListing, SharedReads):
    """The DTMS store on one Redis database. Open one per process; close it on shutdown."""

    def __init__(
        self,
        url: str,
        *,
        log: logging.Logger | None = None,
        prefix: str = "dtms:",
        timeout: float = 5.0,
        max_actions: int = 10_000,
    ) -> None:
        self.location = masked_url(url)  # no password in any message or /health
        self.log = log or logging.getLogger("dtms_plugin.store")
        self.prefix = prefix
        self._max_actions = max_actions
        try:
            # replies are typed loosely by redis-py (bytes | str | ...): checked where read
            self.client: Any = redis.Redis.from_url(
                url,
                decode_responses=True,
                encoding_errors="replace",  # a non-UTF-8 value fails as JSON, logged
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
            )
            self.client.ping()
        except (redis.RedisError, ValueError) as exc:
            why = f"{exc}{redis_hint(exc, self.location)}"
            raise StoreError(f"cannot open store {self.location}: {why}") from None
        self._apply = self.client.register_script(APPLY)
        self._list = self.client.register_script(LISTING)
        self._settle_call = self.client.register_script(SETTLE)
        #: the token and operations of the last call whose answer was lost (_settle)
        self._unsettled: tuple[str, list[list[Any]]] | None = None
        #: journal entries of such a call found applied: not appended again (_settle)
        self._replayed: list[str] = []
        self._versions: dict[int, int] = {}  # record versions this store last saw
        #: tickets whose record write was refused as stale since the owner last looked
        self.refused: set[int] = set()
        self._batch_thread: int | None = None
        self._ops: list[list[Any]] = []  # the batch's writes, not yet sent
        self._overlay: dict[str, str | None] = {}  # key -> what the batch wrote there
        #: keys found unreadable (a hand-edited value, the wrong type), each said once
        #: until it reads well again or is gone: read every cycle, each would flood the log
        self.damaged: dict[str, str] = {}
        self.outage = WriteOutage()  # Redis out of reach: said once per episode
        redis_index_archives(self)  # a store written before the archive index: once

    @property
    def where(self) -> str:
        """The URL without its credentials (:func:`hookspecs.masked_url`), as messages
        name it."""
        return self.location

    def claim_engine(self) -> None:
        """Nothing to hold: replicas share a Redis store, each trade by its lease."""

    def in_place(self) -> None:
        """Nothing to check: a Redis store has no folder (store/folder.py)."""

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> RedisStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ primitives

    def _in_batch(self) -> bool:
        return self._batch_thread == threading.get_ident()

    def _decode(self, key: str, text: object) -> Any:
        if text is None:
            self.damaged.pop(self.prefix + key, None)
            return None
        if not isinstance(text, str):  # the client decodes replies: never expected
            self._damage(self.prefix + key, "not text")
            return None
        try:
            value = json.loads(text)
        except ValueError as exc:
            self._damage(self.prefix + key, f"not JSON: {exc}")
            return None
        self.damaged.pop(self.prefix + key, None)
        return value

    def _damage(self, name: str, why: str) -> None:
        """``name`` (a key, or what was read) is unreadable: treated as absent, hiding
        only itself, and logged the first time in a row it is found so."""
        if name not in self.damaged:
            self.log.error(
                "store %s: %s unreadable, treated as absent (said once until it reads"
                " well or is gone): %s",
                self.location,
                name,
                why,
            )
        self.damaged[name] = why

    def _read(self, key: str) -> Any:
        """The decoded value of ``key``, or None when absent or unreadable (logged)."""
        if self._in_batch() and key in self._overlay:
            return self._decode(key, self._overlay[key])
        try:
            text = self.client.get(self.prefix + key)
        except redis.RedisError as exc:
            self._unreadable(self.prefix + key, exc)
            return None
        return self._decode(key, text)

    @contextmanager
    def _writing(self, what: str) -> Iterator[list[list[Any]]]:
        """Collect the operations of one write and send them as one script call (or add
        them to the batch). Any failure is logged and raised as :class:`StoreError`. After
        the block the list holds the script's results instead (empty inside a batch)."""
        ops: list[list[Any]] = []
        try:
            if not self._in_batch():
                self._settle()  # before any version is read for the new operations
            yield ops
            if self._in_batch():
                self._ops.extend(ops)
                ops.clear()
            elif ops:
                ops[:] = self._send(ops, what)
        except StoreError:
            raise
        except (redis.RedisError, TypeError, ValueError) as exc:
            message = f"store {self.location}: writing {what} failed: {exc}"
            message += redis_hint(exc, self.location)
            away = isinstance(exc, redis.ConnectionError | redis.TimeoutError)
            if away:  # every write fails alike until it answers: one episode (outage.py)
                self.outage.refused(self.log, message)
            else:
                self.log.error(message)
            raise StoreError(message, unavailable=away) from None

    def _expect(self, ticket: int) -> int:
        """The version a write of ``ticket`` must find: what this store last saw."""
        return self._versions.get(ticket, _ABSENT)

    def _saw(self, ticket: int, version: object) -> bool:
        """Remember the version of a record read for the first time. A later read does
        not move it: only this store's own writes and :meth:`adopt` do, so a replica that
        lost a trade keeps failing its writes even after it reads the newer record. False:
        the version is no number (a planted key), the record damaged, read as absent."""
        number = _version(version)
        if number is None:
            self._damage(f"{self.prefix}trade:{ticket}", f"its version {version!r} is no number")
            return False
        self._versions.setdefault(ticket, number)
        return True

    def adopt(self, tickets: Iterable[int], *, fence: bool = False) -> dict[int, dict[str, Any]]:
        """Take the current version of each record as this store's own: its next writes of
        them check against these. With ``fence`` (a replica that just acquired their
        leases) each record first moves to its next version, so a write prepared by the
        previous owner is refused even if the new one has not written yet. Returns the
        records, read at those versions."""
        wanted = [int(t) for t in tickets]
        if not wanted:
            return {}
        try:
            if fence:
                self._send([["fence", str(t)] for t in wanted], "fencing tokens")
            pipe = self.client.pipeline(transaction=True)
            for ticket in wanted:
                pipe.hmget(f"{self.prefix}trade:{ticket}", ["v", "j"])
            rows = pipe.execute()
        except redis.RedisError as exc:
            raise StoreError(f"store {self.location}: cannot read records: {exc}") from None
        out: dict[int, dict[str, Any]] = {}
        for ticket, (version, text) in zip(wanted, rows, strict=True):
            if _version(version) is None and not self._saw(ticket, version):
                continue  # damaged: not this store's to write
            self._versions[ticket] = _version(version) or _ABSENT
            self.refused.discard(ticket)
            value = self._decode(f"trade:{ticket}", text)
            if isinstance(value, dict):
                out[ticket] = value
        return out

    def missing(self, tickets: Iterable[int]) -> list[int]:
        """Those of ``tickets`` with no record, from a read that succeeded: a failed read
        raises StoreError rather than answering "absent" (:meth:`get_record` does)."""
        wanted = [int(t) for t in tickets]
        try:
            found = [self.client.exists(f"{self.prefix}trade:{t}") for t in wanted]
        except redis.RedisError as exc:
            raise StoreError(f"store {self.location}: cannot read records: {exc}") from None
        return [t for t, n in zip(wanted, found, strict=True) if not n]

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Every write inside is sent in one script call at the end: all or none. Point
        reads inside see the batch's writes; enumerations see committed state plus them."""
        if self._in_batch():
            yield
            return
        with self._writing("a batch"):
            self._batch_thread = threading.get_ident()
            saved = dict(self._versions)
            try:
                yield
                ops, self._ops = self._ops, []
                self._versions = saved  # the script's results set the new versions
                if ops:
                    self._send(ops, "a batch")
                self._batch_thread = None
            finally:
                if self._batch_thread is not None:  # the block or the commit failed
                    self._versions = saved
                self._batch_thread = None
                self._ops, self._overlay = [], {}

    def _written(self, key: str, text: str | None) -> None:
        if self._in_batch():
            self._overlay[key] = text

    # ------------------------------------------------------------------ trade records

    def get_record(self, ticket: int) -> dict[str, Any] | None:
        key = f"trade:{ticket}"
        if self._in_batch() and key in self._overlay:
            value = self._decode(key, self._overlay[key])
            return value if isinstance(value, dict) else None
        try:
            version, text = self.client.hmget(self.prefix + key, ["v", "j"])
        except redis.RedisError as exc:
            self._unreadable(self.prefix + key, exc)
            return None
        if not self._saw(ticket, version):
            return None
        value = self._decode(key, text)
        return value if isinstance(value, dict) else None

    def put_record(self, ticket: int, record: dict[str, Any] | Encoded) -> None:
        """Write the whole record if it is still at the version this store last saw."""
        with self._writing(f"record of ticket {ticket}") as ops:
            text = encode(record)
            expect = self._expect(ticket)
            # its listing in its own hash, decoded as a read decodes it (listing.py)
            listing = listing_text(text, lenient_loads) or ""
            ops.append(["rec", str(ticket), text, expect, listing])
            # a close goes with its record, or not at all (the account rails read it)
            ops.extend(self._close_ops(record))
            if self._in_batch():  # the batch's next write of it finds this one
                self._versions[ticket] = expect + 1
                self._written(f"trade:{ticket}", text)

    def put_records(self, records: Mapping[int, dict[str, Any] | Encoded]) -> None:
        if records:
            with self.batch():
                for ticket, record in records.items():
                    self.put_record(ticket, record)

    def delete_record(self, ticket: int) -> None:
        with self._writing(f"deletion of record {ticket}") as ops:
            ops.append(["delrec", str(ticket), self._expect(ticket)])
            if self._in_batch():
                self._versions[ticket] = _ABSENT
                self._written(f"trade:{ticket}", None)

    def archive_record(self, ticket: int) -> str | None:
        """Keep the record of ``ticket`` aside (``archived``) and free the ticket."""
        old = self.get_record(ticket)
        if old is None:
            return None
        with self._writing(f"archive of record {ticket}") as ops:  # appended by the script
            ops.append(["arch", str(ticket), encode(old)])
            ops.append(["delrec", str(ticket), self._expect(ticket)])
        return f"archive:{ticket}:{old.get('opened_at', '')}"

    def archived(self, ticket: int) -> list[dict[str, Any]]:
        value = self._read(f"archive:{ticket}")
        return [r for r in value if isinstance(r, dict)] if isinstance(value, list) else []

    def archives(self) -> list[tuple[int, dict[str, Any]]]:
        """``(ticket, record)`` of every archived record (:mod:`.archives`)."""
        return redis_archives(self)

    def archived_count(self) -> int:
        return redis_archived_count(self)

    def purge_closed(self, closed_before: datetime, limit: int = 100) -> list[int]:
        """Remove at most ``limit`` CLOSED records (no action owed) closed before
        ``closed_before``, with their state and journal entries, in one script call;
        archived records past it too (not in the tickets answered)."""
        if limit <= 0:
            return []
        stamp = _iso(closed_before)
        gone: dict[int, dict[str, Any]] = {}
        for ticket, rec in self.records().items():
            closed = rec.get("closed_at")
            finished = rec.get("state") == "CLOSED" and not rec.get("owed")
            if finished and isinstance(closed, str) and closed < stamp:
                gone[ticket] = rec
            if len(gone) >= limit:
                break
        with self._writing("retention of closed trades") as ops:
            redis_purge_archives(self, stamp, ops)
            if gone:
                for ticket, rec in gone.items():
                    ops.append(["purge", str(ticket)])
                    # out of the account rails too, as it leaves the single server's book
                    ops.extend(["unclose", op[1]] for op in self._close_ops(rec))
        self._purge_marks(closed_before)
        return list(gone)

    def records(self) -> dict[int, dict[str, Any]]:
        """Every readable record, by ticket, in the order they were first written."""
        try:
            tickets = self.client.zrange(self.prefix + "trades", 0, -1)
            pipe = self.client.pipeline(transaction=False)
            for ticket in tickets:
                pipe.hmget(f"{self.prefix}trade:{ticket}", ["v", "j"])
            rows = pipe.execute(raise_on_error=False)  # a key of the wrong type: its row
        except redis.RedisError as exc:
            self._unreadable("the records", exc)
            return {}
        out: dict[int, dict[str, Any]] = {}
        for name, row in zip(tickets, rows, strict=True):
            ticket = key_number(name)
            if ticket is None:  # a member no writer of this store wrote: planted
                self._unreadable(f"{self.prefix}trades member {name!r}", ValueError("no ticket"))
                continue
            if isinstance(row, Exception):  # hides that record only
                self._unreadable(f"{self.prefix}trade:{ticket}", row)
                continue
            version, text = row
            if not self._saw(ticket, version):
                continue
            value = self._decode(f"trade:{ticket}", text)
            if isinstance(value, dict):
                out[ticket] = value
        if self._in_batch():
            for key, text in self._overlay.items():
                if key.startswith("trade:"):
                    value = self._decode(key, text)
                    if isinstance(value, dict):
                        out[int(key[6:])] = value
                    else:
                        out.pop(int(key[6:]), None)
        return out


def _version(value: object) -> int | None:
    """A record's version as Redis holds it (absent: 0; None: no number)."""
    try:
        return int(value) if isinstance(value, str | int) else _ABSENT
    except ValueError:
        return None
