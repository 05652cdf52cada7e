"""What a plugin may use of the broker: the account, its optional capabilities, and the one
translation of a defensive :class:`~hookspecs.types.Action` into broker calls.

``host.broker`` satisfies :class:`Broker`; the capabilities (:class:`ClosedPositions`,
:class:`CloseReasons`, :class:`OwnMagic`, :class:`WaitingOrders`, :class:`SimBroker`,
:class:`ProfitCalculator`)
are ``typing.Protocol`` classes a plugin checks with ``isinstance``. The paper broker, the
MetaTrader broker and test doubles all satisfy them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

from .types import (
    Action,
    ActionKind,
    ActionResult,
    Bar,
    CloseReason,
    Direction,
    OrderRequest,
    ResultCode,
    Trade,
    params_problem,
)

MarginMode = Literal["hedging", "netting"]


class BrokerError(RuntimeError):
    """The broker could not answer a query (not a refusal, which is an ActionResult).

    Raised, for instance, when MetaTrader's ``positions_get`` returns ``None``: that is
    an error, never "no positions".
    """


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    bid: float
    ask: float
    time: datetime

    @property
    def spread(self) -> float:
        return self.ask - self.bid


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """Trading rules of one symbol. Levels are in price units (points × point size)."""

    name: str
    digits: int
    point: float
    volume_min: float
    volume_step: float
    volume_max: float
    stops_level: float = 0.0
    freeze_level: float = 0.0
    contract_size: float = 1.0


@dataclass(frozen=True, slots=True)
class AccountInfo:
    login: int
    balance: float
    equity: float
    margin_mode: MarginMode
    currency: str = "USD"
    #: the account among all others, for what outlives a run (DTMS's store says whose
    #: trades it holds, so a fresh account is not judged by an old one's): a paper
    #: account file's ``paper <login>`` (a random login given at its creation),
    #: MetaTrader's ``<server> <login>``; "" for an account no other run can see
    identity: str = ""
    #: the lock file (:mod:`hookspecs.locks`) a DTMS engine that defends all of this
    #: account's trades holds, so that a second one, from another state folder, is
    #: refused: beside a paper account file; MetaTrader's in a per-user folder (it
    #: guards one machine); "" for an account in one process's memory
    engine_lock: str = ""

    @property
    def hedging(self) -> bool:
        return self.margin_mode == "hedging"


@runtime_checkable
class Broker(Protocol):
    """A trading account. Order calls return an :class:`ActionResult` and never raise on
    a refusal; queries raise :class:`BrokerError` when the broker cannot answer. A ticket
    is a position's identity for its whole life (:class:`Trade`): a broker whose server
    renumbers an open position keeps presenting, and answering to, the ticket it had."""

    def positions(self) -> list[Trade]: ...

    def position(self, ticket: int) -> Trade | None: ...

    def open(self, order: OrderRequest) -> ActionResult: ...

    def modify_sl_tp(
        self, ticket: int, stop_loss: float | None, take_profit: float | None
    ) -> ActionResult: ...

    def close(self, ticket: int, volume: float | None = None) -> ActionResult: ...

    def hedge(self, ticket: int, volume: float) -> ActionResult: ...

    def symbol_info(self, symbol: str) -> SymbolInfo | None: ...

    def quote(self, symbol: str) -> Quote | None: ...

    def account(self) -> AccountInfo: ...


def inside_freeze(
    sign: int, price: float, stop_loss: float | None, take_profit: float | None, level: float
) -> bool:
    """Whether a broker refuses to move the stop or target of a position, or to close any
    of it, now (MetaTrader's 10029, :attr:`ResultCode.FROZEN`): ``price``, the one it
    closes at (the bid for a buy, ``sign`` +1; the ask for a sell, -1), lies within the
    freeze ``level`` (:attr:`SymbolInfo.freeze_level`) of its stop or of its target. The
    distance is measured towards each level, as MetaTrader measures it, so a level at or
    past the price is inside. The one definition the paper broker refuses by and a
    plugin plans by, so a replay holds every plugin to what the real server allows."""
    if level <= 0.0:
        return False
    # a distance equal to the level is inside (MetaTrader allows only one beyond it), in
    # float noise too: 1.40050 - 1.40000 reads as a hair over 0.0005
    edge = level + _FLOAT_NOISE * max(abs(price), 1.0)
    return (stop_loss is not None and sign * (price - stop_loss) <= edge) or (
        take_profit is not None and sign * (take_profit - price) <= edge
    )


#: far below any symbol's point at its price, far above a float's rounding error there
_FLOAT_NOISE = 1e-9


#: How long, in seconds of the run's clock, a position the broker no longer lists and whose
#: close its history does not show yet is waited for before it is taken as closed with its
#: last view. MetaTrader's history trails a close by seconds (docs/mt5.md, "What happens
#: when the terminal does not answer", and its 10 s ``resolve_seconds``), and a terminal not
#: yet synchronised answers a read with no positions while they are open: a minute is
#: several times that and two more looks at a 30 s cycle, yet short enough that a defender
#: summing the day's losses hears of a close within the minute. The host's loop waits this
#: long before it reports such a close; a plugin that reads the broker itself should too.
UNCONFIRMED_CLOSE_SECONDS = 60.0


@runtime_checkable
class ClosedPositions(Broker, Protocol):
    """An optional capability of a :class:`Broker`: the record of a closed position, as
    ``on_trade_closed`` promises it (the profit of all its closing deals, a partial
    close's included). The trading loop asks it for each position it finds closed; a
    broker without it (or one that does not know yet) is reported with the position's
    last view. The paper broker and the MetaTrader broker offer it."""

    def closed_trade(self, ticket: int) -> Trade | None:
        """The position ``ticket`` as it closed: its last closing deal's price, time and
        volume, with the profit of all its closing deals; ``None`` if it never closed or
        the broker cannot tell yet."""
        ...


@runtime_checkable
class CloseReasons(Protocol):
    """An optional capability of a :class:`Broker`: a closed position with why it closed.
    A stop or a target hit between two cycles of a live account is found by the loop's
    sweep, and on an account shared by several programs another program's close is found
    after one of this host's phases; without the broker's word the loop can only name the
    phase (``external``, ``action``, ``exit``), and a defender counting stop-outs would
    miss them. One call gives the record and the reason, from the same deals. The paper
    broker and the MetaTrader broker offer it."""

    def closed_with_reason(self, ticket: int) -> tuple[Trade, CloseReason | None] | None:
        """Position ``ticket`` as it closed (as :meth:`ClosedPositions.closed_trade` gives
        it), and ``"stop_loss"`` or ``"take_profit"`` when the broker closed it at its stop
        or its target (its last closing deal's reason), else ``None`` (an order closed it);
        ``None`` for both when it never closed or the broker cannot tell yet."""
        ...


@runtime_checkable
class OwnMagic(Protocol):
    """An optional capability of a :class:`Broker`: the magic number it marks this host's
    orders with (an :class:`OrderRequest` whose ``magic`` is 0 gets it), so a plugin can
    tell the host's positions from a trader's own (magic 0 on MetaTrader) or another
    program's on the same account, with no record of its own to go by. A broker without
    it puts the order's magic on the position and nothing of its own (the paper broker);
    the MetaTrader broker offers it. A plugin checks with
    ``isinstance(host.broker, OwnMagic)``."""

    @property
    def magic(self) -> int:
        """MetaTrader's ``[host.mt5] magic``: the magic an order that names none is sent
        with (a strategy's order may carry a magic of its own, kept as it is)."""
        ...


@dataclass(frozen=True, slots=True)
class WaitingOrder:
    """A market order the trade server accepted and has not executed yet
    (:class:`WaitingOrders`): ``direction`` is the side of the deal it makes, ``position``
    the ticket of the position it closes or reduces (``None``: it opens one)."""

    ticket: int
    symbol: str
    direction: Direction
    volume: float
    position: int | None = None
    magic: int = 0
    comment: str = ""


@runtime_checkable
class WaitingOrders(Protocol):
    """An optional capability of a :class:`Broker`: the market orders its trade server
    holds, accepted and not executed yet. An order whose answer was lost (a timeout, a
    lost connection: ``unknown_outcome``) may sit there for minutes and then fill; a
    plugin that settles such an outcome from the positions alone would take it as not
    applied and send it again, on top of the fill to come. The MetaTrader broker offers
    it (``orders_get``); the paper broker too, with none (its orders fill at once)."""

    def waiting_orders(self, symbol: str) -> list[WaitingOrder]:
        """The market orders of ``symbol`` accepted by the trade server and not executed
        yet (stop and limit orders, which wait for a price by design, are not among them).
        Raises :class:`BrokerError` when the broker cannot answer."""
        ...


@runtime_checkable
class SimBroker(ClosedPositions, Protocol):
    """An optional capability of a :class:`Broker`: a simulated account (the paper broker)
    that fills stops and targets on the replayed bars and keeps its closed trades. The
    trading loop checks for it with ``isinstance(broker, SimBroker)``; a live broker
    (MetaTrader) is not one, and the loop then learns of closes by sweeping positions."""

    def on_bar(self, symbol: str, bar: Bar) -> list[tuple[Trade, CloseReason]]:
        """Let ``bar`` (just closed) hit the stops and targets of ``symbol``'s positions;
        the trades it closed, each with ``"stop_loss"`` or ``"take_profit"``."""
        ...

    def closed_trades(self) -> Sequence[Trade]:
        """Every closing deal so far, oldest first, with its realised profit (a partial
        close is one deal of its volume)."""
        ...


@runtime_checkable
class ProfitCalculator(Broker, Protocol):
    """An optional capability of a :class:`Broker`: what a price move is worth in the
    account's currency, as MetaTrader's ``order_calc_profit`` answers it. A price move is
    in the symbol's quote currency (yen for ``USDJPY``, ``EURJPY``), which a plugin
    cannot convert on its own: a strategy that sizes by risk asks this with
    ``isinstance(host.broker, ProfitCalculator)`` and falls back to ``move × volume ×
    contract_size`` otherwise. The paper broker and the MetaTrader broker offer it."""

    def calc_profit(
        self,
        symbol: str,
        direction: Direction,
        volume: float,
        open_price: float,
        close_price: float,
    ) -> float | None:
        """The profit (negative: a loss), in the account's currency, of ``volume`` lots
        of ``symbol`` opened ``direction`` at ``open_price`` and closed at
        ``close_price``, before costs; ``None`` when the broker cannot say (an unknown
        symbol, no rate to convert with)."""
        ...


def apply_action(broker: Broker, action: Action) -> ActionResult:
    """Translate one :class:`Action` into the broker call(s) it means.

    This is the single definition of what each action kind does, shared by the host and
    the DTMS server so that the two can never disagree. It never raises: a broker that
    raises (a lost connection, ``BrokerError`` from a query) may or may not have acted, so
    that is an ``UNKNOWN_OUTCOME`` result, which callers resolve by re-reading the
    position before anything is sent again. An action whose params its kind cannot use
    (a ``stop_loss`` missing, a ``volume`` of ``"lots"``) never reaches the broker: it is
    ``REJECTED``, naming the parameter (:func:`~hookspecs.types.params_problem`).
    """
    problem = params_problem(action)
    if problem is not None:
        return ActionResult(False, ResultCode.REJECTED, f"{problem} (ticket {action.ticket})")
    try:
        return _apply(broker, action)
    except Exception as exc:
        message = f"{action.kind.value} on {action.ticket} raised {type(exc).__name__}: {exc}"
        return ActionResult(False, ResultCode.UNKNOWN_OUTCOME, message)


def re_add_order(position: Trade, action: Action) -> OrderRequest:
    """The order a ``re_add`` action opens: more of ``position`` (the volume the action
    says), with its stops and magic number. A new entry, so the host asks the plugins'
    ``allow_order`` about it before :func:`apply_action` sends it."""
    return OrderRequest(
        symbol=position.symbol,
        direction=position.direction,
        volume=float(action.params["volume"]),
        stop_loss=position.stop_loss,
        take_profit=position.take_profit,
        comment=f"DTMS_READD_{action.ticket}",
        source=action.source,
        magic=position.magic,
    )


def _apply(broker: Broker, action: Action) -> ActionResult:
    p = action.params
    kind = action.kind
    if kind in (ActionKind.TIGHTEN_SL, ActionKind.MOVE_SL_BREAKEVEN):
        pos = broker.position(action.ticket)
        if pos is None:
            return ActionResult.failure(ResultCode.NOT_FOUND, f"position {action.ticket} not found")
        return broker.modify_sl_tp(action.ticket, float(p["stop_loss"]), pos.take_profit)
    if kind is ActionKind.PARTIAL_CLOSE:
        return broker.close(action.ticket, float(p["volume"]))
    if kind is ActionKind.HEDGE:
        return broker.hedge(action.ticket, float(p["volume"]))
    if kind is ActionKind.CLOSE_HEDGE:
        return broker.close(int(p["hedge_ticket"]))
    if kind is ActionKind.CLOSE:
        hedge_ticket = p.get("hedge_ticket")
        if hedge_ticket:
            hedge_result = broker.close(int(hedge_ticket))
            if not hedge_result.ok and hedge_result.code is not ResultCode.NOT_FOUND:
                return hedge_result
        return broker.close(action.ticket)
    if kind is ActionKind.RE_ADD:
        pos = broker.position(action.ticket)
        if pos is None:
            return ActionResult.failure(ResultCode.NOT_FOUND, f"position {action.ticket} not found")
        return broker.open(re_add_order(pos, action))
    raise AssertionError(f"unhandled action kind {kind}")  # pragma: no cover
