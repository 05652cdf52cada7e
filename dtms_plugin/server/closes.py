"""Reported closes, applied by the service (part of :class:`~.service.DtmsService`).

``POST /dtms/trade/{ticket}/closed``: the engine is told as if its own broker saw the
position go, and the record is kept CLOSED with its reason and profit (the trade's
history). With Redis replicas, a replica that does not own the trade leaves the report
for the one that does (:mod:`.close_inbox`), which applies it in its next cycle through
:meth:`Closing._apply_close_once`, or before it acts on the trade at a client's request
(:meth:`Closing._settle_left`): the first report left stands, as on one server.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from hookspecs import DefensiveState

from .broker_entry import opening_at_broker, with_opening
from .broker_ticket import whole_close_at_broker
from .closing import (
    ClosedReport,
    as_reported,
    as_the_broker_closed,
    check_close_time,
    close_not_applied,
    closed_trade,
    has_outcome,
    mark_closed,
    not_before_opening,
    opening_time,
    recorded_close_time,
)
from .errors import CloseConflict, EngineUnavailable
from .service_parts import ServiceParts
from .validation import check_not_ahead
from .views import record_state


class Closing(ServiceParts):
    """Part of :class:`~.service.DtmsService`."""

    async def report_closed(self, closed: ClosedReport) -> dict[str, Any] | None:
        """A client's position closed: the engine is told as if its own broker saw it,
        and the record is kept CLOSED with its reason and profit (the trade's history).
        A record the engine closed itself when the position went from its broker has no
        outcome yet: the report gives it one (and the account rails its profit), its
        reason the engine's (``action``) when the engine closed it itself. None
        when the ticket is unknown; a second report of the same close changes nothing."""
        self._require_engine()
        assert self._host is not None
        check_not_ahead("closed_at", closed.closed_at, self._host.clock)
        if self.replicas is not None:  # another replica's trade: its owner applies it
            from .close_inbox import left_for_owner

            # store reads off the event loop, as every handler's (docs/scaling.md)
            if await asyncio.to_thread(left_for_owner, self.replicas, self.store, closed):
                view = await asyncio.to_thread(self.trade, closed.ticket)
                if view is not None:
                    view["left_for_owner"] = True
                    view["summary"] = (
                        f"Trade {closed.ticket}: close left for the replica that owns it, "
                        "applied at its next cycle"
                    )
                return view
        async with self._command_lock:
            record = await asyncio.to_thread(self.store.get_record, closed.ticket)
            if record is None:
                return None
            try:
                check_close_time(record, closed)
            except CloseConflict:  # unless the broker dates the opening before the close
                await self.engine.run(self._opening_from_broker(closed))
            if not has_outcome(record) and await self.engine.run(self._close_in_engine(closed)):
                return await asyncio.to_thread(self.trade, closed.ticket)
        return await asyncio.to_thread(self._already_closed, closed)

    def _already_closed(self, closed: ClosedReport) -> dict[str, Any] | None:
        """The answer to a report of a close already kept: the first report's outcome
        stands, and the fields this one sent otherwise are listed in ``not_applied``
        (:func:`.closing.close_not_applied`), as a repeated registration lists its own."""
        record = self.store.get_record(closed.ticket)
        view = self.trade(closed.ticket)
        if view is None:
            return None
        view["already_closed"] = True
        view["summary"] = f"Trade {closed.ticket} was already reported closed; kept as it was"
        differ = close_not_applied(record, closed) if record is not None else {}
        if differ:
            view["not_applied"] = differ
        return view

    async def _opening_from_broker(self, closed: ClosedReport) -> None:
        """A close reported before the record's opening: the record takes the broker's
        opening of the position when the broker dates it no later than the close
        (:func:`.broker_entry.opening_at_broker`), said in a WARNING; else the 409
        (:class:`CloseConflict`). On the engine thread, under its lock.

        Why not leave the 409: the opening was a client's mistake (its wall clock on a
        paper account), the close is the broker's fact, and the host drops a 4xx close
        from its outbox; refused, its realised profit reached neither the server's
        history nor its daily-loss rail. Accepted, the report carries it to both."""
        assert self._engine_lock is not None and self._host is not None
        async with self._engine_lock:
            record = self.store.get_record(closed.ticket)
            if record is None:
                return
            opened = opening_at_broker(record, closed, self._host.broker)
            if opened is None:
                check_close_time(record, closed)  # the 409 stands
                return
            was = opening_time(record)
            self.store.put_record(closed.ticket, with_opening(record, opened))
            self._engine_opening(closed.ticket, opened)
            self.log.warning(
                "ticket %s: opened_at %s → %s, from the broker: its close reported at %s"
                " was before the kept opening",
                closed.ticket, was.isoformat() if was else None, opened.isoformat(),
                closed.closed_at.isoformat() if closed.closed_at else None,
            )  # fmt: skip

    def _engine_opening(self, ticket: int, opened: datetime) -> None:
        """The engine's own record of ``ticket`` (the local strategy's book, which it
        writes back whole at the close) given the broker's opening too: else the close
        it keeps would carry the wrong one again. A strategy without a book keeps none."""
        book = getattr(self._strategy, "book", None)
        if book is None:
            return
        rec = book.records.get(ticket)
        if rec is not None:
            book.put(rec.evolve(opened_at=opened))

    async def _close_in_engine(self, closed: ClosedReport) -> bool:
        """The close, after what another replica left for the trade; False when an
        earlier report stood (or a DELETE left before it let the trade go)."""
        assert self._engine_lock is not None
        async with self._engine_lock:
            await self._settle_left(closed.ticket)
            record = self.store.get_record(closed.ticket)
            if record is None or has_outcome(record):
                return False
            await self._apply_close(closed, record)
            return True

    async def _settle_left(self, ticket: int) -> None:
        """Under the engine lock (held by the caller), before this replica acts on
        ``ticket`` at a client's request: a close or DELETE another replica left for the
        trade is applied first, as its owner's next cycle would have. One server applied
        it before anything sent after it, so the first report left stands (docs/scaling.md
        §5); taken back, a later report replaced it. A 503 when it cannot be applied now
        (kept for the next cycle, said once): the request in hand would overtake it."""
        if self.replicas is None or self._left_closes is None:
            return
        if not await self._left_closes.settle(
            self.replicas, self.store, self._apply_close_once, self._unregister_now, ticket
        ):
            raise EngineUnavailable(
                f"ticket {ticket}: a close or DELETE reported earlier through another replica"
                " is not applied yet (see the server log); retry"
            )

    async def _apply_close_once(self, closed: ClosedReport) -> None:
        """The close, unless the record (read again under the engine's lock: the owner's
        cycle may have applied a close left for it meanwhile) already has its outcome."""
        record = self.store.get_record(closed.ticket)
        if record is not None and not has_outcome(record):
            await self._apply_close(closed, record)

    async def _apply_close(self, closed: ClosedReport, record: dict[str, Any]) -> None:
        """The close through the engine, under its lock (held by the caller); what the
        broker's history says of it stands over the report (:func:`.closing.
        as_the_broker_closed`), and a close the engine made itself keeps its reason
        (:func:`.closing.as_reported`)."""
        assert self._host is not None and self._strategy is not None
        at_broker = whole_close_at_broker(self._host.broker, closed.ticket)
        closed = as_reported(record, as_the_broker_closed(record, closed, at_broker))
        now = self._host.clock.now()
        # a time the server picks is never before the trade opened (docs/client.md)
        at = closed.closed_at or recorded_close_time(record) or not_before_opening(record, now)
        trade = closed_trade(record, closed, at)
        if trade is not None:
            await self._strategy.on_trade_closed(self._host, trade, closed.reason)
            self._strategy.settle_rails(self._host)  # a client's close: judged now
        kept = self.store.get_record(closed.ticket) or record
        if record_state(kept) == DefensiveState.CLOSED.value:
            if kept.get("realised_profit") is None:  # a strategy that keeps no close
                outcome = {"close_reason": closed.reason, "realised_profit": closed.profit}
                self.store.put_record(closed.ticket, {**kept, **outcome})
        else:
            # a strategy that keeps no close of its own (or a record it cannot read):
            # the server keeps the outcome itself
            kept = mark_closed(kept, closed, at)
            self.store.put_record(closed.ticket, kept)
            self.store.put_state(closed.ticket, DefensiveState.CLOSED.value, now)
            await self._host.report_state_change(
                closed.ticket,
                DefensiveState(record_state(record)),
                DefensiveState.CLOSED,
                f"position closed ({closed.reason})",
            )
