"""The registration stream of :class:`~.replicas.Replicas` (docs/scaling.md, "The
flow" 1): any replica queues a registration (XADD) and waits for its outcome; a replica
reads it through the consumer group, decides and acknowledges it with that outcome."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import redis

from ..store.disk import encode
from .redis_calls import store_call

if TYPE_CHECKING:
    from ..store.redis_store import RedisStore

GROUP = "dtms"
_READ_COUNT = 100  # registrations read from the stream at once
#: applied registrations are kept on the stream this long (milliseconds, Redis's clock)
#: before :meth:`RegistrationStream.trim` lets them go: a record of the last hour for
#: whoever reads the stream by hand. Safety does not rest on it (the trim never passes an
#: entry unread or pending), nor does a replica that joins later: it learns the open
#: trades from their records (docs/scaling.md, "The flow" 4), never from the stream
KEEP_MS = 3_600_000


class RegistrationStream:
    """Part of :class:`~.replicas.Replicas` (which provides what is declared here)."""

    store: RedisStore
    id: str
    ttl_ms: int
    held: set[int]
    log: logging.Logger
    _stream: str
    #: why the registration consumer's last read failed (None: it reads), for /health
    consumer_error: str | None = None

    if TYPE_CHECKING:

        def live(self) -> list[dict[str, Any]]: ...

    def publish(self, registration: dict[str, Any]) -> str:
        """Queue a registration; any live replica applies it."""
        with store_call(self.store, f"queueing a registration (XADD {self._stream})"):
            return str(self.store.client.xadd(self._stream, {"r": encode(registration)}))

    def create_group(self) -> None:
        """The consumer group, from the stream's first entry. The group lives in the
        stream's key, so one missing means the key was lost and a later XADD made it
        again (docs/scaling.md, "Failures"): what it holds was queued since, and not yet
        applied. Registrations are idempotent by ticket, so none is harmed by it."""
        with store_call(self.store, f"creating the consumer group of {self._stream}"):
            try:
                self.store.client.xgroup_create(self._stream, GROUP, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def read(self, block_ms: int) -> list[tuple[str, dict[str, Any]]]:
        """Entries a dead consumer left (idle past a lease TTL), then new ones when this
        replica is not more loaded than the others. A consumer group found missing is
        made again, said once, and read at once: without it no replica applies anything
        and every registration waits for ever."""
        try:
            return self._read(block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
        self.create_group()
        self.log.warning(
            "replica %s: the consumer group of %s was missing (Redis flushed, restarted"
            " without persistence, or evicted): made again, the entries queued since are"
            " applied now",
            self.id,
            self._stream,
        )
        return self._read(block_ms)

    def _read(self, block_ms: int) -> list[tuple[str, dict[str, Any]]]:
        client = self.store.client
        _, stale, _ = client.xautoclaim(self._stream, GROUP, self.id, self.ttl_ms, "0-0", count=50)
        entries = list(stale)
        if not entries:
            # the less loaded read new entries; the others' counts are up to a cycle old,
            # so a replica within one read's worth of the least loaded reads too
            loads = [int(r.get("trades", 0)) for r in self.live() if r.get("id") != self.id]
            fair = not loads or len(self.held) <= min(loads) + _READ_COUNT
            if fair:
                got = client.xreadgroup(GROUP, self.id, {self._stream: ">"}, _READ_COUNT, block_ms)
                entries = [e for _, batch in got or [] for e in batch]
            else:  # the others read new entries; look again shortly
                time.sleep(min(block_ms, 20) / 1000)
        out = []
        for entry_id, fields in entries:
            if fields is None:  # trimmed away meanwhile
                client.xack(self._stream, GROUP, entry_id)
                continue
            out.append((entry_id, self.store._decode("registration", fields.get("r"))))
        return out

    def done(self, entry_id: str, outcome: dict[str, Any]) -> None:
        """Acknowledge ``entry_id`` once its outcome is decided (a registered trade's record
        written), with that outcome for the replica that accepted it."""
        p = self.store.prefix
        with store_call(self.store, f"acknowledging registration {entry_id} (XACK)"):
            pipe = self.store.client.pipeline(transaction=True)
            pipe.set(f"{p}registered:{entry_id}", encode(outcome), px=60_000)
            pipe.xack(self._stream, GROUP, entry_id)
            pipe.execute()

    def trim(self, keep_ms: int = KEEP_MS) -> int:
        """Let go of the entries applied more than ``keep_ms`` ago (XTRIM MINID): every
        registration ever queued stayed on the stream, ~256 bytes each. Never one the
        group has not delivered yet (after its last-delivered id) nor one delivered and
        not acknowledged (from its lowest pending id on): the bound is the lowest of the three,
        and each only moves on, so an entry queued or claimed meanwhile is above it.
        Returns how many went."""
        client = self.store.client
        with store_call(self.store, f"trimming {self._stream} (XTRIM)"):
            seconds, micros = client.time()
            bounds = [_stream_id(f"{int(seconds) * 1000 + int(micros) // 1000 - keep_ms}-0")]
            groups = [g for g in client.xinfo_groups(self._stream) if g.get("name") == GROUP]
            if not groups:  # no group (lost): nothing is known to be applied
                return 0
            ms, seq = _stream_id(groups[0].get("last-delivered-id"))
            bounds.append((ms, seq + 1))  # delivered up to it, itself included
            pending = client.xpending(self._stream, GROUP)
            if pending.get("pending"):
                bounds.append(_stream_id(pending.get("min")))
            low = min(bounds)
            return int(client.xtrim(self._stream, minid=f"{low[0]}-{low[1]}", approximate=False))

    def outcome(self, entry_id: str) -> dict[str, Any] | None:
        key = f"{self.store.prefix}registered:{entry_id}"
        with store_call(self.store, f"reading the outcome {key}"):
            text = self.store.client.get(key)
        value = self.store._decode(f"registered:{entry_id}", text)
        return value if isinstance(value, dict) else None

    async def apply(
        self,
        entries: list[tuple[str, dict[str, Any]]],
        register: Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]],
    ) -> None:
        """On the engine loop: acknowledge each entry with the outcome ``register`` decides
        for it; one it leaves undecided (None: another replica holds the ticket's lease)
        stays pending, so it comes back (claimed after a lease TTL)."""
        for entry_id, body in entries:
            outcome: dict[str, Any] | None
            if not isinstance(body, dict) or not isinstance(body.get("ticket"), int):
                outcome = {"error": "unreadable registration entry"}
            else:
                outcome = await register(body)
            if outcome is not None:
                self.done(entry_id, outcome)


def _stream_id(value: object) -> tuple[int, int]:
    """A stream entry id as numbers (``"ms-seq"``), so ids compare in order; anything
    unreadable as the lowest, which trims nothing."""
    try:
        ms, seq = str(value).split("-")
        return max(int(ms), 0), int(seq)
    except ValueError:
        return 0, 0
