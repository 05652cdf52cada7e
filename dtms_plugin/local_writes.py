"""The local strategy's writes to the store, gathered and committed together.

Why: a cycle that re-scores a thousand trades used to write each changed record in its own
SQLite transaction, the action history in more, and the state cache in one more; commits,
not JSON, were most of a cycle's cost. Here a change only marks the trade; :meth:`flush`
serialises each marked record once (its newest version: record_encoding.py) and writes the
records, the state cache and the history entries in one transaction
(:meth:`StoreProtocol.batch`). The strategy
flushes at the end of every hook, on a transition (the state cache is written at once,
docs/dtms.md §8), and before every broker call, so the journal-first rule holds: the
pending entry is durable before the broker is asked, and the broker's answer is durable
before anything else is sent. A done or failed entry is committed with its history entry,
never one without the other (docs/dtms.md §6, §8); a crash between the answer and the
next flush leaves the entry pending, and recovery settles it from the broker.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from hookspecs import Action, ActionResult

from .book import TradeBook
from .engine import JournalEntry, JournalStatus, ScoreBreakdown, TradeRecord
from .engine.planning import SOURCE
from .local_write_failures import WriteFailures, said_by_store
from .record_encoding import record_json
from .store import Encoded, StoreError, StoreProtocol

ENDED = (JournalStatus.DONE, JournalStatus.FAILED)
#: the store value a flush with nothing to write writes while the store fails writes: the
#: write that tells the episode is over when no trade is open to write (docs/dtms.md §8)
WRITE_CHECK = "write_check"


class PendingWrites:
    """Records, states and history entries changed since the last :meth:`flush`."""

    def __init__(self, book: TradeBook, log: logging.Logger) -> None:
        self._book = book
        self._log = log
        #: ticket -> (when it changed last, its newest score breakdown or None): the
        #: breakdown is put in JSON form at the flush, once, not on every scored bar
        self._records: dict[int, tuple[datetime, ScoreBreakdown | None]] = {}
        self._states: dict[int, tuple[str | None, datetime]] = {}
        #: ticket -> the state cache entry this process last committed for it (state, at)
        #: and the record it was of: the refresh skips a stamp identical to it (states)
        self._stamped: dict[int, tuple[str | None, datetime, object]] = {}
        self._history: list[dict[str, Any]] = []
        #: tickets whose pending score was given before the last :meth:`seal`
        self._sealed: set[int] = set()
        #: the tickets whose record the store refused in the last :meth:`flush`, and why
        #: (the store's own words: a new registration refused so is not kept, and its
        #: client is told why, docs/client.md)
        self.store_failures: dict[int, str] = {}
        #: the store refused a flush as a whole (``StoreError.unavailable``): why, when
        #: (monotonic) and how many flushes since; what was marked is kept for the next
        self.refusal: tuple[str, float, int] | None = None
        #: a flush of this hook was refused so: the hook's next ones do not ask the store
        #: again (each would wait out the same lock), :meth:`try_again` at a hook's start
        self.held_back = False
        #: the store's failed writes this run, as episodes (said once each, reported)
        self.failures = WriteFailures(log)
        #: the host's time of the newest change marked: when a failed write was meant
        self._now: datetime | None = None

    def __bool__(self) -> bool:
        return bool(self._records or self._states or self._history)

    @property
    def quiet(self) -> bool:
        """Nothing but the state cache's re-stamp pending: no record changed, no action."""
        return not (self._records or self._history)

    def record(self, rec: TradeRecord, now: datetime, score: ScoreBreakdown | None = None) -> None:
        """``rec`` (already in the book) changed at ``now``; its score breakdown, when
        given, is kept with it until a newer one comes."""
        old = self._records.get(rec.ticket)
        if score is None and old is not None and rec.ticket not in self._sealed:
            score = old[1]
        self._sealed.discard(rec.ticket)
        self._records[rec.ticket] = (now, score)
        self._now = now
        # its state is stamped again with it: a record written again from memory (the
        # store lost it, docs/dtms.md §8) lost its state entry too
        self._stamped.pop(rec.ticket, None)

    def seal(self) -> None:
        """A point where the writes would have been committed passed without a commit (a
        simulated replay holds them): a later change of a trade keeps no score given
        before it, exactly as after a commit, so the store ends the same either way."""
        self._sealed = set(self._records)

    def state(self, ticket: int, state: str | None, now: datetime) -> None:
        self._states[ticket] = (state, now)
        self._now = now

    def states(self, states: dict[int, str | None], now: datetime) -> None:
        """The refresh of the open trades' state cache (docs/dtms.md §9). A stamp this
        process committed already, the same state at the same time for the same record,
        is not written again: with the account's clock standing, a thousand identical
        writes a cycle. Freshness reads ``at``, which did not move; the entry has no
        TTL. What could have changed the entry since forgets the stamp: a store error,
        the record written again, the trade let go (a lease lost) and taken back (a new
        record object), a restart (a new process)."""
        book, stamped, pending = self._book.records, self._stamped, self._states
        self._now = now
        for ticket, state in states.items():
            last = stamped.get(ticket)
            if (
                last is not None
                and ticket not in pending
                and last[0] == state
                and last[1] == now
                and last[2] is book.get(ticket)
            ):
                continue
            pending[ticket] = (state, now)
        if stamped.keys() - states.keys():  # trades no longer open: their stamps go
            self._stamped = {t: v for t, v in stamped.items() if t in states}

    def action(self, action: Action, result: ActionResult, now: datetime) -> None:
        """The history entry of an action the broker answered: the whole ``Action`` and
        ``ActionResult``, so a remote host rebuilds exactly what ``on_action`` gave the
        plugins here (docs/dtms.md §9), and the opening of the trade it is about."""
        self._history.append(
            {
                "type": "action",
                "ticket": action.ticket,
                "key": action.key,
                "kind": action.kind.value,
                "params": dict(action.params),
                "reason": action.reason,
                "source": action.source,
                "ok": result.ok,
                "code": result.code.value,
                "message": result.message,
                "new_ticket": result.new_ticket,
                "filled_volume": result.filled_volume,
                "netting": result.netting,
                "at": now.isoformat(),
                **self._opened(action.ticket),
            }
        )

    def settled(self, ticket: int, entry: JournalEntry, now: datetime) -> None:
        """The history entry of a journal entry settled from the broker's positions (an
        action left pending by a crash, or of unknown outcome)."""
        self._history.append(
            {
                "type": "action",
                "ticket": ticket,
                "key": entry.key,
                "kind": entry.kind.value,
                "params": dict(entry.params),
                "reason": "settled from the broker's positions",
                "source": SOURCE,
                "ok": entry.status is JournalStatus.DONE,
                "code": entry.code,
                "message": entry.message,
                "new_ticket": entry.new_ticket,
                "at": now.isoformat(),
                **self._opened(ticket),
            }
        )

    def _opened(self, ticket: int) -> dict[str, str]:
        """``opened_at`` of the trade an entry is about: a broker hands tickets out again,
        and one ticket's history may hold an earlier trade's entries."""
        rec = self._book.records.get(ticket)
        return {"opened_at": rec.opened_at.isoformat()} if rec is not None else {}

    def try_again(self) -> None:
        """A hook begins: its first flush asks the store again, refused before or not."""
        self.held_back = False

    def forget(self, tickets: Collection[int]) -> None:
        """Nothing of ``tickets`` is to be written (registrations refused and let go)."""
        for ticket in tickets:
            self._records.pop(ticket, None)
            self._states.pop(ticket, None)
            self._stamped.pop(ticket, None)
        self._history = [h for h in self._history if h.get("ticket") not in tickets]

    def flush(self, store: StoreProtocol) -> set[int]:
        """Write everything marked in one transaction. Returns the tickets whose record
        could not be written (empty when all went in). A store that refuses the
        transaction as a whole (locked past its timeout, out of reach) keeps it all
        marked, for the next flush: dropped, a trade closed during the outage stayed
        open in the store, and the actions' history lost its entries. Otherwise each
        item is tried on its own so one bad record cannot hold back the others; what
        still fails is logged and dropped (rewritten when it changes again)."""
        self.store_failures = {}
        if not self:
            return set()
        if self.held_back:
            return self._kept(None)
        records: dict[int, dict[str, Any] | Encoded] = {}
        unencodable: set[int] = set()
        for ticket, (at, score) in self._records.items():
            rec = self._book.records.get(ticket)
            if rec is None:
                continue  # unregistered meanwhile
            try:
                records[ticket] = record_json(
                    rec, at, score.to_json() if score is not None else None
                )
            except (TypeError, ValueError) as exc:  # text JSON cannot carry: theirs only
                self._log.error("DTMS %s: record not persisted: not JSON: %s", ticket, exc)
                unencodable.add(ticket)
        states: dict[datetime, dict[int, str | None]] = defaultdict(dict)
        for ticket, (state, at) in self._states.items():
            states[at][ticket] = state
        history = self._history
        try:
            with store.batch():
                if records:
                    store.put_records(records)
                for at, group in states.items():
                    store.put_states(group, at)
                store.append_actions(history)
        except StoreError as exc:
            self._stamped = {}  # what the store holds now is not known: stamped again
            if exc.unavailable:
                self._records = {t: m for t, m in self._records.items() if t in records}
                return unencodable | self._kept(exc)
            self._clear()
            # one episode whatever the store's reason (a full disk fails every cycle)
            self.failures.failed(
                "one transaction for the cycle's writes",
                str(exc),
                self._now,
                said=said_by_store(exc),
            )
            before = self.failures.count()
            failed = self._one_by_one(store, records, states, history)
            # each write on its own went in: the store takes writes again
            self._taken_again(ended=self.failures.count() == before and has_room(store))
            return unencodable | failed
        book = self._book.records
        for ticket, (state, at) in self._states.items():
            self._stamped[ticket] = (state, at, book.get(ticket))
        self._clear()
        self._taken_again(ended=has_room(store))
        return unencodable

    def in_place(self, store: StoreProtocol) -> set[int]:
        """A flush with nothing to write (an engine with no open trade): a directory
        store is asked all the same whether its folder is still there, as a write asks
        it, so one deleted or moved away under it is taken back (or refused, as a flush
        is) the same cycle, with its ``engine.lock`` (store/folder.py)."""
        self.store_failures = {}
        if self.held_back:
            return set()
        try:
            store.in_place()
            if self.failures.failing is not None or not has_room(store):  # says it is over
                store.put_value(WRITE_CHECK, (self._now or datetime.now(UTC)).isoformat())
        except StoreError as exc:
            if exc.unavailable:
                return self._kept(exc)
            if self.failures.failing is None:
                raise
            self.failures.failed(
                "a check of the store's writes", str(exc), self._now, said=said_by_store(exc)
            )
            return set()
        self._taken_again(ended=has_room(store))
        return set()

    def _clear(self) -> None:
        self._records, self._states, self._history = {}, {}, []
        self._sealed = set()

    def _kept(self, exc: StoreError | None) -> set[int]:
        """The store refused the flush as a whole (``exc``; None: refused earlier in this
        hook, not asked again): everything stays marked. Said once per episode, with what
        the engine does meanwhile (the store says what it refused, store/outage.py)."""
        self.held_back = True
        self._stamped = {}
        if exc is not None:
            self.failures.failed("the cycle's writes", str(exc), self._now, said=True, told=True)
            if self.refusal is None:
                self.refusal = (str(exc), time.monotonic(), 1)
                self._log.warning(
                    "DTMS: the store refuses this engine's writes: its records, their states "
                    "and its action history stay in memory and are written once the store "
                    "takes them; no action is sent meanwhile, each waits for its journal "
                    "entry to be written first (said again when they are written)"
                )
            else:
                _, since, count = self.refusal
                self.refusal = (str(exc), since, count + 1)
        why = self.refusal[0] if self.refusal is not None else "the store refused a write"
        self.store_failures = {ticket: why for ticket in self._records}
        return set(self._records)

    def _taken_again(self, *, ended: bool = True) -> None:
        """A flush the store did not refuse as a whole: what was kept went to it with this
        one (a write it refuses on its own is counted in :attr:`failures`); the end of the
        episode is said, with its count. ``ended``: none of this flush's writes failed
        (state stamps alone, or the check of :meth:`in_place`, will do: a trade that is
        not armed writes no record for as long as it waits) and the store has room
        (:func:`has_room`), so an episode of failed writes is over too."""
        if ended:
            self.failures.went_through(self._now)
        if self.refusal is None:
            return
        _, since, count = self.refusal
        self.refusal = None
        flushes = "1 flush" if count == 1 else f"{count} flushes"
        self._log.warning(
            "DTMS: the store takes this engine's writes again, after refusing %s over %.0f s:"
            " what was kept for it went with this one",
            flushes,
            time.monotonic() - since,
        )

    def refused(self) -> StoreError | None:
        """The store's refusal of this hook's writes, to raise at its end (a live cycle
        whose writes did not go in fails, as one that cannot read the store does:
        docs/dtms.md §8), or None when they went in."""
        if not self.held_back or self.refusal is None:
            return None
        return StoreError(self.refusal[0], unavailable=True)

    def _one_by_one(
        self,
        store: StoreProtocol,
        records: dict[int, dict[str, Any] | Encoded],
        states: dict[datetime, dict[int, str | None]],
        history: list[dict[str, Any]],
    ) -> set[int]:
        """Trade by trade: a record with its own history entries in one transaction (so
        an entry that ended is never in the history without its record, or the reverse),
        then the state cache, then the history of trades not written above."""
        entries: dict[object, list[dict[str, Any]]] = defaultdict(list)
        for entry in history:
            entries[entry.get("ticket")].append(entry)
        failed: set[int] = set()
        for ticket, data in records.items():
            # taken out before the write: a refused record takes its entries with it, even
            # when the store refuses it at once rather than at the batch's commit
            own = entries.pop(ticket, [])
            try:
                with store.batch():
                    store.put_record(ticket, data)
                    store.append_actions(own)
            except StoreError as exc:  # counted in the episode the transaction began
                what = f"the record of trade {ticket}"
                self.failures.failed(what, str(exc), self._now, said=said_by_store(exc))
                failed.add(ticket)
                self.store_failures[ticket] = str(exc)
        for at, group in states.items():
            try:
                store.put_states(group, at)
            except StoreError as exc:
                what = f"the state cache of {len(group)} trades"
                self.failures.failed(what, str(exc), self._now, said=said_by_store(exc))
        for owner, rest in entries.items():
            try:
                store.append_actions(rest)
            except StoreError as exc:
                what = f"the action history of {owner}"
                self.failures.failed(what, str(exc), self._now, said=said_by_store(exc))
        return failed


def has_room(store: StoreProtocol) -> bool:
    """Whether a write that went through says the store takes writes again: not while
    the store's own episode of a full disk lasts (store/outage.py), since a nearly full
    database still takes a row rewritten in place (a state stamp, the write check),
    which would end the engine's episode and begin it again every cycle, lifting its
    veto of new entries for a cycle each time."""
    outage = getattr(store, "outage", None)
    return outage is None or not outage.disk_full()
