"""The local strategy's answers about the account and its trades (``is_defensive``,
``allow_order``, the run report) and the account rails it keeps. Split from
:mod:`dtms_plugin.local` so each file reads on its own; :class:`AccountAnswers` is a mixin
of :class:`dtms_plugin.local.LocalStrategy`, whose ``__init__`` sets the attributes
declared here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hookspecs import BrokerError, HostView, OrderRequest, Veto
from hookspecs.events import FOR_TERMINAL

from . import defensive
from .acted import Acted
from .blind_spots import BlindSpots
from .book import TradeBook
from .dropped_actions import DroppedActions
from .engine import AccountState, ClosedTrade, TradeRecord, check_account
from .local_frozen import closes_owed
from .local_holds import HeldTransitions
from .local_write_failures import said_by_store
from .local_writes import PendingWrites, has_room
from .settings import DtmsSettings
from .store import StoreError, StoreProtocol
from .store.closes import Close, SharedCloses


class AccountAnswers:
    name: str
    settings: DtmsSettings
    log: logging.Logger
    book: TradeBook
    registered: int
    carried: int
    evaluated_count: int
    problems: dict[str, int]
    blind: BlindSpots
    dropped: DroppedActions
    holds: HeldTransitions
    acted: Acted
    _account: AccountState
    _hold: int | None
    _mode: tuple[tuple[datetime, str] | None] | None
    #: cycles in a row that could not read the account mode (the store out of reach)
    _mode_unread: int = 0
    _writes: PendingWrites
    #: an account mode the rails called for that the store could not take (until,
    #: reason): it holds all the same, from memory, until it ends or the store takes it
    _mode_unstored: tuple[datetime, str] | None = None
    #: a result realised since the rails were last judged (:meth:`_rails_due_now`)
    _rails_due: bool = False

    if TYPE_CHECKING:  # the strategy's own properties

        @property
        def records(self) -> dict[int, TradeRecord]: ...

        @property
        def store(self) -> StoreProtocol: ...

    def is_defensive(self, host: HostView, ticket: int) -> bool:
        """docs/dtms.md §9 without I/O: account mode from the store, then the engine's own record
        (this process is the authority for its trades, so its answer never goes stale
        between cycles), then the store's cached state for a ticket this process does
        not hold."""
        now = host.clock.now()
        if defensive.account_defensive(self._account_mode(), now):
            return True
        rec = self.records.get(ticket)
        if rec is not None:  # a trade whose close is still owed is DTMS's to close
            return rec.closing or (rec.is_open and rec.state.defensive)
        return defensive.answer(self.store, ticket, now, self.settings)[0]

    def allow_order(self, host: HostView, order: OrderRequest) -> Veto | None:
        self.settle_rails(host)
        now = host.clock.now()
        mode = self._account_mode()
        if mode is not None and defensive.account_defensive(mode, now):
            return defensive.account_mode_veto(mode)
        # a new trade it could not record nor defend
        failing = self._writes.failures.veto(disk_full=not has_room(self.store))
        if failing is not None:
            return failing
        hedged = self.book.hedged_on(order.symbol)
        if hedged is not None:
            return defensive.hedged_symbol_veto(order.symbol, hedged.ticket)
        return None

    def report(self) -> dict[str, Any]:
        """The run's account of this engine (the ``run_report`` hook): how many trades it
        evaluated, and, when some never were, the reasons it met, in words; the trailing
        stop's moves apart from the ladder's actions (the trail needs no arming, so its
        moves are work of DTMS's on trades it may never have evaluated: ``activity``
        counts them too)."""
        out: dict[str, Any] = {
            "strategy": self.name,
            "timeframes": {"fast": self.settings.fast.value, "signal": self.settings.signal.value},
            "trades": self.registered,
            "evaluated": self.evaluated_count,
            "activity": self.evaluated_count + self.acted.trail_moves,
            **self.acted.counts(),
        }
        if self.carried:
            out["carried_over"] = self.carried
        blind = self.blind.summary()
        said = blind.pop("note")
        out.update(blind)
        notes = []
        if getattr(self.store, "opened_as", "") == "damaged":  # its history is elsewhere now
            kept = getattr(self.store, "kept_aside", None)
            notes.append(
                f"DTMS found its store damaged at start-up: kept aside at {kept} (its "
                "records and action history are there), started empty"
            )
        never = self.registered - self.evaluated_count
        if never or self.problems:  # trades never evaluated, or cycles that waited: why
            waited = "; ".join(
                f"{r} ({n} cycle{'' if n == 1 else 's'})" for r, n in sorted(self.problems.items())
            )
            rest = "they" if not self.evaluated_count else f"the other {never:,}"
            arming = self.settings.arming
            unarmed = (
                f"{rest} closed, or the run ended, before arming (arming: {arming.age_bars:g} "
                f"{self.settings.fast.value} bars' time on the calendar, weekends included, "
                f"+{arming.profit_r:g}R or {arming.loss_r:g}R)"
            )
            why = ", or waited: ".join(filter(None, [unarmed if never else "", waited]))
            if not never:
                why = f"cycles waited: {waited}"
            done = f"{self.evaluated_count:,} of {self.registered:,} trades"
            if self.carried:
                done += f" ({self.carried:,} of them open since the run before)"
            notes.append(f"DTMS evaluated {done}: {why}")
        if said:
            notes.append(f"{'it' if notes else 'DTMS'} {said}")
        trailed = self.acted.note()
        if trailed is not None:
            notes.append(trailed if notes else f"DTMS's {trailed.removeprefix('its ')}")
        dropped = self.dropped.note()
        if dropped is not None:
            out["dropped_actions"] = self.dropped.counts()
            notes.append(f"{'it' if notes else 'DTMS'} {dropped}")
        held = self.holds.note()
        if held is not None:  # a hold leaves the trade as it was: said, or it left no trace
            out["hedges_held_back"] = self.holds.counts()
            notes.append(f"{'it' if notes else 'DTMS'} {held}")
        owed = closes_owed(self.book.live())
        if owed:  # CLOSED is DTMS's decision; the position is closed only once it is done
            out["closes_owed"] = owed
            notes.append(
                f"{'it' if notes else 'DTMS'} closed {len(owed)} trades whose close is owed, "
                f"not done: their positions are still open at the broker (tickets "
                f"{', '.join(map(str, owed))})"
            )
        failed = self._writes.failures.report()
        if failed is not None:  # the store failed writes: said in words (docs/dtms.md §8)
            out["store_write_failures"], words = failed
            notes.append(words if notes else f"DTMS's {words.removeprefix('its ')}")
        if notes:
            out["note"] = "; and ".join(notes)
        warning = self.blind.warning()
        if warning is not None:
            out["warning"] = warning
        return out

    def _account_mode(self) -> tuple[datetime, str] | None:
        """The account's defensive mode (until, reason) from the store, or the one the
        store could not take when it lasts longer (a mode the store cannot write holds as
        one it cannot read does); a simulated replay keeps what it read until it writes a
        new one (asked on every order)."""
        if self._mode is not None:
            mode = self._mode[0]
        else:
            mode = self.store.get_account_mode()
            if self._hold is not None:
                self._mode = (mode,)
        kept = self._mode_unstored
        if kept is not None and (mode is None or mode[0] < kept[0]):
            return kept
        return mode

    def _store_kept_mode(self, now: datetime) -> None:
        """The account mode the store could not take, written now if it still lasts (and
        forgotten when it ended, or when the store holds one as long): once it is in the
        store, every reader of the store (dtms serve, a dashboard, a restart) sees it."""
        kept = self._mode_unstored
        if kept is None:
            return
        if not defensive.account_defensive(kept, now):
            self._mode_unstored = None
            return
        try:
            self.store.put_account_mode(*kept)
        except StoreError as exc:
            self._writes.failures.failed("the account mode", str(exc), now, said=said_by_store(exc))
            return
        self._mode_unstored = None
        self._mode = None  # read back (as stored) when next asked
        self.log.warning(
            "DTMS account defensive mode until %s stored now (held from memory meanwhile)",
            kept[0].isoformat(),
        )

    def _refresh_account(self, host: HostView) -> None:
        """What the engine is told of the account for this cycle: hedging or netting, and
        whether it is in defensive mode, where the ladder opens no re-add (new exposure,
        docs/dtms.md §7). A mode the store cannot tell counts as defensive."""
        self._account_mode_for(host, host.broker.account().hedging)

    def _account_mode_for(self, host: HostView, hedging: bool) -> None:
        """:meth:`_refresh_account` with the account's margin mode as read (the last one
        known, when the broker cannot answer): the defensive mode is the store's, or the
        one it could not take (written now, when it takes it)."""
        self._store_kept_mode(host.clock.now())
        try:
            mode = self._account_mode()
        except StoreError as exc:  # a store out of reach: said once per episode
            self._mode_unread += 1
            level = logging.ERROR if self._mode_unread == 1 else logging.DEBUG
            self.log.log(level, "DTMS account mode unreadable, counted as defensive: %s", exc)
            self._account = AccountState(hedging=hedging, defensive=True)
            return
        if self._mode_unread:
            self.log.warning(
                "DTMS account mode read again, after %d cycles that could not read it",
                self._mode_unread,
                extra={FOR_TERMINAL: True},  # where its ERROR was read
            )
            self._mode_unread = 0
        on = defensive.account_defensive(mode, host.clock.now())
        self._account = AccountState(hedging=hedging, defensive=on)

    def _rails_due_now(self) -> None:
        """A result was realised (a close, a partial, a hedge's close), or the engine
        started (what closed while it was down): the account rails are judged before the
        next order is allowed, at the next cycle and at shutdown (:meth:`settle_rails`),
        once every close of the step is in. Judged at each close, the closes of one bar
        counted in the order they were reported, which is the order of the symbols'
        files: a stop at a loss reported before another trade's stop in profit made a
        streak, reported after it none, and the same files replayed in another order
        traded otherwise. ``is_defensive`` does not judge them (it answers from memory,
        hookspecs): it is asked after the orders of a step."""
        self._rails_due = True

    def settle_rails(self, host: HostView) -> None:
        """The account rails judged now, if a result was realised since they last were;
        still owed when they could not be (the broker or the store out of reach)."""
        if not self._rails_due:
            return
        try:
            judged = self._account_rails(host, host.clock.now())
        except StoreError as exc:  # the account mode unreadable: judged again next time
            self.log.error("DTMS account rails not checked: %s", exc)
            return
        self._rails_due = not judged

    def _account_rails(self, host: HostView, now: datetime) -> bool:
        """Judge the rails (:func:`~dtms_plugin.engine.check_account`) and store the mode
        they call for; False when the broker could not give the balance."""
        try:
            balance = host.broker.account().balance
        except BrokerError as exc:
            self.log.error("DTMS account rails not checked: %s", exc)
            return False
        since = now.replace(hour=0, minute=0, second=0, microsecond=0)
        # and the trades without a result yet: their partial closes' and hedges' results
        # are realised already, and a re-add's trade still open is not closed (§7)
        unclosed = [rec for rec in self.book.live() if rec.realised_profit is None]
        records = [*self._recent_closes(since), *unclosed]
        mode = check_account(records, balance, now, self.settings)
        if mode is None:
            return True
        current = self._account_mode()
        if current is None or current[0] < mode.until:
            self.log.warning(
                "DTMS account defensive mode until %s: %s", mode.until.isoformat(), mode.reason
            )
            try:
                self.store.put_account_mode(mode.until, mode.reason)
                self._mode = None  # read back (as stored) when next asked
                self._mode_unstored = None
            except StoreError as exc:  # held from memory, written when the store takes it
                self._mode_unstored = (mode.until, mode.reason)
                self._writes.failures.failed(
                    "the account mode", str(exc), now, said=said_by_store(exc)
                )
                self.log.warning(
                    "DTMS account defensive mode until %s holds from memory: the store did "
                    "not take it (written when it does)",
                    mode.until.isoformat(),
                )
        return True

    def _recent_closes(self, since: datetime) -> Iterable[ClosedTrade]:
        """What the account rails read: the book's closes when this engine holds the
        whole account (a directory store); with replicas on Redis, the account's closes
        the store keeps, whichever replica closed them (docs/scaling.md, "The account
        rails"), and this engine's own that the store could not take (a failed write,
        which counts on one server too). Unreadable, the rails judge the book's alone."""
        streak = self.settings.rails.stop_streak
        own = self.book.recent_closed(since, streak)
        store = self.store
        if not isinstance(store, SharedCloses):
            return own
        try:
            shared = store.recent_closes(since, streak)
        except StoreError as exc:
            self.log.error("DTMS account rails judged on this engine's closes alone: %s", exc)
            return own
        closes: dict[tuple[int, datetime], TradeRecord | Close] = {}
        for rec in own:
            closes[(rec.ticket, rec.opened_at)] = rec
        closes.update(((c.ticket, c.opened_at), c) for c in shared)
        return sorted(closes.values(), key=_close_order)


def _close_order(close: TradeRecord | Close) -> tuple[datetime, int]:
    """The book's order of closes (close time, then ticket)."""
    assert close.closed_at is not None  # both sources hold closes only
    return close.closed_at, close.ticket
