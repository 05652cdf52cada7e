"""An action of unknown outcome whose order the trade server still holds (docs/dtms.md §8):
not settled while it waits there. :class:`WaitingAtBroker` is a mixin of
:class:`dtms_plugin.local.LocalStrategy`, whose ``__init__`` sets the attributes declared
here; :meth:`dtms_plugin.local_reconcile.Reconciling._settle` asks it before it settles an
outcome "not applied".

Why: MetaTrader may hold an order whose answer was lost for minutes before it fills
(docs/mt5.md, "What happens when the terminal does not answer"). Settled from the
positions alone once ``actions.unknown_wait_seconds`` had passed, such a partial close was
taken as not applied while it sat in ``orders_get`` ("the broker shows no trace of it"),
and the ladder, still owing it, would have sent it again on top of the fill to come.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hookspecs import ActionKind, BrokerError, HostView, WaitingOrder, WaitingOrders

from .engine import JournalEntry, TradeRecord

#: the broker read this makes, as its failures are said (once per episode)
WAITING_READ = "waiting orders"
#: the actions that open a position of their own (their order names none)
_OPENS = (ActionKind.HEDGE, ActionKind.RE_ADD)
#: the actions whose order may wait on the server (a stop's change is no order)
_ORDERS = (*_OPENS, ActionKind.CLOSE, ActionKind.PARTIAL_CLOSE, ActionKind.CLOSE_HEDGE)
#: lots closer than this are the same volume (volumes are float sums of steps)
_LOTS_EPS = 1e-9


def order_of(
    rec: TradeRecord, entry: JournalEntry, orders: list[WaitingOrder], magic: int | None
) -> WaitingOrder | None:
    """The waiting order among ``orders`` that may be ``entry``'s: a close's (partial or
    whole) acts on the trade's position (or, a close with its hedge, on the hedge), a
    hedge close's on the hedge; a hedge or re-add opens a position on the trade's symbol,
    on the side the action opens, of the lots asked, with the trade's magic or ours."""
    params = entry.params
    if entry.kind in _OPENS:
        opens_buy = (rec.direction == "buy") is (entry.kind is ActionKind.RE_ADD)
        side = "buy" if opens_buy else "sell"
        lots = float(params["volume"])
        magics = {rec.magic, rec.magic if magic is None else magic}
        return next(
            (
                o
                for o in orders
                if o.direction == side and abs(o.volume - lots) <= _LOTS_EPS and o.magic in magics
            ),
            None,
        )
    if entry.kind is ActionKind.CLOSE_HEDGE:
        acts_on = {int(params["hedge_ticket"])}
    elif entry.kind in (ActionKind.CLOSE, ActionKind.PARTIAL_CLOSE):
        hedge = params.get("hedge_ticket")
        acts_on = {rec.ticket} | ({int(hedge)} if hedge is not None else set())
    else:  # a stop's change is no order: it never waits on the server
        return None
    return next((o for o in orders if o.position in acts_on), None)


class WaitingAtBroker:
    log: logging.Logger
    #: journal keys whose order was said to wait on the server (once each)
    _waiting_said: set[str]

    if TYPE_CHECKING:  # the strategy's own methods

        def _read_failed(self, what: str, exc: BrokerError, meanwhile: str) -> None: ...

        def _read_back(self, what: str, unit: str = "cycle") -> None: ...

    def _waits_at_broker(
        self, host: HostView, rec: TradeRecord, entry: JournalEntry, magic: int | None
    ) -> bool:
        """Whether ``entry``'s order (of unknown outcome) still waits on the trade server
        (:class:`hookspecs.WaitingOrders`), so it is not to be settled "not applied" now:
        said once, at WARNING. A broker that cannot say (no such capability): no. One
        that cannot answer now: it may, so yes, said once per episode (sending the
        order again could double it)."""
        broker = host.broker
        if entry.kind not in _ORDERS or not isinstance(broker, WaitingOrders):
            return False
        try:
            orders = broker.waiting_orders(rec.symbol)
        except BrokerError as exc:
            meanwhile = "an action of unknown outcome is not settled meanwhile"
            self._read_failed(WAITING_READ, exc, meanwhile)
            return True
        self._read_back(WAITING_READ, "read")
        order = order_of(rec, entry, orders, magic)
        if order is None:
            return False
        if entry.key not in self._waiting_said:
            self._waiting_said.add(entry.key)
            self.log.warning(
                "DTMS %s: %s of unknown outcome still waits on the trade server (order %s, "
                "%g lots): not settled and not sent again until it executes or is gone "
                "(said again when it settles)",
                rec.ticket, entry.kind.value, order.ticket, order.volume,
            )  # fmt: skip
        return True

    def _waited_settled(self, key: str) -> None:
        """``key``'s outcome settled: a later wait of another entry is said again."""
        self._waiting_said.discard(key)
