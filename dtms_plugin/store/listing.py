"""The listing: what the every-trade view of ``GET /dtms/trades`` filters and orders by,
for each trade record (its state, symbol, opening and close times), kept in the record's
own row by both backends, so that a page of that view decodes its page's records and no
other (docs/architecture.md §9, "The store").

Why in the record's own row (the ``tag`` column of its diskcache row, two fields of its
Redis hash) and not in rows or keys of its own: it is written by the same statement as
the record and goes with it (a deletion, retention, an archived ticket), so no writer can
forget it, and the records are still enumerated by their own rows: no listing entry can
hide an intact record or invent one. A record written without one (by an older version,
which clears the ``tag`` or leaves the Redis entry at an older version) is listed from
its decoded row, and the entry written back.

The entry is a projection of the decoded record, never a judgement: the raw values the
reader interprets (a state it does not know, a time it cannot read), so the listing and a
full read of the records order and filter the same trades the same way. What cannot be
told without decoding the record is a well-formed entry written by hand to lie: it is
found when its record is read (the dashboard checks every record of the page it shows
against its entry, and has it rebuilt: ``listing(mend=...)``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import orjson

from .disk import encode

#: The first element of an entry as stored: an entry of another form (written by another
#: version of this code) is rebuilt from its record, never read.
LISTING_FORM = 1


class Listed(NamedTuple):
    """One record's listing entry: each field the text the record holds, else None."""

    state: str | None
    symbol: str | None
    opened_at: str | None
    closed_at: str | None


def trade_fields(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """Trade fields live at the top level or under ``trade``, depending on the writer."""
    nested = record.get("trade")
    if nested is None:  # the engine's records: at the top level (no ABC check to pay)
        return record
    return nested if isinstance(nested, Mapping) else record


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def listed(record: Mapping[str, Any]) -> Listed:
    """The entry of a decoded record: its ``state``, the trade's ``symbol``, and its
    ``opened_at`` and ``closed_at`` as the dashboard reads them (at the top level, else
    under ``trade``); a value that is not text is None, as the reader ignores it."""
    fields = trade_fields(record)
    return Listed(
        _text(record.get("state")),
        _text(fields.get("symbol")),
        _text(record.get("opened_at", fields.get("opened_at"))),
        _text(record.get("closed_at", fields.get("closed_at"))),
    )


def listing_text(text: str, loads: Callable[[str], Any]) -> str | None:
    """The stored entry of a record written as ``text``, decoded with ``loads``, the
    backend's own reader (so a record its reader cannot decode, or that is not a JSON
    object, has none, as it is no record to :meth:`records` either)."""
    try:
        value = loads(text)
    except (ValueError, RecursionError):  # orjson's and json's decode errors
        return None
    return entry_text(listed(value)) if isinstance(value, dict) else None


def lenient_loads(text: str) -> Any:
    """``text`` decoded for its listing at orjson's cost (a record of 60 journal entries:
    61 µs against the standard decoder's 146), the standard decoder only for what orjson
    refuses (a lone surrogate, NaN): the text fields a listing reads are then the ones
    the Redis store's reads (``json.loads``) find. Not for the record itself: orjson reads
    an integer past 64 bits as a float."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def entry_text(entry: Listed) -> str:
    """An entry as it is stored (a JSON array: the form, then the fields). orjson's, as
    every record write makes one (a tenth of the standard encoder's cost), else the
    store's own encoder (a text orjson refuses: a lone surrogate)."""
    try:
        return orjson.dumps((LISTING_FORM, *entry)).decode()
    except TypeError:
        return encode([LISTING_FORM, *entry])


def read_listed(text: object) -> Listed | None:
    """A stored entry, or None when it is not one of this form (absent, damaged, planted,
    written by another version): its record is then read instead."""
    if type(text) is not str:
        return None
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:  # json.dumps' escapes orjson refuses (a lone surrogate)
            value = json.loads(text)
        except (ValueError, RecursionError):
            return None
    if type(value) is not list or len(value) != 5:
        return None
    form, state, symbol, opened_at, closed_at = value
    if type(form) is not int or form != LISTING_FORM:
        return None
    for field in (state, symbol, opened_at, closed_at):
        if field is not None and type(field) is not str:
            return None
    return Listed(state, symbol, opened_at, closed_at)


class Memo:
    """Entries read from their stored text by a listing, reused by the next one for the
    same text (a poll every 2 s reads every entry again, most of them unchanged): only
    the texts the last listing read are kept. The text is the whole key, so a changed
    entry is read afresh; safe to share between threads (a listing swaps in its own)."""

    def __init__(self) -> None:
        self._last: dict[object, Listed] = {}

    def reader(self) -> tuple[Callable[[object], Listed | None], Callable[[], None]]:
        """``read`` (as :func:`read_listed`) for one listing, and ``keep``, to call once
        it is done."""
        last, kept = self._last, {}

        def read(text: object) -> Listed | None:
            entry = last.get(text) if isinstance(text, str) else None
            if entry is None:
                entry = read_listed(text)
            if entry is not None:
                kept[text] = entry
            return entry

        def keep() -> None:
            self._last = kept

        return read, keep
