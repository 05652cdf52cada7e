"""What both store backends (:class:`~.core.Store`, :class:`~.redis_store.RedisStore`)
read and append the same way, defined once: the account mode from its JSON value, one
journal entry as a batch of one, and how a journal append names itself in an error."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

ACCOUNT_MODE = "account:mode"
#: the named value of the server's unregistration marks (ticket -> mark with its ``at``,
#: :mod:`dtms_plugin.server.unregistering`), kept until retention like a closed trade
UNREGISTERED = "unregistered"


class SharedReads:
    """Part of each backend (which provides what is declared here)."""

    log: logging.Logger

    if TYPE_CHECKING:

        @property
        def where(self) -> str: ...

        def _read(self, key: str) -> Any: ...

        def append_actions(self, entries: Iterable[dict[str, Any]]) -> None: ...

        def get_value(self, name: str) -> Any: ...

        def update_value(self, name: str, change: Callable[[Any], Any]) -> Any: ...

    def get_account_mode(self) -> tuple[datetime, str] | None:
        value = self._read(ACCOUNT_MODE)
        if not isinstance(value, dict):
            return None
        until = parse_iso(value.get("until"))
        if until is None:
            self.log.error("store %s: malformed account mode", self.where)
            return None
        return until, str(value.get("reason", ""))

    def _purge_marks(self, before: datetime) -> None:
        """Retention of the unregistration marks: those made before ``before`` go (a
        position unregistered that long ago is closed or long re-registered), the value
        an empty map left (one value: deleting it could drop a mark another replica
        adds at that moment). Read first, so a pass with none to remove writes nothing."""
        marks = self.get_value(UNREGISTERED)
        if not isinstance(marks, dict) or not any(_older(m, before) for m in marks.values()):
            return

        def prune(value: Any) -> Any:
            value = value if isinstance(value, dict) else {}
            return {t: m for t, m in value.items() if not _older(m, before)}

        self.update_value(UNREGISTERED, prune)

    def append_action(self, entry: dict[str, Any]) -> None:
        """Append to the journal; ``entry["ticket"]`` (when an int) indexes it by trade."""
        self.append_actions([entry])


def journal_label(entries: list[dict[str, Any]]) -> str:
    """What a failed append of ``entries`` says it was writing (one entry: its ticket)."""
    if len(entries) == 1:
        return f"journal entry for ticket {entries[0].get('ticket')}"
    return "journal entries"


def _older(mark: Any, before: datetime) -> bool:
    """Whether an unregistration mark was made before ``before`` (one without a readable
    time too: nothing could ever tell when to forget it)."""
    at = parse_iso(mark.get("at")) if isinstance(mark, dict) else None
    return at is None or at < before


def parse_iso(value: object) -> datetime | None:
    """A timezone-aware ISO time in UTC, or None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    if at.tzinfo is None:
        return None
    return at.astimezone(UTC)
