"""The local strategy's side of the account's ledger (:mod:`dtms_plugin.account_ledger`):
the records of the trades that still need the engine (open, or CLOSED with a close or
a hedge's close owed) written beside the account whenever what DTMS did to them changed,
and, at the start-up recovery, those whose position or hedge is still open taken up from
it when this store has none of them (a switched ``store``, a lost folder) or only older
ones (switched back: the other store defended them since), before anything is adopted
afresh or acted on (docs/dtms.md §8, docs/scaling.md "Switching the store").
:class:`Ledger` is a mixin of :class:`dtms_plugin.local.LocalStrategy`, whose ``__init__``
sets the attributes declared here.

Why: adopted afresh, a trade walked the ladder again (a second partial close, a second
hedge); read from a stale store, it was hedged a second time, its first hedge left open;
left out for being CLOSED while its close was owed, its still-open position was adopted
afresh, its decision to close lost (a ladder or a flat deadline started over, the
position and its hedge left open).
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hookspecs import AccountInfo, DataError, Trade

from .account_ledger import ledger_path, read_ledger, write_ledger
from .book import TradeBook
from .engine import JournalStatus, TradeRecord
from .engine.record import TRAIL_MARK
from .local_adoption import left_in_folder
from .position_match import is_hedge, same_trade
from .settings import DtmsSettings
from .store import StoreProtocol

#: what the ledger compares of a record to tell whether it must be written again
Mark = tuple[Any, ...]


def mark(rec: TradeRecord) -> Mark:
    """What of ``rec`` a store switch must not lose, written at once (before a broker
    call too): its state, its deadlines, what was done to the position and the actions
    not yet settled. A trailing stop's moves are not in it (they go with the cycle's
    last write, :func:`detail`): a move sent again only tightens what is there."""
    unsettled = tuple(
        (e.key, e.status)
        for e in rec.journal
        if e.status in (JournalStatus.PENDING, JournalStatus.UNKNOWN) and TRAIL_MARK not in e.key
    )
    return (
        rec.state, rec.seq, rec.armed, rec.volume, rec.closed_volume, rec.hedge_ticket,
        rec.hedge_volume, rec.flat_deadline, rec.recovery_deadline, rec.owed, rec.r, unsettled,
        rec.re_added_closed,
    )  # fmt: skip


def detail(rec: TradeRecord) -> Mark:
    """The rest of what the ledger keeps up to date, once a hook: the stop and target,
    and the journal's newest entry."""
    last = rec.journal[-1] if rec.journal else None
    newest = None if last is None else (last.key, last.status, last.attempts)
    return (rec.stop_loss, rec.take_profit, len(rec.journal), newest)


def done_text(rec: TradeRecord) -> str:
    """What DTMS did to the trade, as the take-up WARNING says it: the state, its hedge,
    the actions done (in order, each once) and the volume a partial close left."""
    done = list(dict.fromkeys(e.kind.value for e in rec.journal if e.status is JournalStatus.DONE))
    text = f"{rec.ticket} {rec.state.value}"
    if rec.hedge_ticket is not None:
        text += f" with hedge {rec.hedge_ticket}"
    parts = [f"done: {', '.join(done)}"] if done else []
    if rec.closed_volume > 0.0:
        parts.append(f"volume {rec.initial_volume:g} → {rec.volume:g}")
    return f"{text} ({'; '.join(parts)})" if parts else text


def at_broker(rec: TradeRecord, pos: Trade | None, listed: dict[int, Trade]) -> bool:
    """Whether the broker still lists what ``rec`` defends: its own position (the same
    trade, not another under a reused ticket), or its hedge by the ticket the record keeps
    (on its symbol, the other side). A trade CLOSED whose close, or whose hedge's close,
    is owed (a market shut, a freeze level) still has one of them open, and taken up it
    closes it; adopted afresh instead, its decision to close was lost (docs/dtms.md §8)."""
    if pos is not None and same_trade(rec, pos):
        return True
    hedge = None if rec.hedge_ticket is None else listed.get(rec.hedge_ticket)
    return hedge is not None and hedge.symbol == rec.symbol and hedge.direction != rec.direction


def same_position(mine: TradeRecord, rec: TradeRecord) -> bool:
    """Whether two records of one ticket are of the same trade (:func:`same_trade`'s
    fields), not of two that a broker reusing tickets gave it in turn."""
    return same_trade(mine, Trade(
        rec.ticket, rec.symbol, rec.direction, rec.volume, rec.entry_price, rec.stop_loss,
        rec.take_profit, rec.opened_at,
    ))  # fmt: skip


class Ledger:
    settings: DtmsSettings
    log: logging.Logger
    book: TradeBook
    adopt: bool
    registered: int
    _hold: int | None
    #: the account's ledger and identity, once the account is known (a host's engine)
    _ledger: tuple[Path, str] | None
    _ledger_ready: bool  # taken up from at the start-up recovery: written from then on
    #: per trade kept (:meth:`TradeBook.live`), its :func:`mark` and :func:`detail` as last
    #: written (None: not yet)
    _ledger_marks: dict[int, tuple[Mark, Mark]] | None
    _ledger_failing: int  # writes failed in a row (said once per episode)

    if TYPE_CHECKING:  # the strategy's own properties and methods

        @property
        def records(self) -> dict[int, TradeRecord]: ...

        @property
        def store(self) -> StoreProtocol: ...

        def _persist(self, rec: TradeRecord, now: datetime) -> None: ...

        def _put_state(self, rec: TradeRecord, now: datetime) -> None: ...

    def _open_ledger(self, account: AccountInfo) -> None:
        """The ledger of ``account``: a host's live engine keeps one (``dtms serve``
        adopts nothing, its hosts register their trades again; a simulated run's account
        lives in its memory)."""
        path = ledger_path(account)
        if self.adopt and self._hold is None and path is not None:
            self._ledger = (path, account.identity)

    def _store_name(self) -> str:
        """This store as the ledger names it: its folder, or its URL (password masked)."""
        folder = getattr(self.store, "directory", None)
        if folder is not None:
            return str(Path(folder).resolve())
        return str(getattr(self.store, "location", ""))

    def _take_up(self, positions: list[Trade], now: datetime) -> None:
        """The start-up recovery's first step: each record the ledger keeps whose position,
        or hedge, the broker still lists (:func:`at_broker`), when this store has no
        record of it or, written by another store, an older one, in force again as it was
        left (its pending actions are then settled from the broker, its volume and stop
        synced, its owed close or hedge's close done, as for any record loaded). Said in
        one WARNING. The ledger is written from then on, never before (the store's older
        records would replace the ledger's)."""
        if self._ledger is None or self._ledger_ready:
            return
        path, identity = self._ledger
        self._ledger_ready = True
        try:
            entries = read_ledger(path, identity)
        except (OSError, ValueError) as exc:
            self.log.warning("DTMS: the account's ledger %s could not be read: %s", path, exc)
            return
        here = self._store_name()
        empty = not self.records
        listed = {p.ticket: p for p in positions}
        taken: list[tuple[TradeRecord, str]] = []
        replaced: list[int] = []
        for ticket, (writer, data) in entries.items():
            pos = listed.get(ticket)
            if pos is not None and is_hedge(pos):
                continue
            rec = self._ledger_record(ticket, data)
            if rec is None or not rec.active or not at_broker(rec, pos, listed):
                continue
            mine = self.records.get(ticket)
            if mine is not None and not same_position(mine, rec):
                continue  # a reused ticket's closed record: adoption archives it
            if mine is not None:
                if writer == here or mine.seq > rec.seq:
                    continue  # this store's record is the newer
                if (mark(mine), detail(mine)) == (mark(rec), detail(rec)):
                    continue  # nothing was done to it from the other store
                replaced.append(ticket)
            else:
                self.registered += 1
            self._persist(rec, now)
            self._put_state(rec, now)
            taken.append((rec, writer))
        if taken:  # an empty Redis store: what the folder still holds said too
            left = left_in_folder(self.settings) if empty else ""
            self._said_taken_up(path, here, taken, replaced, left)

    def _ledger_record(self, ticket: int, data: dict[str, Any]) -> TradeRecord | None:
        """The record of ``ticket`` the ledger keeps; ``None`` (said) when it cannot be read
        (written by a later version, edited by hand): the position is then adopted."""
        try:
            return TradeRecord.from_json(data)
        except (DataError, ValueError, KeyError, TypeError) as exc:
            self.log.warning(
                "DTMS %s: its entry in the account's ledger is unreadable: %s", ticket, exc
            )
            return None

    def _said_taken_up(
        self,
        path: Path,
        here: str,
        taken: list[tuple[TradeRecord, str]],
        replaced: list[int],
        left: str,
    ) -> None:
        writers = sorted({w for _, w in taken})
        by = ", ".join(
            "this store (which has lost them since)" if w == here else f"the store in {w}"
            for w in writers
        )
        line = (
            f"DTMS: {len(taken)} open trades taken up from the account's ledger {path} as "
            f"{by} left them, not adopted afresh, so no defensive action done there is "
            f"done again: {', '.join(done_text(rec) for rec, _ in taken)}"
        )
        if replaced:
            line += (
                f"; this store's own records of {', '.join(map(str, replaced))} were older "
                "(the account was defended from another store since) and are replaced"
            )
        self.log.warning("%s%s", line, left)

    def _note_ledger(self, *, last: bool = False) -> None:
        """The ledger written again when what DTMS did to a trade it keeps changed (after
        a store write: before a broker call too, its pending journal entry included), and
        at the ``last`` write of a hook when only a stop or the journal's newest entry
        did. It keeps every record that still needs the engine (:meth:`TradeBook.live`:
        open, or CLOSED with its close or its hedge's close owed); one CLOSED with nothing
        owed leaves it. A ledger that cannot be written is said once per episode: a
        switch of store, or a lost folder, then adopts those trades afresh."""
        if self._ledger is None or not self._ledger_ready:
            return
        kept = {rec.ticket: rec for rec in self.book.live()}
        before = self._ledger_marks
        marks = {t: (mark(rec), detail(rec)) for t, rec in kept.items()}
        if before is not None and marks.keys() == before.keys():
            if last and marks == before:
                return
            if not last and all(marks[t][0] == before[t][0] for t in marks):
                return
        path, identity = self._ledger
        try:
            records = {t: rec.to_json() for t, rec in kept.items()}
            write_ledger(path, identity, self._store_name(), records)
        except OSError as exc:
            if not self._ledger_failing:
                self.log.warning(
                    "DTMS: the account's ledger %s could not be written (%s): a switch of "
                    "store or a lost state folder would adopt the open trades afresh", path, exc,
                )  # fmt: skip
            self._ledger_failing += 1
            return
        if self._ledger_failing:
            self.log.warning(
                "DTMS: the account's ledger %s written again (%d writes failed)",
                path, self._ledger_failing,
            )  # fmt: skip
            self._ledger_failing = 0
        self._ledger_marks = marks
