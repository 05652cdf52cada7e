"""The store as the engine of one replica sees it (docs/scaling.md): only the trades whose
lease this replica holds. Queries use the whole shared store; the engine gets this view,
so it loads and evaluates only its own trades.

Who may write a record is decided by its version, not here (the fencing of
:mod:`..store.redis_store`): a replica that lost a trade while it was paused still
believes it holds the lease until it renews, so only the version the new owner moved on
can refuse what it goes on writing. Such a refusal tells this view to renew at once
(``on_stale``), so the loss is logged and the engine lets those trades go. The state
cache has no version: only held trades are stamped.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any

import redis

from ..store import StoreError
from ..store.closes import Close
from ..store.disk import Encoded
from ..store.listing import Listed
from ..store.redis_store import RedisStore, StaleWrite


class NotHeld(StoreError):
    """A write without a version (the state cache) of a trade this replica does not hold
    the lease of: refused."""


class OwnedStore:
    """A :class:`~dtms_plugin.store.StoreProtocol` over ``inner`` limited to ``held``."""

    def __init__(
        self,
        inner: RedisStore,
        held: Callable[[int], bool],
        *,
        on_stale: Callable[[], object] | None = None,
    ) -> None:
        self.inner = inner
        self._held = held
        self._on_stale = on_stale
        self._batching = False

    @contextmanager
    def _fenced(self) -> Iterator[None]:
        """A record write refused by version calls ``on_stale`` (once per batch)."""
        try:
            yield
        except StaleWrite:
            if self._on_stale is not None:
                self._on_stale()
            raise

    def _write(self) -> AbstractContextManager[None]:
        return nullcontext() if self._batching else self._fenced()

    def _check(self, ticket: int) -> None:
        if not self._held(ticket):
            message = f"ticket {ticket}: this replica does not hold its lease; write refused"
            self.inner.log.error(message)
            raise NotHeld(message)

    def close(self) -> None:
        """The shared store is closed by whoever opened it (the service)."""

    def claim_engine(self) -> None:
        """Nothing to hold: a replica's engine manages the trades it holds leases of."""

    def in_place(self) -> None:
        """Nothing to check: a Redis store has no folder."""

    def loaded_words(self, held: int) -> str:
        """What the engine's start-up line says it loaded: its own records (none before
        its first claim) beside the trades of the shared store, every replica's."""
        try:
            total = f"{int(self.inner.client.zcard(self.inner.prefix + 'trades')):,d} trades"
        except redis.RedisError:
            total = "an unknown number of trades (Redis did not answer)"
        return (
            f"{held} records held by this replica; the shared store holds {total} (other"
            " replicas' leases, closed ones, and orphans it claims its share of each cycle)"
        )

    def __enter__(self) -> OwnedStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def batch(self) -> Iterator[None]:
        if self._batching:
            yield
            return
        with self._fenced(), self.inner.batch():
            self._batching = True
            try:
                yield
            finally:
                self._batching = False

    def get_record(self, ticket: int) -> dict[str, Any] | None:
        return self.inner.get_record(ticket) if self._held(ticket) else None

    def put_record(self, ticket: int, record: dict[str, Any] | Encoded) -> None:
        with self._write():
            self.inner.put_record(ticket, record)

    def put_records(self, records: Mapping[int, dict[str, Any] | Encoded]) -> None:
        with self._write():
            self.inner.put_records(records)

    def delete_record(self, ticket: int) -> None:
        with self._write():
            self.inner.delete_record(ticket)

    def archive_record(self, ticket: int) -> str | None:
        with self._write():
            return self.inner.archive_record(ticket)

    def archived(self, ticket: int) -> list[dict[str, Any]]:
        return self.inner.archived(ticket)

    def archives(self) -> list[tuple[int, dict[str, Any]]]:
        return self.inner.archives()

    def archived_count(self) -> int:
        return self.inner.archived_count()

    def purge_closed(self, closed_before: datetime, limit: int = 100) -> list[int]:
        return self.inner.purge_closed(closed_before, limit)

    def records(self) -> dict[int, dict[str, Any]]:
        return {t: r for t, r in self.inner.records().items() if self._held(t)}

    def listing(self, mend: Collection[int] = ()) -> dict[int, Listed]:
        return {t: e for t, e in self.inner.listing(mend).items() if self._held(t)}

    def get_records(self, tickets: Iterable[int]) -> dict[int, dict[str, Any]]:
        return self.inner.get_records(t for t in tickets if self._held(t))

    def put_state(self, ticket: int, state: str | None, at: datetime) -> None:
        self.put_states({ticket: state}, at)

    def get_state(self, ticket: int) -> tuple[str | None, datetime] | None:
        return self.inner.get_state(ticket)

    def put_states(self, states: Mapping[int, str | None], at: datetime) -> None:
        # another replica's state cache is its own to stamp: only held tickets go in
        self.inner.put_states({t: s for t, s in states.items() if self._held(t)}, at)

    def delete_state(self, ticket: int) -> None:
        self._check(ticket)
        self.inner.delete_state(ticket)

    def recent_closes(self, since: datetime, at_least: int) -> list[Close]:
        """Every replica's closes, not only this one's: the account rails judge the
        account (docs/scaling.md, "The account rails")."""
        return self.inner.recent_closes(since, at_least)

    def put_account_mode(self, until: datetime | None, reason: str) -> None:
        self.inner.put_account_mode(until, reason)

    def get_account_mode(self) -> tuple[datetime, str] | None:
        return self.inner.get_account_mode()

    def append_action(self, entry: dict[str, Any]) -> None:
        self.append_actions([entry])

    def append_actions(self, entries: Iterable[dict[str, Any]]) -> None:
        self.inner.append_actions(entries)

    def actions(self, ticket: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return self.inner.actions(ticket, limit)

    def actions_count(self, ticket: int | None = None) -> int:
        return self.inner.actions_count(ticket)

    def get_value(self, name: str) -> Any:
        return self.inner.get_value(name)

    def put_value(self, name: str, value: Any) -> None:
        self.inner.put_value(name, value)

    def update_value(self, name: str, change: Callable[[Any], Any]) -> Any:
        return self.inner.update_value(name, change)

    def outbox_put(self, ticket: int, payload: dict[str, Any]) -> None:
        self.inner.outbox_put(ticket, payload)

    def outbox_get(self, ticket: int) -> dict[str, Any] | None:
        return self.inner.outbox_get(ticket)

    def outbox_items(self) -> list[tuple[int, dict[str, Any]]]:
        return self.inner.outbox_items()

    def outbox_remove(self, ticket: int) -> None:
        self.inner.outbox_remove(ticket)

    def outbox_remove_if(self, ticket: int, payload: dict[str, Any]) -> bool:
        return self.inner.outbox_remove_if(ticket, payload)

    def outbox_len(self) -> int:
        return self.inner.outbox_len()


if TYPE_CHECKING:  # mypy proves the engine's view offers the whole store API
    from ..store import StoreProtocol

    _VIEW: type[StoreProtocol] = OwnedStore
