"""An action of unknown outcome whose order the trade server still holds (docs/dtms.md §8):
not settled while it waits there. :class:`WaitingAtBroker` is a mixin of
:class:`dtms_plugin.local.LocalStrategy`, whose ``__init__`` sets the attributes declared
here; :meth:`dtms_plugin.local_settling.Settling._settle` asks it before it settles an
outcome "not applied".

Why: MetaTrader may hold an order whose answer was lost for minutes before it fills
(docs/mt5.md, "What happens when the terminal does not answer"). Settled from the
positions alone once ``actions.unknown_wait_seconds`` had passed, such a partial close was
taken as not applied while it sat in ``orders_get`` ("the broker shows no trace of it"),
and the ladder, still owing it, would have sent it again on top of the fill to come.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from hookspecs import ActionKind, BrokerError, HostView, Trade, WaitingOrder, WaitingOrders

from .engine import JournalEntry, TradeRecord
from .settings import DtmsSettings

#: the broker read this makes, as its failures are said (once per episode)
WAITING_READ = "waiting orders"
#: the actions that open a position of their own (their order names none)
_OPENS = (ActionKind.HEDGE, ActionKind.RE_ADD)
#: the actions whose order may wait on the server (a stop's change is no order)
_ORDERS = (*_OPENS, ActionKind.CLOSE, ActionKind.PARTIAL_CLOSE, ActionKind.CLOSE_HEDGE)
#: lots closer than this are the same volume (volumes are float sums of steps)
_LOTS_EPS = 1e-9
#: an action held while the broker cannot list its waiting orders needs attention once
#: held this many times ``actions.unknown_wait_seconds``, and at least ``HELD_CYCLES``
HELD_TIMES = 5
HELD_CYCLES = 3
#: the cycle's positions, as a list and by ticket: read again in place (_positions_again)
Seen = tuple[list[Trade], dict[int, Trade]]
#: the run summary's reason for the cycles an action was held so (local_answers)
HELD_BLIND = "an action of unknown outcome held: the broker cannot list its waiting orders"


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


@dataclass
class HeldBlind:
    """An action of unknown outcome held while the broker cannot list its waiting orders:
    since when, for how many cycles, and whether that was said at ERROR."""

    since: datetime
    cycles: int = 0
    said: bool = False


class WaitingAtBroker:
    log: logging.Logger
    #: journal keys whose order was said to wait on the server (once each)
    _waiting_said: set[str]
    #: journal keys held while the waiting orders cannot be read, and since when
    _held_blind: dict[str, HeldBlind]
    settings: DtmsSettings
    problems: dict[str, int]

    if TYPE_CHECKING:  # the strategy's own methods

        def _read_failed(self, what: str, exc: BrokerError, meanwhile: str) -> None: ...

        def _read_back(self, what: str, unit: str = "cycle") -> None: ...

        def _own_magic(self, host: HostView) -> int | None: ...

        @property
        def records(self) -> dict[int, TradeRecord]: ...

    def _waits_at_broker(
        self, host: HostView, rec: TradeRecord, entry: JournalEntry, now: datetime, seen: Seen
    ) -> bool:
        """Whether ``entry``'s order (of unknown outcome) still waits on the trade server
        (:class:`hookspecs.WaitingOrders`), so it is not to be settled "not applied" now:
        said once, at WARNING. A broker that cannot say (no such capability): no. One
        that cannot answer now: it may, so yes, said once per episode (sending the order
        again could double it), and at ERROR once it has lasted (:meth:`_held_blind_for`).
        Not among the orders listed, it may have filled since the cycle read the positions
        (``seen``): they are read again first (:meth:`_positions_again`)."""
        broker = host.broker
        if entry.kind not in _ORDERS or not isinstance(broker, WaitingOrders):
            return False
        try:
            orders = broker.waiting_orders(rec.symbol)
        except BrokerError as exc:
            meanwhile = "an action of unknown outcome is not settled meanwhile"
            self._read_failed(WAITING_READ, exc, meanwhile)
            self._held_blind_for(rec, entry, now, exc)
            return True
        self._read_back(WAITING_READ, "read")
        self._blind_over(entry.key, "the broker lists its waiting orders again")
        order = order_of(rec, entry, orders, self._own_magic(host))
        if order is None:
            return not self._positions_again(host, *seen)
        if entry.key not in self._waiting_said:
            self._waiting_said.add(entry.key)
            self.log.warning(
                "DTMS %s: %s of unknown outcome still waits on the trade server (order %s, "
                "%g lots): not settled and not sent again until it executes or is gone "
                "(said again when it settles)",
                rec.ticket, entry.kind.value, order.ticket, order.volume,
            )  # fmt: skip
        return True

    def _held_blind_for(
        self, rec: TradeRecord, entry: JournalEntry, now: datetime, exc: BrokerError
    ) -> None:
        """One more cycle ``entry`` is held because the waiting orders cannot be read. It
        is still held (never sent twice), but past ``HELD_TIMES`` the unknown-outcome wait
        (and ``HELD_CYCLES``) it needs attention: said once at ERROR, counted in the run
        summary's waits, and listed in ``dtms serve``'s ``/health``. Before, it was held
        every cycle with no limit and a single WARNING for the whole read's episode."""
        held = self._held_blind.setdefault(entry.key, HeldBlind(now))
        held.cycles += 1
        seconds = (now - held.since).total_seconds()
        bound = HELD_TIMES * self.settings.actions.unknown_wait_seconds
        if seconds < bound or held.cycles < HELD_CYCLES:
            return
        self.problems[HELD_BLIND] = self.problems.get(HELD_BLIND, 0) + 1
        if not held.said:
            held.said = True
            self.log.error(
                "DTMS %s: %s of unknown outcome held %d cycles (%g s) because the broker "
                "cannot list its waiting orders (%s); still held, never sent again until "
                "it can: needs attention (said again when it is over)",
                rec.ticket, entry.kind.value, held.cycles, seconds, exc,
            )  # fmt: skip

    def _blind_over(self, key: str, why: str) -> None:
        """``key`` is no longer held blind (``why``): said when its hold was said."""
        held = self._held_blind.pop(key, None)
        if held is not None and held.said:
            self.log.warning(
                "DTMS %s: %s of unknown outcome held no more (%s), after %d cycles held",
                key.split(":", 1)[0], key.rsplit(":", 1)[1], why, held.cycles,
            )  # fmt: skip

    def held_problems(self) -> list[str]:
        """The actions held past the bound while the waiting orders cannot be read, for
        ``dtms serve``'s ``/health`` (:meth:`.local_edges.MarketEdges.broker_problems`),
        of the trades still held (one let go or forgotten is no longer this engine's)."""
        held = dict(self._held_blind)  # one copy: another thread reads it
        return [
            f"DTMS {key.split(':', 1)[0]}: {key.rsplit(':', 1)[1]} of unknown outcome held "
            f"{h.cycles} cycles: the broker cannot list its waiting orders"
            for key, h in held.items()
            if h.said and int(key.split(":", 1)[0]) in self.records
        ]

    def _positions_again(
        self, host: HostView, positions: list[Trade], by_ticket: dict[int, Trade]
    ) -> bool:
        """The broker's positions read again, into the cycle's ``positions`` and
        ``by_ticket`` (in place: the rest of the cycle sees them too), after its waiting
        orders did not hold an action of unknown outcome: an order that filled between
        the cycle's read of the positions and that of the waiting orders is in neither,
        and was settled "not applied" (a hedge so left open and unmanaged, its comment
        keeping it from adoption; docs/dtms.md §8). ``False`` when the broker cannot say
        now (it fails, or answers nothing where it listed positions: a terminal not yet
        synchronised): the action is then held to the next cycle."""
        try:
            fresh = host.broker.positions()
        except BrokerError as exc:
            self.log.debug("DTMS: the positions could not be read again: %s", exc)
            return False
        if positions and not fresh:
            return False
        positions[:] = fresh
        by_ticket.clear()
        by_ticket.update((p.ticket, p) for p in fresh)
        return True

    def _waited_settled(self, key: str) -> None:
        """``key``'s outcome settled: a later wait of another entry is said again."""
        self._waiting_said.discard(key)
        self._blind_over(key, "settled")
