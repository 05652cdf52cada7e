"""A record that was never its ticket's position (docs/dtms.md §8): registered with
``dtms serve`` for a ticket no broker held yet (a made-up one, as docs/client.md's
examples register; a paper account numbers its tickets from 1), which a real position
of another symbol or side later gets. :class:`Unmatched` is a mixin of
:class:`dtms_plugin.local.LocalStrategy`, whose ``__init__`` sets the attributes
declared here.

Why: the broker is the truth. The record was kept over the position: the host's
registration of the real trade was refused as a conflict with it, the engine steered the
real position by the made-up record's side, and its close and profit were credited to
the made-up trade, so the real trade was never defended and the export mixed the two.
Now the record is closed as :data:`NEVER_MATCHED`, without the broker's close or profit,
said once at WARNING, and the ticket is free for a registration of the real position.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from hookspecs import HostView, Trade

from .engine import AccountState, TradeRecord
from .position_match import Held, never_this_position

#: the close reason of a record that was never its ticket's position
NEVER_MATCHED = "never matched the broker's position"


class Unmatched:
    log: logging.Logger
    _account: AccountState

    if TYPE_CHECKING:  # the strategy's own properties and methods

        @property
        def records(self) -> dict[int, TradeRecord]: ...

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
        ) -> None: ...

    async def never_matched(self, host: HostView, ticket: int, position: Trade) -> bool:
        """Whether the open record of ``ticket`` was never ``position`` (the broker's, open
        or closed), and is now closed as such: ``dtms serve`` asks it of a registration
        that matches the broker's position and conflicts with the record."""
        rec = self.records.get(ticket)
        if rec is None:
            return False
        return await self._never_matched(host, rec, position, host.clock.now())

    def not_the_position(self, held: Held, position: Trade) -> str | None:
        """The field (``symbol``, ``direction``) in which ``position``, the broker's open
        position under ``held``'s ticket, is not the trade ``held`` names, by this
        account's mode (a side differs only on hedging; on netting it is a reversal);
        None when it may be. ``dtms serve`` refuses a registration it names (a 409): a
        buy registered for a sell was accepted, and steered for a cycle as a buy."""
        return never_this_position(held, position, hedging=self._account.hedging)

    async def _never_matched(
        self, host: HostView, rec: TradeRecord, position: Trade, now: datetime
    ) -> bool:
        """``rec`` closed as :data:`NEVER_MATCHED` when the broker's ``position`` under its
        ticket shows it never was that position (:func:`.position_match.never_this_position`),
        with no result of it (its hedges' own only); whether it was."""
        if not rec.is_open:
            return False
        field = never_this_position(rec, position, hedging=self._account.hedging)
        if field is None:
            return False
        self.log.warning(
            "DTMS %s: the broker's position %s is a %s of %g %s, not the %s on %s registered"
            " (%s differs): the record never matched the broker's position; closed as such,"
            " without the position's close or profit, and no longer managed (a registration"
            " of the position is taken)",
            rec.ticket, position.ticket, position.direction, position.volume, position.symbol,
            rec.direction, rec.symbol, field,
        )  # fmt: skip
        void = Trade(
            rec.ticket, rec.symbol, rec.direction, rec.volume, rec.entry_price, rec.stop_loss,
            rec.take_profit, rec.opened_at, closed_at=now,
        )  # fmt: skip
        await self._closed(host, rec, void, NEVER_MATCHED, now, result=False)
        return True
