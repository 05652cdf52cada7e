"""DTMS persistence: trade records, the ``is_defensive`` state cache, the account mode, the
action journal and the remote strategy's outbox, in one diskcache directory.

Why diskcache: it is SQLite underneath, so several processes (the host, ``dtms serve``, a
CLI) may share one directory safely, with real transactions. Why a custom ``Disk``: the
default one unpickles whatever it finds on read, so anyone who can write a row into the
cache directory could run code in our process. :class:`JsonDisk` stores JSON text only and
refuses every other row. Keys are namespaced strings (``"trade:7"``, ``"state:7"``…).

Enumerations (``records()``, ``outbox_items()``, ``actions()``) read small index keys that
are updated in the same transaction as the rows they list, so they cost O(what they list),
never O(everything in the cache).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import diskcache
from diskcache.core import MODE_RAW

_TRADE_INDEX = "trade:index"
_OUTBOX_INDEX = "outbox:index"
_ACCOUNT_MODE = "account:mode"
_ACTION_SEQ = "action:seq"
_PER_TICKET_ACTIONS = 1000  # per-ticket journal index keeps this many newest entries


class StoreError(RuntimeError):
    """A write to the store failed (disk full, locked past the timeout, bad value).

    The previous value of the key is untouched: a failed write never loses a record.
    """


class UnsafeRowError(ValueError):
    """A row that is not JSON text (a pickle, a file, bytes): refused, never decoded."""


class JsonDisk(diskcache.Disk):
    """A diskcache ``Disk`` that reads and writes JSON text only.

    Keys must be ``str`` (stored raw). Values are JSON-encoded and always kept inline in
    SQLite (never in side files). Any row with another mode, or a pickled key, raises
    :class:`UnsafeRowError` without being decoded.
    """

    def put(self, key: Any) -> tuple[Any, bool]:
        if type(key) is not str:
            raise TypeError(f"store keys must be str, got {type(key).__name__}")
        return key, True

    def get(self, key: Any, raw: bool) -> Any:
        if not raw or type(key) is not str:
            raise UnsafeRowError(f"refusing a non-text key in {self._directory}")
        return key

    def store(self, value: Any, read: bool, key: Any = None) -> tuple[int, int, None, str]:
        if read:
            raise TypeError("JsonDisk does not store file objects")
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
        return 0, MODE_RAW, None, text

    def fetch(self, mode: int, filename: str | None, value: Any, read: bool) -> Any:
        if mode != MODE_RAW or filename is not None or type(value) is not str:
            raise UnsafeRowError(
                f"refusing a row of mode {mode} ({type(value).__name__}) in {self._directory}:"
                " only JSON text is accepted"
            )
        return json.loads(value)


class Store:
    """The DTMS store on one directory. Open one per process; close it on shutdown.

    Reads never raise for a bad row: an unreadable (or planted) row is logged at ERROR and
    treated as absent. Writes raise :class:`StoreError` (and log it) when they fail.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        log: logging.Logger | None = None,
        disk: type[JsonDisk] = JsonDisk,
        timeout: float = 5.0,
        max_actions: int = 10_000,
    ) -> None:
        self.directory = Path(directory).expanduser()
        self.log = log or logging.getLogger("dtms_plugin.store")
        self._max_actions = max_actions
        self._prepare_directory()
        self._cache = self._open(disk, timeout)

    # ------------------------------------------------------------------ opening

    def _prepare_directory(self) -> None:
        """Create the directory private to this user (0700): it holds trading state."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        mode = stat.S_IMODE(self.directory.stat().st_mode)
        if mode & 0o077:
            self.log.warning(
                "store directory %s had mode %o; tightening to 0700", self.directory, mode
            )
            self.directory.chmod(0o700)

    def _open(self, disk: type[JsonDisk], timeout: float) -> diskcache.Cache:
        try:
            return self._open_checked(disk, timeout)
        except sqlite3.OperationalError as exc:
            # Locked, I/O error, disk full: not corruption. Do not touch the files.
            raise StoreError(f"cannot open store in {self.directory}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            aside = self._move_aside(exc)
            self.log.warning(
                "store in %s is corrupted (%s); moved it aside to %s and started empty",
                self.directory,
                exc,
                aside,
            )
            self._prepare_directory()
            return self._open_checked(disk, timeout)

    def _open_checked(self, disk: type[JsonDisk], timeout: float) -> diskcache.Cache:
        cache = diskcache.Cache(
            str(self.directory),
            timeout=timeout,
            disk=disk,
            eviction_policy="none",  # never cull: these are records, not a cache of copies
            cull_limit=0,
            statistics=0,
        )
        try:
            result = cache._sql("PRAGMA quick_check").fetchone()
        except sqlite3.DatabaseError:
            cache.close()
            raise
        if not result or result[0] != "ok":
            cache.close()
            raise sqlite3.DatabaseError(f"quick_check: {result[0] if result else 'no answer'}")
        return cache

    def _move_aside(self, exc: BaseException) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        aside = self.directory.with_name(f"{self.directory.name}.corrupt-{stamp}-{os.getpid()}")
        # FileNotFoundError: another process moved it aside first; both rebuild.
        with suppress(FileNotFoundError):
            self.directory.rename(aside)
        return aside

    def close(self) -> None:
        self._cache.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ primitives

    def _read(self, key: str) -> Any:
        """The decoded value of ``key``, or None when absent or unreadable (logged)."""
        try:
            return self._cache.get(key)
        except (UnsafeRowError, json.JSONDecodeError) as exc:
            self.log.error(
                "store %s: unreadable row %r treated as absent: %s", self.directory, key, exc
            )
            return None
        except (sqlite3.Error, diskcache.Timeout) as exc:
            self.log.error("store %s: cannot read %r: %s", self.directory, key, exc)
            return None

    @contextmanager
    def _writing(self, what: str) -> Iterator[None]:
        """One atomic write transaction; any failure is logged and raised as StoreError."""
        try:
            with self._cache.transact():
                yield
        except (sqlite3.Error, OSError, diskcache.Timeout, TypeError, ValueError) as exc:
            root = _root_cause(exc)
            reason = (
                "database locked by another writer past the timeout"
                if isinstance(root, diskcache.Timeout)
                else str(root) or type(root).__name__
            )
            message = f"store {self.directory}: writing {what} failed: {reason}"
            self.log.error(message)
            raise StoreError(message) from root

    def _index(self, key: str) -> list[int]:
        value = self._read(key)
        if not isinstance(value, list):
            return []
        return [v for v in value if isinstance(v, int) and not isinstance(v, bool)]

    def _update_index(self, key: str, change: Callable[[list[int]], list[int]]) -> None:
        old = self._index(key)
        new = change(list(old))
        if new != old:
            self._cache.set(key, new)

    # ------------------------------------------------------------------ trade records

    def get_record(self, ticket: int) -> dict[str, Any] | None:
        value = self._read(f"trade:{ticket}")
        return value if isinstance(value, dict) else None

    def put_record(self, ticket: int, record: dict[str, Any]) -> None:
        """Write the whole record (JSON: int dict keys come back as strings)."""
        key = f"trade:{ticket}"
        with self._writing(f"record of ticket {ticket}"):
            # A key that exists is indexed already (both are written in one transaction),
            # so the common case, an update, never reads the growing index.
            known = key in self._cache
            self._cache.set(key, record)
            if not known:
                self._update_index(
                    _TRADE_INDEX, lambda idx: idx if ticket in idx else [*idx, ticket]
                )

    def delete_record(self, ticket: int) -> None:
        with self._writing(f"deletion of record {ticket}"):
            self._cache.delete(f"trade:{ticket}")
            self._update_index(_TRADE_INDEX, lambda idx: [t for t in idx if t != ticket])

    def records(self) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        for ticket in self._index(_TRADE_INDEX):
            record = self.get_record(ticket)
            if record is not None:
                out[ticket] = record
        return out

    # ------------------------------------------------------------------ state cache

    def put_state(self, ticket: int, state: str | None, at: datetime) -> None:
        """Cache the DTMS state of ``ticket`` seen at ``at``; None means "not managed"."""
        with self._writing(f"state of ticket {ticket}"):
            self._cache.set(f"state:{ticket}", {"state": state, "at": _iso(at)})

    def get_state(self, ticket: int) -> tuple[str | None, datetime] | None:
        value = self._read(f"state:{ticket}")
        if not isinstance(value, dict):
            return None
        state = value.get("state")
        at = _parse_iso(value.get("at"))
        if at is None or not (state is None or isinstance(state, str)):
            self.log.error("store %s: malformed state row for ticket %s", self.directory, ticket)
            return None
        return state, at

    def put_states(self, states: Mapping[int, str | None], at: datetime) -> None:
        """Cache many states seen at ``at`` in one transaction (a batch refresh)."""
        stamp = _iso(at)
        with self._writing(f"states of {len(states)} tickets"):
            for ticket, state in states.items():
                self._cache.set(f"state:{ticket}", {"state": state, "at": stamp})

    def delete_state(self, ticket: int) -> None:
        with self._writing(f"deletion of state {ticket}"):
            self._cache.delete(f"state:{ticket}")

    # ------------------------------------------------------------------ account mode

    def put_account_mode(self, until: datetime | None, reason: str) -> None:
        """Enter account defensive mode until ``until``; ``None`` clears it."""
        with self._writing("account mode"):
            if until is None:
                self._cache.delete(_ACCOUNT_MODE)
            else:
                self._cache.set(_ACCOUNT_MODE, {"until": _iso(until), "reason": reason})

    def get_account_mode(self) -> tuple[datetime, str] | None:
        value = self._read(_ACCOUNT_MODE)
        if not isinstance(value, dict):
            return None
        until = _parse_iso(value.get("until"))
        if until is None:
            self.log.error("store %s: malformed account mode row", self.directory)
            return None
        return until, str(value.get("reason", ""))

    # ------------------------------------------------------------------ action journal

    def append_action(self, entry: dict[str, Any]) -> None:
        """Append to the journal; ``entry["ticket"]`` (when an int) indexes it by trade."""
        ticket = entry.get("ticket")
        with self._writing(f"journal entry for ticket {ticket}"):
            seq = self._read(_ACTION_SEQ)
            seq = seq if isinstance(seq, int) else 0
            self._cache.set(f"action:{seq}", entry)
            self._cache.set(_ACTION_SEQ, seq + 1)
            if seq >= self._max_actions:
                self._cache.delete(f"action:{seq - self._max_actions}")
            if isinstance(ticket, int) and not isinstance(ticket, bool):
                self._update_index(
                    f"actions:ticket:{ticket}", lambda idx: [*idx, seq][-_PER_TICKET_ACTIONS:]
                )

    def actions(self, ticket: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``limit`` entries (of one ticket, or all), oldest first."""
        if limit <= 0:
            return []
        if ticket is None:
            seq = self._read(_ACTION_SEQ)
            end = seq if isinstance(seq, int) else 0
            seqs = list(range(max(0, end - limit), end))
        else:
            seqs = self._index(f"actions:ticket:{ticket}")[-limit:]
        out = []
        for s in seqs:
            entry = self._read(f"action:{s}")
            if isinstance(entry, dict):
                out.append(entry)
        return out

    # ------------------------------------------------------------------ small values

    def get_value(self, name: str) -> Any:
        """A named JSON value (``None`` when absent), for strategies' own bookkeeping."""
        return self._read(f"value:{name}")

    def put_value(self, name: str, value: Any) -> None:
        with self._writing(f"value {name!r}"):
            self._cache.set(f"value:{name}", value)

    def update_value(self, name: str, change: Callable[[Any], Any]) -> Any:
        """Read-modify-write ``name`` atomically, even against other processes."""
        with self._writing(f"value {name!r}"):
            new = change(self._read(f"value:{name}"))
            self._cache.set(f"value:{name}", new)
        return new

    # ------------------------------------------------------------------ outbox

    def outbox_put(self, ticket: int, payload: dict[str, Any]) -> None:
        """Queue ``payload`` for ``ticket``; replaces a pending one, keeping its place."""
        with self._writing(f"outbox entry for ticket {ticket}"):
            self._cache.set(f"outbox:{ticket}", payload)
            self._update_index(_OUTBOX_INDEX, lambda idx: idx if ticket in idx else [*idx, ticket])

    def outbox_get(self, ticket: int) -> dict[str, Any] | None:
        value = self._read(f"outbox:{ticket}")
        return value if isinstance(value, dict) else None

    def outbox_items(self) -> list[tuple[int, dict[str, Any]]]:
        out = []
        for ticket in self._index(_OUTBOX_INDEX):
            payload = self.outbox_get(ticket)
            if payload is not None:
                out.append((ticket, payload))
        return out

    def outbox_remove(self, ticket: int) -> None:
        with self._writing(f"outbox removal of ticket {ticket}"):
            self._cache.delete(f"outbox:{ticket}")
            self._update_index(_OUTBOX_INDEX, lambda idx: [t for t in idx if t != ticket])

    def outbox_remove_if(self, ticket: int, payload: dict[str, Any]) -> bool:
        """Remove the entry only if it is still ``payload`` (not replaced meanwhile).

        The sender uses this after a delivery, so a newer entry queued for the same ticket
        while the request was in flight is not lost. Returns whether it removed.
        """
        with self._writing(f"outbox removal of ticket {ticket}"):
            if self.outbox_get(ticket) != payload:
                return False
            self._cache.delete(f"outbox:{ticket}")
            self._update_index(_OUTBOX_INDEX, lambda idx: [t for t in idx if t != ticket])
            return True

    def outbox_len(self) -> int:
        return len(self._index(_OUTBOX_INDEX))


def _iso(at: datetime) -> str:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at}: store times must be timezone-aware")
    return at.astimezone(UTC).isoformat()


def _parse_iso(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    return at.astimezone(UTC)


def _root_cause(exc: BaseException) -> BaseException:
    """The original failure. SQLite rolls back by itself on SQLITE_FULL, so diskcache's own
    ROLLBACK then fails with "no transaction is active" and hides the real error."""
    if "no transaction is active" in str(exc) and exc.__context__ is not None:
        return exc.__context__
    return exc
