"""What a DTMS store backend offers: the public API of :class:`~.core.Store` (diskcache,
one machine) that :class:`~.redis_store.RedisStore` (several machines) also implements.

Callers (the strategies, ``dtms serve``, the CLI) depend on this, not on a backend, so the
backend is chosen by ``[plugin.dtms] store`` alone (:func:`~.location.open_store`). The
behaviour both must share is pinned by one test suite run against each
(tests/dtms_store/test_store_api.py).

Values are JSON (dicts, lists, strings, numbers, booleans, null): int dict keys come back
as strings, and a value JSON cannot hold is a :class:`~.opening.StoreError`, with the old
value left in place.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable

from .disk import Encoded
from .listing import Listed


@runtime_checkable
class StoreProtocol(Protocol):
    """Trade records, the ``is_defensive`` state cache, the account mode, the action
    journal, named values and the remote strategy's outbox. Reads never raise for a bad
    row (logged, treated as absent); writes raise :class:`~.opening.StoreError`."""

    def close(self) -> None: ...

    def claim_engine(self) -> None:
        """Hold the store for this process's engine, or a StoreError naming the one that
        holds it (a directory store: one engine at a time; a Redis store is shared by
        replicas through leases, docs/scaling.md, and claims nothing)."""

    def in_place(self) -> None:
        """Check that the store is still where it was opened, before a write and once a
        quiet cycle: a directory store whose folder was deleted or moved away takes it
        back (its engine's) or raises a StoreError, ``unavailable`` (store/folder.py); a
        Redis store has nothing to check."""

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def batch(self) -> AbstractContextManager[None]:
        """Every write inside commits together at the end, or none does; reads inside see
        the writes before them; a batch inside a batch is part of it."""
        ...

    # trade records, by ticket
    def get_record(self, ticket: int) -> dict[str, Any] | None: ...

    def put_record(self, ticket: int, record: dict[str, Any] | Encoded) -> None: ...

    def put_records(self, records: Mapping[int, dict[str, Any] | Encoded]) -> None: ...

    def delete_record(self, ticket: int) -> None: ...

    def archive_record(self, ticket: int) -> str | None:
        """Keep the record aside (a broker reusing the ticket) and free the ticket."""
        ...

    def archived(self, ticket: int) -> list[dict[str, Any]]: ...

    def archives(self) -> list[tuple[int, dict[str, Any]]]:
        """``(ticket, record)`` of every archived record: export, status, retention."""
        ...

    def archived_count(self) -> int:
        """How many archived records, read from an index, none decoded: what a status
        poll shows."""
        ...

    def purge_closed(self, closed_before: datetime, limit: int = 100) -> list[int]:
        """Remove finished trades closed before ``closed_before`` (retention), and the
        archived records closed before it; answers the tickets of the records removed."""
        ...

    def records(self) -> dict[int, dict[str, Any]]:
        """Every readable record, in the order they were first written."""
        ...

    def listing(self, mend: Collection[int] = ()) -> dict[int, Listed]:
        """The listing entry (state, symbol, opening and close times: :mod:`.listing`)
        of every readable record, by ticket (in no set order), without decoding the
        records whose entries are sound: what a page of the dashboard orders and filters
        by. An entry missing or unreadable is rebuilt from its record
        and written back, as are those of ``mend`` (found disagreeing with their
        records), and said in one log line."""
        ...

    def get_records(self, tickets: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The readable records of ``tickets``, by ticket, in that order, read together
        (a page's); the absent and unreadable left out."""
        ...

    # the state cache: a ticket's DTMS state seen at a time (None: "not managed")
    def put_state(self, ticket: int, state: str | None, at: datetime) -> None: ...

    def get_state(self, ticket: int) -> tuple[str | None, datetime] | None: ...

    def put_states(self, states: Mapping[int, str | None], at: datetime) -> None: ...

    def delete_state(self, ticket: int) -> None: ...

    # account defensive mode
    def put_account_mode(self, until: datetime | None, reason: str) -> None: ...

    def get_account_mode(self) -> tuple[datetime, str] | None: ...

    # the action journal (history of what was done, per trade and overall)
    def append_action(self, entry: dict[str, Any]) -> None: ...

    def append_actions(self, entries: Iterable[dict[str, Any]]) -> None: ...

    def actions(self, ticket: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``limit`` entries (of one ticket, or all), oldest first."""
        ...

    def actions_count(self, ticket: int | None = None) -> int:
        """How many entries the journal keeps (of one ticket, or all), counted without
        reading them: the original server's ``total_actions`` (0 when it cannot be read,
        logged, as an unreadable journal reads as empty)."""
        ...

    # named JSON values for strategies' own bookkeeping
    def get_value(self, name: str) -> Any: ...

    def put_value(self, name: str, value: Any) -> None: ...

    def update_value(self, name: str, change: Callable[[Any], Any]) -> Any:
        """Read-modify-write ``name`` atomically, even against other processes."""
        ...

    # the remote strategy's outbox, by ticket, oldest first
    def outbox_put(self, ticket: int, payload: dict[str, Any]) -> None: ...

    def outbox_get(self, ticket: int) -> dict[str, Any] | None: ...

    def outbox_items(self) -> list[tuple[int, dict[str, Any]]]: ...

    def outbox_remove(self, ticket: int) -> None: ...

    def outbox_remove_if(self, ticket: int, payload: dict[str, Any]) -> bool: ...

    def outbox_len(self) -> int: ...


if TYPE_CHECKING:  # mypy proves each backend implements the protocol, signatures included
    from .core import Store
    from .redis_store import RedisStore

    _DISKCACHE: type[StoreProtocol] = Store
    _REDIS: type[StoreProtocol] = RedisStore
