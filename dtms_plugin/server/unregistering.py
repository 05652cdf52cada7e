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

from .service_parts import ServiceParts
from .views import record_state, trade_fields


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
        symbol = trade_fields(record).get("symbol") if record is not None else None
        entry = {"type": "unregistered", "ticket": ticket, "reason": "API", "symbol": symbol}
        self._host.journal(entry)
        self.log.info("ticket %s unregistered (DELETE): no longer managed", ticket)
        return True
