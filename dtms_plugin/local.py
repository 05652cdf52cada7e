"""The local strategy: the DTMS engine in-process, acting through the host's broker.

The engine is pure; this module is its edge. Per cycle it feeds each symbol's new closed
bars once to its indicators (warming up on first sight), evaluates every active trade and
executes the planned actions through ``host.execute``, the journal written first (pending
→ done / failed / unknown). A changed record is persisted, so a killed process resumes
with every state, deadline and journal entry; an action of unknown outcome is settled by
re-reading the broker before anything is re-sent. A hook's writes go to the store
together (:mod:`dtms_plugin.local_writes`): one transaction per cycle, one more on a
transition and one before every broker call.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from hookspecs import (
    Action,
    ActionKind,
    BrokerError,
    HostView,
    Quote,
    SeriesView,
    SymbolInfo,
    Trade,
)

from .account_claim import release_account
from .acted import Acted
from .blind_spots import BlindSpots
from .book import TradeBook
from .checks import Checks
from .dropped_actions import DroppedActions
from .engine import (
    AccountState,
    SignalSnapshot,
    TradeRecord,
    begin,
    evaluate,
    finish,
    hedge_closed,
    sync_position,
)
from .local_adoption import Adopting
from .local_answers import AccountAnswers
from .local_attention import Attention
from .local_claims import Claims
from .local_closes import Closes, Listing
from .local_commits import Commits
from .local_edges import MarketEdges
from .local_frozen import FrozenWaits
from .local_holds import HeldTransitions
from .local_isolation import Isolating
from .local_ledger import Ledger, Mark
from .local_midrun import MidRunAdoption
from .local_parts import balance_before, with_partial
from .local_reconcile import Reconciling
from .local_registering import Registering
from .local_settings_change import check_settings
from .local_settling import Settling
from .local_unmatched import Unmatched
from .local_waiting import HeldBlind, WaitingAtBroker
from .local_writes import ENDED, PendingWrites
from .position_match import its_close, reversed_at_broker
from .settings import DtmsSettings
from .store import StoreProtocol
from .store.location import open_store

if TYPE_CHECKING:  # numpy's, imported only by a replay (dtms_plugin.engine says why)
    from .engine import Indicators


class LocalStrategy(
    Claims,
    Registering,
    MarketEdges,
    AccountAnswers,
    Attention,
    Commits,
    Closes,
    Reconciling,
    Settling,
    Adopting,
    Ledger,
    MidRunAdoption,
    Isolating,
    WaitingAtBroker,
    FrozenWaits,
    Unmatched,
):
    """Implements :class:`dtms_plugin.strategy.Strategy` with the in-process engine."""

    name = "local"

    def __init__(
        self,
        settings: DtmsSettings,
        store: StoreProtocol | None = None,
        *,
        log: logging.Logger | None = None,
        adopt: bool = True,
    ) -> None:
        #: adopt open positions with no record at start-up (docs/dtms.md §8): a host's
        #: engine does; ``dtms serve`` does not, it manages what hosts register with it
        self.adopt = adopt
        self.settings = settings
        self.log = log or logging.getLogger("dtms_plugin.local")
        self._store = store
        self._owns_store = store is None
        self._account_lock: Path | None = None  # the account's engine lock, while held
        self._account_unread = False  # the broker could not give its account at start-up
        #: the account's ledger (dtms_plugin/account_ledger.py), once the account is known
        self._ledger: tuple[Path, str] | None = None
        self._ledger_ready = False
        self._ledger_marks: dict[int, tuple[Mark, Mark]] | None = None
        self._ledger_failing = 0
        self.book = TradeBook()
        self._writes = PendingWrites(self.book, self.log)
        self.indicators: dict[str, Indicators] = {}
        self._infos: dict[str, SymbolInfo] = {}
        self._account = AccountState(hedging=False)  # until the broker says otherwise
        self._recovered = False
        self._unknown_said: dict[tuple[int, str], int] = {}
        self._waiting_said: set[str] = set()  # unknown outcomes waiting on the server
        #: unknown outcomes held while the broker cannot list its waiting orders
        self._held_blind: dict[str, HeldBlind] = {}
        self._strays_watched = False  # positions watched for one to adopt mid-run
        self._strays: set[int] = set()  # ours, no record, at the last read (local_midrun)
        self._left_said: set[int] = set()  # other programs' positions said (local_adoption)
        self._frozen: dict[int, tuple[frozenset[str], int]] = {}  # waits said (local_frozen)
        #: ticket -> until when a trade the broker's word closed in a live run is watched for
        #: the broker listing it open again (:meth:`_reopen_listed`), positions read meanwhile
        self._comeback: dict[int, datetime] = {}
        self._listed_since: dict[int, Listing] = {}  # dtms serve: CLOSED, listed open
        #: ticket -> its failures in a row, the last error, and what failed (local_isolation)
        self.failing: dict[int, tuple[int, str, str]] = {}
        self._unconfirmed: dict[int, datetime] = {}  # gone from the list, not the history
        self._next_retention: datetime | None = None  # the next retention check
        self._stale: set[str] = set()  # symbols in a stale-data episode (logged once)
        self._closed_said: set[str] = set()  # in a closure as in earlier weeks (local_edges)
        #: symbol -> cycles its bars have failed in the current episode (logged once)
        self._bar_failures: dict[str, int] = {}
        #: symbol -> cycles its trades waited for its rules in this episode (logged once)
        self._rules_missing: dict[str, int] = {}
        self._read_failures: dict[str, int] = {}  # broker reads failing, logged once
        self._read_errors: dict[str, str] = {}  # and why, for dtms serve's /health
        #: symbol -> why its open trades were not evaluated last cycle (in /health)
        self.waiting: dict[str, str] = {}
        #: journal keys of closes whose retries ran out, logged once until they are done
        self._attention: set[str] = set()
        self.registered = 0  # trades registered this run, and those carried over
        self.carried = 0  # open trades of an earlier run, found at start-up
        #: tickets scored at least once this run, of those the book still holds (a closed
        #: trade leaves with its record); ``evaluated_count`` counts them all
        self.evaluated: set[int] = set()
        self.evaluated_count = 0
        self.problems: dict[str, int] = {}  # why trades went unevaluated: count of cycles
        self.blind = BlindSpots(settings, self.log)  # what the run worked without: its report
        #: its evaluations and scorings, counted and dated (the original's checks: checks.py)
        self.checks = Checks()
        self.dropped = DroppedActions(self.log)  # what the ladder owed and left undone
        self.holds = HeldTransitions(self.log)  # hedges the spread rail held back
        self.acted = Acted()  # what was done at the broker: trail moves, ladder actions
        self._fast = settings.fast.period
        self._signal = settings.signal.period
        #: cycles left before a simulated run commits its held writes; ``None``: every
        #: hook commits its own writes (live runs and ``dtms serve``)
        self._hold: int | None = None
        #: the account mode as last read, kept by a simulated replay (no other process
        #: writes its store) and read from the store on every question otherwise
        self._mode: tuple[tuple[datetime, str] | None] | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def records(self) -> dict[int, TradeRecord]:
        """Every record this process holds, by ticket (read it; write through the book)."""
        return self.book.records

    @property
    def store(self) -> StoreProtocol:
        if self._store is None:
            self._store = open_store(self.settings.store, self.settings.state_dir, self.log)
        return self._store

    async def startup(self, host: HostView) -> None:
        if host.mode == "simulated" and isinstance(host.market, SeriesView):
            # A simulated replay (``hostapp replay``, each run of an A/B) has a paper
            # account in memory and a fresh state folder (docs/architecture.md §5):
            # nothing can resume it, so its journal-first and state-cache commits protect
            # nothing, and they were most of its cost. Its writes go to the store
            # together every few hundred cycles and at shutdown, with the same content.
            self._hold_writes()
        else:  # one engine per store, and per account: a second would act twice
            self.store.claim_engine()
            try:
                self._claim_account(host)
            except BrokerError as exc:  # the recovery asks again before anything is done
                # said at INFO: the start-up recovery says at ERROR that the broker cannot answer
                self.log.info("DTMS: the account could not be read yet, so not locked: %s", exc)
                self._account_unread = True
        self._load_records()
        # open trades a restart carried over are this run's to manage: counted with the
        # ones it registers, so "evaluated N of M" never reads more evaluated than trades
        self.carried = sum(1 for rec in self.book.live() if rec.is_open)
        self.registered += self.carried
        self._watch_strays(host)
        check_settings(self.store, self.settings, self.book.live(), self.log)
        await self.recover(host, host.clock.now())

    async def shutdown(self, host: HostView) -> None:
        self.settle_rails(host)
        self.holds.finish()
        self._flush_last()
        release_account(self._account_lock)
        self._account_lock = None
        if self._owns_store and self._store is not None:
            self._store.close()
            self._store = None

    # ------------------------------------------------------------------ hooks

    def quiet_cycle(self, now: datetime) -> bool:
        if (
            not self._recovered
            or self._rails_due  # a close of this step: the rails judged in the cycle
            or self.book.has_live()
            or self._watching(now)
            or self._strays_due()  # a live run's positions: one may appear (local_midrun)
        ):
            return False
        self._writes.try_again()
        self._commit_cycle(now)  # nothing to watch: no broker round trip
        return True

    async def on_cycle(self, host: HostView, now: datetime) -> None:
        self.settle_rails(host)
        self._writes.try_again()
        if not self._recovered:
            await self.recover(host, now)
            if not self._recovered:
                return
        if self.quiet_cycle(now):  # nothing to watch (most bars of a replay): done
            self.waiting = {}
            return
        positions = self._read_positions(host)
        self._read_account(host)
        if positions is not None:  # dtms serve: a listing that lasts (local_closes)
            await self._reopen_listed(host, positions, now)
            self._adopt_strays(host, positions, now)
        live = self.book.live()
        by_ticket = {p.ticket: p for p in positions} if positions is not None else None
        by_symbol: dict[str, list[TradeRecord]] = defaultdict(list)
        for rec in live:
            by_symbol[rec.symbol].append(rec)
        waiting: dict[str, str] = {}
        for symbol, recs in by_symbol.items():
            ind = self._bars(host, symbol, now)
            snap = ind.snapshot() if ind is not None else None
            if snap is None:
                why = f"no closed {self.settings.fast.value} bar of {symbol} yet"
                self.problems[why] = self.problems.get(why, 0) + 1
                waiting[symbol] = why
            stale = self._note_stale(host, symbol, snap, now)
            if stale is not None or symbol in self._bar_failures:
                waiting[symbol] = stale or f"bars for {symbol} unavailable"
            info = self._info(host, symbol)
            if info is None:  # said once per episode (MarketEdges.no_rules)
                waiting[symbol] = self._no_rules(symbol)
                continue
            self._rules_back(symbol, "are back")
            quote = self._quote(host, symbol)
            for rec in recs:
                if rec.ticket not in self.records:
                    continue  # let go meanwhile (a replica's lease lost, docs/scaling.md)
                step = self._process(host, rec, snap, quote, info, positions, by_ticket, now)
                await self._isolated(rec.ticket, step)  # its failure is its own
        for symbol in [s for s in self._rules_missing if s not in by_symbol]:
            self._rules_back(symbol, "are no longer needed (its trades closed)")
        self.waiting = waiting
        self.holds.sweep(self.records)
        self.checks.keep(self.records)
        self._refresh_states(now)
        self.settle_rails(host)  # a part this cycle realised
        self._commit_cycle(now)

    async def on_trade_closed(self, host: HostView, trade: Trade, reason: str) -> None:
        now = host.clock.now()
        self._writes.try_again()
        parent = self.book.parent_of_closed_hedge(trade.ticket)
        if parent is not None:
            self._persist(hedge_closed(parent, trade), now)
            self._flush()
            self._rails_due_now()  # its result is its day's (docs/dtms.md §7)
            return
        rec = self.records.get(trade.ticket)
        if rec is not None:
            await self._closed(host, rec, trade, reason, now)
            self.holds.sweep(self.records)

    # ------------------------------------------------------------------ one trade

    async def _process(
        self,
        host: HostView,
        rec: TradeRecord,
        snap: SignalSnapshot | None,
        quote: Quote | None,
        info: SymbolInfo,
        positions: list[Trade] | None,
        by_ticket: dict[int, Trade] | None,
        now: datetime,
    ) -> None:
        gone = False
        if positions is not None and by_ticket is not None:
            rec = self._settle(host, rec, by_ticket, positions, now)
            pos = by_ticket.get(rec.ticket)
            gone = pos is None
            closed = its_close(rec, self._close_in_history(host, rec.ticket)) if gone else None
            seen = pos if pos is not None else closed[0] if closed is not None else None
            if seen is not None and await self._never_matched(host, rec, seen, now):
                return  # registered before the broker gave its ticket to another position
            if closed is not None and rec.is_open and self._records_close(closed[1], rec):
                await self._closed(host, rec, *closed, now)  # its stop, say, hit since
                return  # the host's look (dtms serve: a client's exit waits for its report)
            if gone and self._held_unconfirmed(host, rec.ticket, now, closed is not None):
                return  # not listed, not closed in the history either (yet)
            self._unconfirmed.pop(rec.ticket, None)
            if pos is not None and reversed_at_broker(rec, pos):
                await self._reversed(host, rec, pos, now)
                return
            if pos is not None:
                rec = sync_position(rec, pos)
        e = evaluate(rec, snap, quote, now, self.settings, info, self._account, position_gone=gone)
        if e.dropped:
            self.dropped.add(rec.ticket, e.dropped)
        # the engine hands back the very record it was given when nothing moved, so an
        # identity test tells "changed" without comparing 35 fields (and the journal)
        changed = e.record is not self.records.get(rec.ticket)
        if rec.is_open:  # a closed one is looked at only for what it still owes
            self.checks.saw(rec.ticket, now, scored=e.score is not None)
        # a hedge held back: said once per episode, kept on the record (local_holds)
        rec = self.holds.seen(e.record, e.why, now, scored=e.score is not None)
        changed = changed or rec is not e.record
        self._note_frozen(rec, [a.kind for a in e.actions], quote, info)
        if self._attention:  # a close that kept failing and is owed no more: said
            self._settle_attention(rec.ticket, "the position went", rec.owed)
        if e.score is not None:
            self.blind.scored(e.score, snap)
            if rec.ticket not in self.evaluated:
                self.evaluated.add(rec.ticket)
                self.evaluated_count += 1
        if changed:
            self._persist(rec, now, e.score)
        if e.transition is not None:
            old, new = e.transition
            if gone:  # dated by the engine: the broker keeps no close of it (yet)
                self._watch_comeback(host, rec.ticket, now)
            # the host logs the transition it is told of below, with this reason: once
            self.log.debug("DTMS %s: %s", rec.ticket, e.reason)
            self._put_state(rec, now)
            self._flush()  # docs/dtms.md §8: the state cache at once on a transition
            details = e.score.to_json() if e.score is not None else {}
            await host.report_state_change(rec.ticket, old, new, e.reason, details)
        for action in e.actions:
            self.blind.sent(action, snap)
            rec = await self._execute(host, rec, action, now)

    async def _execute(
        self, host: HostView, rec: TradeRecord, action: Action, now: datetime
    ) -> TradeRecord:
        pending = begin(rec, action, now)
        self._persist(pending, now)
        if rec.ticket in self._flush():
            self.book.put(rec)  # journal first: unsent, its entry would read as unknown
            return rec
        before = balance_before(host, action, self.log)  # a partial close's result: §7
        result = await host.execute(action)
        self.acted.done(action, result, evaluated=rec.ticket in self.evaluated)
        rec = finish(pending, action, result, now, self.settings)
        rec = with_partial(host, rec, action, result, before, now, self.log)
        self._persist(rec, now)
        entry = rec.entry(action.key)
        if entry is not None and entry.status in ENDED:  # an unknown one: when settled
            self._writes.action(action, result, now)
        # the result and its history entry go with the next flush, together: before the
        # next broker call, transition or the end of the hook. A crash before it leaves
        # the entry pending, which recovery settles from the broker (docs/dtms.md §8).
        self._tell_attention(rec, action.key)
        if result.ok and action.kind is ActionKind.RE_ADD and result.new_ticket:
            added = self._position(host, result.new_ticket)
            if added is not None:
                await self.on_trade_executed(host, added)
        if rec.realised_parts != pending.realised_parts:  # a part realised: §7's rail
            self._rails_due_now()
        return rec
