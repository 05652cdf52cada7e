"""The named values and the outbox of :class:`~.redis_store.RedisStore`: plain JSON
values under the store's prefix; outbox entries keep the place of their first write
(a sorted set of tickets), so the sender delivers them oldest first."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import redis

from .disk import encode


class ValuesAndOutbox:
    """Part of :class:`~.redis_store.RedisStore` (which provides what is declared here)."""

    client: Any
    prefix: str
    location: str
    log: logging.Logger

    if TYPE_CHECKING:

        def _in_batch(self) -> bool: ...

        def _decode(self, key: str, text: object) -> Any: ...

        def _read(self, key: str) -> Any: ...

        def _writing(self, what: str) -> AbstractContextManager[list[list[Any]]]: ...

        def _written(self, key: str, text: str | None) -> None: ...

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
            self.log.error("store %s: cannot list the outbox: %s", self.location, exc)
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
            self.log.error("store %s: cannot read %r: %s", self.location, key, exc)
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
            self.log.error("store %s: cannot count the outbox: %s", self.location, exc)
            return 0
