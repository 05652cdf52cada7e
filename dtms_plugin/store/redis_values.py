"""Everything of :class:`~.redis_store.RedisStore` but the trade records: named values,
the state cache, the account mode, the action journal and the outbox. Plain JSON values
under the store's prefix, each written through the store's one script (so a batch stays
one atomic step); outbox entries keep the place of their first write (a sorted set of
tickets), so the sender delivers them oldest first; journal entries are numbered in the
order they were committed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import redis

from .core import _is_int, _iso
from .disk import encode
from .opening import StoreError
from .shared import ACCOUNT_MODE, journal_label
from .shared import parse_iso as _parse_iso


class RedisValues:
    """Part of :class:`~.redis_store.RedisStore` (which provides what is declared here)."""

    client: Any
    prefix: str
    location: str
    log: logging.Logger
    _max_actions: int
    damaged: dict[str, str]

    if TYPE_CHECKING:

        def _in_batch(self) -> bool: ...

        def _decode(self, key: str, text: object) -> Any: ...

        def _read(self, key: str) -> Any: ...

        def _damage(self, name: str, why: str) -> None: ...

        def _writing(self, what: str) -> AbstractContextManager[list[list[Any]]]: ...

        def _written(self, key: str, text: str | None) -> None: ...

    def _unreadable(self, what: str, exc: Exception) -> None:
        """A read that failed. Redis out of reach (down, paused, the network) raises a
        StoreError: an empty answer would say "no such trade" or "not managed" while
        they are, and a server answers 503 instead. Anything else (a planted key of the
        wrong type) is a bad row: logged, and read as absent."""
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            raise StoreError(f"store {self.location}: cannot read {what}: {exc}") from None
        self._damage(what, f"{type(exc).__name__}: {exc}")

    # ------------------------------------------------------------------ small values

    def get_value(self, name: str) -> Any:
        return self._read(f"value:{name}")

    def put_value(self, name: str, value: Any) -> None:
        with self._writing(f"value {name!r}") as ops:
            text = encode(value)
            ops.append(["set", f"value:{name}", text])
            self._written(f"value:{name}", text)

    def update_value(self, name: str, change: Callable[[Any], Any]) -> Any:
        """Read-modify-write ``name`` atomically (WATCH/MULTI, retried when another
        client changed it meanwhile); inside a batch, part of the batch."""
        if self._in_batch():
            new = change(self.get_value(name))
            self.put_value(name, new)
            return new
        key = f"{self.prefix}value:{name}"
        with self._writing(f"value {name!r}"), self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    new = change(self._decode(key, pipe.get(key)))
                    pipe.multi()
                    pipe.set(key, encode(new))
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------ outbox

    def outbox_put(self, ticket: int, payload: dict[str, Any]) -> None:
        with self._writing(f"outbox entry for ticket {ticket}") as ops:
            text = encode(payload)
            ops.append(["ob", str(ticket), text])
            self._written(f"outbox:{ticket}", text)

    def outbox_get(self, ticket: int) -> dict[str, Any] | None:
        value = self._read(f"outbox:{ticket}")
        return value if isinstance(value, dict) else None

    def outbox_items(self) -> list[tuple[int, dict[str, Any]]]:
        try:
            tickets = self.client.zrange(self.prefix + "outboxes", 0, -1)
            texts = (
                self.client.mget([f"{self.prefix}outbox:{t}" for t in tickets]) if tickets else []
            )
        except redis.RedisError as exc:
            self._unreadable("the outbox", exc)
            return []
        out = []
        for name, text in zip(tickets, texts, strict=True):
            value = self._decode(f"outbox:{name}", text)
            if isinstance(value, dict):
                out.append((int(name), value))
        return out

    def outbox_remove(self, ticket: int) -> None:
        with self._writing(f"outbox removal of ticket {ticket}") as ops:
            ops.append(["obdel", str(ticket)])
            self._written(f"outbox:{ticket}", None)

    def outbox_remove_if(self, ticket: int, payload: dict[str, Any]) -> bool:
        """Remove the entry only if it is still ``payload``: the script removes it only if
        its text is still the one read here, so a newer entry queued meanwhile stays."""
        key = f"outbox:{ticket}"
        if self._in_batch():
            if self.outbox_get(ticket) != payload:
                return False
            self.outbox_remove(ticket)
            return True
        try:
            text = self.client.get(self.prefix + key)
        except redis.RedisError as exc:
            self._unreadable(self.prefix + key, exc)
            return False
        if text is None or self._decode(key, text) != payload:
            return False
        with self._writing(f"outbox removal of ticket {ticket}") as ops:
            ops.append(["obdelif", str(ticket), text])
        return ops == [1]

    def outbox_len(self) -> int:
        try:
            return int(self.client.zcard(self.prefix + "outboxes"))
        except redis.RedisError as exc:
            self._unreadable("the outbox's length", exc)
            return 0

    # ------------------------------------------------------------------ state cache

    def put_state(self, ticket: int, state: str | None, at: datetime) -> None:
        self.put_states({ticket: state}, at)

    def get_state(self, ticket: int) -> tuple[str | None, datetime] | None:
        value = self._read(f"state:{ticket}")
        if not isinstance(value, dict):
            return None
        state, at = value.get("state"), _parse_iso(value.get("at"))
        if at is None or not (state is None or isinstance(state, str)):
            self.log.error("store %s: malformed state of ticket %s", self.location, ticket)
            return None
        return state, at

    def put_states(self, states: Mapping[int, str | None], at: datetime) -> None:
        what = f"state of ticket {next(iter(states))}" if len(states) == 1 else "states"
        with self._writing(what) as ops:
            stamp = _iso(at)
            for ticket, state in states.items():
                text = encode({"state": state, "at": stamp})
                ops.append(["set", f"state:{ticket}", text])
                self._written(f"state:{ticket}", text)

    def delete_state(self, ticket: int) -> None:
        with self._writing(f"deletion of state {ticket}") as ops:
            ops.append(["del", f"state:{ticket}"])
            self._written(f"state:{ticket}", None)

    # ------------------------------------------------------------------ account mode

    def put_account_mode(self, until: datetime | None, reason: str) -> None:
        with self._writing("account mode") as ops:
            if until is None:
                ops.append(["del", ACCOUNT_MODE])
                self._written(ACCOUNT_MODE, None)
            else:
                text = encode({"until": _iso(until), "reason": reason})
                ops.append(["set", ACCOUNT_MODE, text])
                self._written(ACCOUNT_MODE, text)

    # ------------------------------------------------------------------ action journal

    def append_actions(self, entries: Iterable[dict[str, Any]]) -> None:
        entries = list(entries)
        if not entries:
            return
        with self._writing(journal_label(entries)) as ops:
            for entry in entries:
                owner = entry.get("ticket")
                ops.append(["act", encode(entry), str(owner) if _is_int(owner) else ""])

    def actions(self, ticket: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``limit`` committed entries (of one ticket, or all), oldest first."""
        if limit <= 0:
            return []
        try:
            if ticket is None:
                end = self._journal_end()
                seqs: list[Any] = list(range(max(0, end - min(limit, self._max_actions)), end))
            else:
                seqs = self.client.lrange(f"{self.prefix}journal:ticket:{ticket}", -limit, -1)
            texts = self.client.hmget(self.prefix + "journal", seqs) if seqs else []
        except redis.RedisError as exc:
            self._unreadable("the journal", exc)
            return []
        decoded = (self._decode("journal", text) for text in texts)
        return [  # an index naming another trade's entry shows none of it
            entry for entry in decoded
            if isinstance(entry, dict) and (ticket is None or entry.get("ticket") == ticket)
        ]  # fmt: skip

    def _journal_end(self) -> int:
        """One past the newest journal entry: the counter, or, when it is no number (a
        planted key: it was a ValueError, a 500 on ``/dtms/actions``), absent while
        entries are kept, or names an entry kept (it went back), the entries' own
        numbers, the key said damaged until the next entry's write rebuilds it (the
        script's rule: digits alone, naming no entry)."""
        name, journal = self.prefix + "journal:seq", self.prefix + "journal"
        raw = self.client.get(name)
        whole = isinstance(raw, str) and raw.isascii() and raw.isdigit()
        if whole and not self.client.hexists(journal, raw):
            self.damaged.pop(name, None)
            return int(raw)
        numbers = [int(f) for f in self.client.hkeys(journal) if _digits(f)]
        if raw is None and not numbers:
            return 0  # a journal never written
        self._damage(name, f"{raw!r} is no count of the entries; rebuilt at the next one")
        return 1 + max(numbers, default=-1)

    def actions_count(self, ticket: int | None = None) -> int:
        """The committed entries kept: the journal hash's fields, or the length of
        ``ticket``'s index (one command, no entry read)."""
        try:
            if ticket is None:
                return int(self.client.hlen(self.prefix + "journal"))
            return int(self.client.llen(f"{self.prefix}journal:ticket:{ticket}"))
        except redis.RedisError as exc:
            self._unreadable("the journal's length", exc)
            return 0


def _digits(value: object) -> bool:
    """Is ``value`` a number as the journal's fields are: ASCII digits alone?"""
    return isinstance(value, str) and value.isascii() and value.isdigit()
