"""The listing of the Redis store's trade records (:mod:`.listing`), and the records of a
page read together, part of :class:`~.redis_store.RedisStore`: what lets a page of
``GET /dtms/trades`` decode only its own records (docs/scaling.md, "The flow").

Each record's hash (``trade:<t>``) holds its entry (``l``) beside the record (``j``),
written by the same script operation, and the record version it was built from (``lv``):
an entry is sound only while ``lv`` is the record's version ``v``. A replica of an older
version, which writes ``j`` and moves ``v`` on but knows nothing of ``l``, so leaves its
entry behind, never has it believed: that record is read and decoded as :meth:`records`
would, and its entry written back at that version (``relist``, which moves no version, so
fences nothing). :data:`LISTING` reads the entries by a script, a chunk of tickets a call
(so Redis, which runs nothing else meanwhile, is held a few milliseconds at a time), each
answer one text of lines that no planted value can shift.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import redis

from .listing import Listed, Memo, entry_text, listed
from .opening import StoreError
from .rows import key_number

#: ARGV: the prefix, the lowest score (``-inf``, then the last one of the chunk before),
#: how many.
#: The next tickets of ``trades`` in their order, as lines: how many and the last one's
#: score, then for each its ticket and its entry (``[``...), or 0 (read its record: no
#: entry of its version, or none: a value that is no record is read each time, so no
#: entry can hide a record), 1 (no record) or ``2 <error>`` (a key of the wrong type).
#: A member or an entry holding a line break (never written here: planted) is not
#: passed on (the member as ``-``, the entry as 0: its record is read), so no value can
#: shift the lines.
LISTING = r"""
local p, out = ARGV[1], {}
local page = redis.call('ZRANGEBYSCORE', p .. 'trades', ARGV[2], '+inf', 'WITHSCORES',
  'LIMIT', 0, tonumber(ARGV[3]))
for i = 1, #page, 2 do
  local t, item = page[i], '1'
  if string.find(t, '\n', 1, true) then
    t = '-'
  else
    local key = p .. 'trade:' .. t
    local row = redis.pcall('HMGET', key, 'v', 'lv', 'l')
    if row.err then
      item = '2 ' .. string.gsub(row.err, '\n', ' ')
    elseif row[2] and row[2] == row[1] and row[3] and not string.find(row[3], '\n', 1, true) then
      item = row[3]
    elseif row[1] or redis.call('HEXISTS', key, 'j') == 1 then
      item = '0'
    end
  end
  out[#out + 1] = t
  out[#out + 1] = item
end
table.insert(out, 1, (#page / 2) .. ' ' .. (page[#page] or ''))
return table.concat(out, '\n')
"""

#: tickets per :data:`LISTING` call: each call holds Redis for a few milliseconds only
#: (every replica's commands wait while a script runs)
LISTING_CHUNK = 2000


class RedisListing:
    """Part of :class:`~.redis_store.RedisStore` (which provides what is declared here)."""

    client: Any
    prefix: str
    location: str
    log: logging.Logger
    damaged: dict[str, str]
    _overlay: dict[str, str | None]
    _list: Any  # LISTING, registered
    _memo: Memo | None = None  # the entries the last listing read, by their text

    if TYPE_CHECKING:

        def _in_batch(self) -> bool: ...

        def _decode(self, key: str, text: object) -> Any: ...

        def _damage(self, name: str, why: str) -> None: ...

        def _unreadable(self, what: str, exc: Exception) -> None: ...

        def _saw(self, ticket: int, version: object) -> bool: ...

        def _writing(self, what: str) -> AbstractContextManager[list[list[Any]]]: ...

        def records(self) -> dict[int, dict[str, Any]]: ...

    def listing(self, mend: Collection[int] = ()) -> dict[int, Listed]:
        """The listing entry of every readable record, by ticket (in the order of
        :meth:`records`); the records of entries missing, of another version or
        unreadable, and those of ``mend``, are read and their entries rebuilt."""
        mend = set(mend)
        memo = self._memo = self._memo or Memo()
        read, keep = memo.reader()
        items = self._listed_items()
        if items is None:  # not the script's answer: the records themselves
            return {t: listed(r) for t, r in self.records().items()}
        found: dict[int, Listed | None] = {}
        for name, item in items:
            ticket = _ticket(name)
            if ticket is None:
                continue
            key = f"{self.prefix}trade:{ticket}"
            if key_number(name) is None or ticket in mend:  # "07": records() reads trade:7
                found[ticket] = None
            elif item.startswith("2 "):  # the wrong type: as records() reads it
                self._damage(key, f"ResponseError: {item[2:]}")
            elif item != "1":
                entry = read(item)  # "0", or an entry that does not read: its record
                if entry is not None and self.damaged:
                    self.damaged.pop(key, None)  # reads well, as a decoded record would
                found[ticket] = entry
        keep()
        reread = [t for t, entry in found.items() if entry is None]
        if reread:
            found.update(self._relist(reread))
        if self._in_batch():  # the batch's own writes, as records() sees them
            for key, text in self._overlay.items():
                if key.startswith("trade:"):
                    value = self._decode(key, text)
                    found[int(key[6:])] = listed(value) if isinstance(value, dict) else None
        return {t: entry for t, entry in found.items() if entry is not None}

    def _listed_items(self) -> list[tuple[str, str]] | None:
        """``(member of trades, its item)`` for every ticket, from :data:`LISTING` called
        chunk by chunk, each from the last score of the one before (a score, not a rank,
        so a ticket removed meanwhile moves no other; from that score included, so a
        member planted with a score another holds is not jumped over); None when an
        answer is not the script's."""
        items: dict[str, str] = {}
        low = "-inf"
        while True:
            try:
                reply = self._list(keys=[], args=[self.prefix, low, LISTING_CHUNK])
            except redis.RedisError as exc:
                self._unreadable("the records' listing", exc)  # Redis away: raises
                return None
            head, *lines = reply.split("\n") if isinstance(reply, str) else ("",)
            count, _, last = head.partition(" ")
            if not count.isdigit() or len(lines) != 2 * int(count) or (lines and not last):
                self._damage("the records' listing", f"not a listing: {reply!r:.80}")
                return None
            before = len(items)
            items.update(zip(lines[::2], lines[1::2], strict=True))
            if int(count) < LISTING_CHUNK or len(items) == before:
                return list(items.items())
            low = last

    def get_records(self, tickets: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The readable records of ``tickets``, by ticket, in that order, in one round
        trip (the absent and unreadable left out, as :meth:`records` leaves them)."""
        wanted = list(dict.fromkeys(tickets))
        got = {t: v for t, (v, _, _, _) in self._rows_of(wanted).items() if isinstance(v, dict)}
        if self._in_batch():
            for ticket in wanted:
                key = f"trade:{ticket}"
                if key in self._overlay:
                    value = self._decode(key, self._overlay[key])
                    got.pop(ticket, None)
                    if isinstance(value, dict):
                        got[ticket] = value
        return {t: got[t] for t in wanted if t in got}

    def _rows_of(self, tickets: list[int]) -> dict[int, tuple[Any, Any, Any, Any]]:
        """``(decoded record, version, entry's version, entry)`` of each of ``tickets``
        whose key is a hash (one of the wrong type is said, and left out)."""
        if not tickets:
            return {}
        try:
            pipe = self.client.pipeline(transaction=False)
            for ticket in tickets:
                pipe.hmget(f"{self.prefix}trade:{ticket}", ["v", "j", "lv", "l"])
            rows = pipe.execute(raise_on_error=False)
        except redis.RedisError as exc:
            self._unreadable("the records", exc)
            return {}
        out: dict[int, tuple[Any, Any, Any, Any]] = {}
        for ticket, row in zip(tickets, rows, strict=True):
            if isinstance(row, Exception):  # hides that record only
                self._unreadable(f"{self.prefix}trade:{ticket}", row)
                continue
            version, text, at, entry = row
            if not self._saw(ticket, version):
                continue  # damaged: read as absent
            out[ticket] = (self._decode(f"trade:{ticket}", text), version, at, entry)
        return out

    def _relist(self, tickets: list[int]) -> dict[int, Listed | None]:
        """The entries of ``tickets`` from their decoded records (None: no record), the
        ones that differ written back at the version read, and one log line."""
        out: dict[int, Listed | None] = dict.fromkeys(tickets)
        ops: list[list[Any]] = []
        older = damaged = 0
        for ticket, (value, version, at, stored) in self._rows_of(tickets).items():
            entry = listed(value) if isinstance(value, dict) else None
            out[ticket] = entry
            text = "" if entry is None else entry_text(entry)
            if version is not None and (at != version or (stored or "") != text):
                ops.append(["relist", str(ticket), text, version])
                older, damaged = (older + 1, damaged) if at != version else (older, damaged + 1)
        if ops:
            level = logging.WARNING if damaged else logging.INFO
            self.log.log(
                level,
                "store %s: listing of %d records rebuilt from the records (%d without one of"
                " their version: written by an older version; %d unreadable or disagreeing"
                " with its record)",
                self.location,
                len(ops),
                older,
                damaged,
            )
            if not self._in_batch():  # a batch's own writes are listed as it commits
                try:
                    with self._writing(f"listing of {len(ops)} records") as sent:
                        sent.extend(ops)
                except StoreError:
                    pass  # logged; the answer stands, and the next listing tries again
        return out


def _ticket(name: object) -> int | None:
    """The ticket a member of ``trades`` names, as :meth:`records` reads it."""
    try:
        return int(name) if isinstance(name, str) else None
    except ValueError:
        return None
