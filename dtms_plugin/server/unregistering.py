"""``DELETE /dtms/trade/{ticket}``: a client stops DTMS managing a trade (its position is
left alone). Part of :class:`~.service.DtmsService`.

A CLOSED trade is not unregistered: nothing manages it any more, and its record is its
history, kept until retention (docs/dtms.md §8); deleting it would lose it from every
export. With Redis replicas, a trade another replica owns is left for its owner
(docs/scaling.md).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..store.shared import UNREGISTERED
from .errors import TradeUnregistered
from .service_parts import ServiceParts
from .validation import parse_time
from .views import record_state, trade_fields

if TYPE_CHECKING:
    from .validation import Registration


def _marked(ticket: int, mark: dict[str, Any] | None) -> Callable[[Any], Any]:
    """The change of the store's unregistration marks (one named value, ticket -> mark,
    so retention finds them all on either backend: :mod:`dtms_plugin.store.shared`)
    that sets ``ticket``'s mark, or removes it (None)."""

    def change(marks: Any) -> dict[str, Any]:
        marks = dict(marks) if isinstance(marks, dict) else {}
        if mark is None:
            marks.pop(str(ticket), None)
        else:
            marks[str(ticket)] = mark
        return marks

    return change


class Unregistering(ServiceParts):
    """Part of :class:`~.service.DtmsService`."""

    async def unregister(self, ticket: int) -> bool | str | None:
        """Stop managing ``ticket`` (its position is left alone). False when unknown;
        None when another replica owns it: left for that one (docs/scaling.md); "closed"
        for a CLOSED trade, which nobody manages and whose record is its history, kept
        until retention (docs/dtms.md §8): deleting it would lose it from every export."""
        self._require_engine()
        record = await asyncio.to_thread(self.store.get_record, ticket)
        if record is None:
            return False
        if record_state(record) == "CLOSED":
            return "closed"
        if self.replicas is not None:
            from .close_inbox import unregistration_left

            if await asyncio.to_thread(unregistration_left, self.replicas, ticket, record):
                return None
        async with self._command_lock:
            record = await asyncio.to_thread(self.store.get_record, ticket)
            if record is None:
                return False
            if record_state(record) == "CLOSED":  # closed meanwhile
                return "closed"
            return await self.engine.run(self._unregister_in_engine(ticket))

    async def _unregister_in_engine(self, ticket: int) -> bool | str:
        """True when let go; "closed" when it closed since it was asked, or a close
        another replica left for it came first; False when a DELETE left before this one
        let it go."""
        assert self._engine_lock is not None
        async with self._engine_lock:
            await self._settle_left(ticket)
            if self.store.get_record(ticket) is None:
                return False
            return await self._unregister_now(ticket) or "closed"

    async def _unregister_now(self, ticket: int) -> bool:
        """Under the engine lock (held by the caller): the trade let go, its lease too;
        False when it closed since it was asked (kept as its history, as above)."""
        assert self._host is not None
        record = self.store.get_record(ticket)
        if record is not None and record_state(record) == "CLOSED":
            return False
        forget = getattr(self._strategy, "unregister", None)
        if forget is not None:
            outcome = forget(self._host, ticket)
            if inspect.isawaitable(outcome):
                await outcome
        self.store.delete_record(ticket)
        self.store.delete_state(ticket)
        if self.replicas is not None:
            self.replicas.release({ticket} & self.replicas.held)
        # the entry names the symbol itself: the record that held it is gone, and the
        # original's action_history shows each entry's symbol (docs/architecture.md)
        fields = trade_fields(record) if record is not None else {}
        symbol = fields.get("symbol")
        # remembered: a host sharing the account re-registers the position it still
        # holds from its broker at its next refresh, which undid the DELETE (docs/client.md)
        at = self._host.clock.now().isoformat()
        mark = {"symbol": symbol, "direction": fields.get("direction"), "at": at}
        self.store.update_value(UNREGISTERED, _marked(ticket, mark))
        entry = {"type": "unregistered", "ticket": ticket, "reason": "API", "symbol": symbol}
        self._host.journal(entry)
        self.log.info("ticket %s unregistered (DELETE): no longer managed", ticket)
        return True

    def unregistered_at(self, ticket: int) -> str | None:
        """When ``ticket`` was unregistered (``DELETE``), while its mark stands: a GET of
        it says so, not that no trade of it is kept here, as its actions and a host's
        refused automatic registration show it is."""
        marks = self.store.get_value(UNREGISTERED)
        mark = marks.get(str(ticket)) if isinstance(marks, dict) else None
        at = mark.get("at") if isinstance(mark, dict) else None
        return at if isinstance(at, str) else None

    def _check_unregistered(self, reg: Registration) -> bool:
        """For a ticket with no record: a :class:`TradeUnregistered` when ``reg`` is a
        host's automatic registration of the position an operator unregistered (the
        same symbol and side, opened before the unregistration). Any other registration
        of the ticket is let through, and answers True when the ticket is marked: once
        it is registered the caller lifts the mark (:meth:`_lift_unregistered`; a
        person's or a program's registers it again on purpose; another position under a
        reused ticket is another trade). Not before: a registration refused after this
        check (a 409, an unknown symbol) leaves the unregistration standing."""
        marks = self.store.get_value(UNREGISTERED)
        mark = marks.get(str(reg.ticket)) if isinstance(marks, dict) else None
        if not isinstance(mark, dict):
            return False
        if reg.automatic and _same_position(mark, reg):
            message = (
                f"trade {reg.ticket} was unregistered at {mark.get('at')}: DTMS leaves it"
                " alone until it is registered again without automatic"
            )
            raise TradeUnregistered("ticket", message, {"ticket": reg.ticket})
        return True

    def _lift_unregistered(self, tickets: Iterable[int]) -> None:
        """The marks of ``tickets``, registered again, removed (the entry itself: no null
        left behind), each atomically against another replica's marks."""
        for ticket in tickets:
            self.store.update_value(UNREGISTERED, _marked(ticket, None))


def _same_position(mark: dict[str, Any], reg: Registration) -> bool:
    at = parse_time(mark.get("at"), "at") if isinstance(mark.get("at"), str) else None
    before = reg.opened_at is None or at is None or reg.opened_at <= at
    return mark.get("symbol") == reg.symbol and mark.get("direction") == reg.direction and before
