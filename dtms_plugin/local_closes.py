"""The local strategy's closes: a trade closed on the broker's word or a host's (a client's)
report, and a CLOSED trade whose position the broker lists open again, reopened and
defended (docs/dtms.md §8). Split from :mod:`dtms_plugin.local` and
:mod:`dtms_plugin.local_reconcile` so each file reads on its own; :class:`Closes` is a
mixin of :class:`dtms_plugin.local.LocalStrategy`, whose ``__init__`` sets the
attributes declared here.

Why a close is not always the end: a terminal that answered one read with no positions,
and a host that took it at its word, or a client that reported a close by mistake, ended
the defence of a position still open, and the result recorded was the report's, not the
broker's: the account rails counted a win the broker booked as a loss.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from hookspecs import (
    UNCONFIRMED_CLOSE_SECONDS,
    Action,
    ActionKind,
    DefensiveState,
    HostView,
    Quote,
    SymbolInfo,
    Trade,
)

from .dropped_actions import DroppedActions
from .engine import (
    AccountState,
    JournalStatus,
    ScoreBreakdown,
    TradeRecord,
    close_record,
    evaluate,
)
from .position_match import same_trade
from .settings import DtmsSettings


@dataclass
class Listing:
    """``dtms serve``: the broker's listing of a CLOSED record's position open, since
    when, in how many reads, the time of the first quote of its symbol then, and whether
    waiting for a fresh quote was said (:meth:`Closes._listed_long_enough`)."""

    since: datetime
    reads: int
    quote_at: datetime | None
    said: bool = False


class Closes:
    settings: DtmsSettings
    log: logging.Logger
    adopt: bool
    dropped: DroppedActions
    _account: AccountState
    _fast: timedelta
    #: ticket -> until when a trade closed in a live run is watched for the broker
    #: listing it open again (a cycle with nothing else to watch reads positions)
    _comeback: dict[int, datetime]
    #: ticket -> the broker's listing of the position of a CLOSED record open
    #: (``dtms serve``: reopened once it lasted :data:`UNCONFIRMED_CLOSE_SECONDS` and is
    #: fresh: :meth:`_listed_long_enough`)
    _listed_since: dict[int, Listing]

    if TYPE_CHECKING:  # the strategy's own properties and methods

        @property
        def records(self) -> dict[int, TradeRecord]: ...

        def _persist(
            self, rec: TradeRecord, now: datetime, score: ScoreBreakdown | None = None
        ) -> None: ...

        def _flush(self, *, force: bool = False) -> set[int]: ...

        def _put_state(self, rec: TradeRecord, now: datetime) -> None: ...

        def _settle_attention(
            self, ticket: int, why: str, owed: tuple[ActionKind, ...] = ()
        ) -> None: ...

        def _info(self, host: HostView, symbol: str) -> SymbolInfo | None: ...

        def _quote(self, host: HostView, symbol: str) -> Quote | None: ...

        async def _execute(
            self, host: HostView, rec: TradeRecord, action: Action, now: datetime
        ) -> TradeRecord: ...

        def _rails_due_now(self) -> None: ...

        async def _isolated(
            self, ticket: int, step: Awaitable[None], what: str = "cycle"
        ) -> bool: ...

    async def _closed(
        self,
        host: HostView,
        rec: TradeRecord,
        trade: Trade,
        reason: str,
        now: datetime,
        when: str = "",
        *,
        result: bool = True,
    ) -> None:
        """The broker closed ``rec``'s trade: CLOSED, said (``when``: a few words on when,
        for a close the host did not see), its hedge closed, the account rails checked.
        ``result`` False: a record that was never its ticket's position
        (:mod:`.local_unmatched`) keeps no result but its hedges' (None without one)."""
        self._settle_attention(rec.ticket, reason)
        self._watch_comeback(host, rec.ticket, now)
        rec, transition = close_record(rec, trade, reason, now)
        if not result:
            rec = rec.evolve(realised_profit=rec.hedge_profit or None, close_price=None)
        self._persist(rec, now)
        self._put_state(rec, now)
        self._flush()  # the state cache at once, before anyone is told
        if transition is not None:
            await host.report_state_change(
                rec.ticket, transition[0], transition[1], f"position closed ({reason}){when}"
            )
        if rec.owed:  # its hedge: close it now
            info = self._info(host, rec.symbol)
            if info is not None:
                quote = self._quote(host, rec.symbol)
                e = evaluate(rec, None, quote, now, self.settings, info, self._account)
                self.dropped.add(rec.ticket, e.dropped)
                rec = e.record
                self._persist(rec, now)
                for action in e.actions:
                    rec = await self._execute(host, rec, action, now)
                self._flush()
        self._rails_due_now()

    def _watch_comeback(self, host: HostView, ticket: int, now: datetime) -> None:
        """Watch ``ticket``, just closed on the broker's word, for one fast bar: a live
        terminal that answered one read with no positions may list it again (a simulated
        broker's closes are its own and final)."""
        if host.mode != "simulated":
            self._comeback[ticket] = now + self._fast

    def _watching(self, now: datetime) -> bool:
        """Whether a trade the broker's word closed is still watched for a comeback (for
        one fast bar after its close, that cycle included, in a live run)."""
        if self._comeback:
            self._comeback = {t: until for t, until in self._comeback.items() if until >= now}
        return bool(self._comeback)

    async def _reopen_listed(self, host: HostView, positions: list[Trade], now: datetime) -> None:
        """docs/dtms.md §8: a position the broker lists open again whose record is CLOSED,
        reported closed (a terminal that answered one read with no positions at all, a
        client's report) or found gone, and not by DTMS's own close. With the same
        opening and entry it is the same trade: its record comes back to HEALTHY (a new
        state entry, its R, journal and hedge results kept, a hedge close still owed kept
        owed) and is defended again, said at WARNING. Another opening or entry under the
        ticket is another trade, registered or adopted as such."""
        listed: set[int] = set()
        for pos in positions:
            rec = self.records.get(pos.ticket)
            if rec is None or rec.is_open or rec.closing or not same_trade(rec, pos):
                continue  # (closing: DTMS's own close, still owed: the position is listed)
            done = rec.entry(rec.key_for(ActionKind.CLOSE))
            if done is not None and done.status is JournalStatus.DONE:
                self._comeback.pop(rec.ticket, None)
                continue  # DTMS closed it: a listing that lags behind its close
            if not self._listed_long_enough(host, rec, now):
                listed.add(rec.ticket)
                continue
            self._comeback.pop(rec.ticket, None)
            await self._isolated(rec.ticket, self._reopen(host, rec, now), "reopening")
        self._listed_since = {t: s for t, s in self._listed_since.items() if t in listed}

    def _listed_long_enough(self, host: HostView, rec: TradeRecord, now: datetime) -> bool:
        """Whether the broker's listing of ``rec``'s position open is proof enough to
        reopen its CLOSED record. A host's engine (``adopt``): at once, its own broker's
        word. ``dtms serve``: a client reports its close once its own terminal shows it,
        which the server's (another connection, MetaTrader's another terminal) may list a
        moment longer, or long while it reconnects (its positions and ticks stale);
        reopened on that, the trade lost the client's outcome. So: listed in two reads or
        more, for :data:`UNCONFIRMED_CLOSE_SECONDS`, and fresh: the broker's quote of the
        symbol moved since the first of those reads, to a time after the close
        (docs/dtms.md §8). Meanwhile the ticket is watched, so a cycle with nothing else
        reads positions."""
        if self.adopt:
            return True
        ticket, hold = rec.ticket, timedelta(seconds=UNCONFIRMED_CLOSE_SECONDS)
        quote = self._quote(host, rec.symbol)
        at = quote.time if quote is not None else None
        seen = self._listed_since.get(ticket)
        if seen is None:
            seen = self._listed_since[ticket] = Listing(now, 0, at)
        seen.reads += 1
        seen.quote_at = seen.quote_at or at
        fresh = at is not None and seen.quote_at is not None and at > seen.quote_at
        fresh = fresh and (rec.closed_at is None or (at is not None and at > rec.closed_at))
        if now - seen.since >= hold and seen.reads >= 2:
            if fresh:
                return True
            if not seen.said:
                seen.said = True
                self.log.warning(
                    "DTMS %s: the broker lists the position open after its close, but its "
                    "%s quote has not moved since (%s): a stale listing, perhaps a terminal "
                    "reconnecting; not reopened until a fresh quote shows it still open",
                    ticket, rec.symbol, at.isoformat() if at is not None else "no quote",
                )  # fmt: skip
        # watched while listed: one fast bar more at each read
        self._comeback[ticket] = max(
            self._comeback.get(ticket, now), seen.since + hold, now + self._fast
        )
        return False

    async def _reopen(self, host: HostView, rec: TradeRecord, now: datetime) -> None:
        """``rec`` back to HEALTHY, its close cleared (the rails no longer count it)."""
        when = rec.closed_at.isoformat() if rec.closed_at is not None else "a time unknown"
        was = f"{rec.close_reason or 'closed'} at {when}"
        back = rec.evolve(
            state=DefensiveState.HEALTHY, seq=rec.seq + 1, state_entered_at=now,
            closed_at=None, close_reason="", close_price=None, realised_profit=None,
            reopened_at=now,
            warnings=rec.with_warning(f"listed open again after its close ({was}): reopened"),
        )  # fmt: skip
        self._persist(back, now)
        self._put_state(back, now)
        self._flush()
        self.log.warning(
            "DTMS %s: the broker lists the position open again after its close (%s): the "
            "same trade, its record reopened and defended again from HEALTHY",
            rec.ticket, was,
        )  # fmt: skip
        await host.report_state_change(
            rec.ticket, DefensiveState.CLOSED, DefensiveState.HEALTHY,
            f"position listed open again after its close ({was})",
        )  # fmt: skip
