"""Plain data that crosses the hook contract.

Every type is a frozen dataclass that validates itself on construction, so a plugin
can never hand the host (or another plugin) a trade with a naive timestamp, a negative
volume or a direction of ``"BUY "``. Prices are floats, volumes are lots, times are
timezone-aware UTC datetimes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from .frozen import FrozenDict

Direction = Literal["buy", "sell"]
DIRECTIONS: tuple[Direction, ...] = ("buy", "sell")
#: Why a position closed (``on_trade_closed``): its stop or target inside a bar, a
#: plugin's action during ``on_cycle`` (or in ``on_trade_closed``), an action during
#: ``manage_positions``, a strategy's order the other way on a netting account, or outside
#: the host.
CloseReason = Literal["stop_loss", "take_profit", "action", "exit", "netted", "external"]


#: Comment prefixes the host keeps for positions opened on behalf of another trade (the
#: ticket after the prefix): a ``hedge`` action's and a ``re_add``'s. The reports count a
#: position with one as part of that trade (:class:`OrderRequest`).
RESERVED_COMMENTS: tuple[str, ...] = ("DTMS_HEDGE_", "DTMS_READD_")


class DataError(ValueError):
    """A data type was built with a bad field; the message names the field."""


def parse_direction(value: object, field_name: str = "direction") -> Direction:
    """Accept ``buy``/``sell`` in any case (``"BUY"``, ``" Sell "``); reject anything else."""
    if isinstance(value, str):
        norm = value.strip().lower()
        if norm == "buy":
            return "buy"
        if norm == "sell":
            return "sell"
    raise DataError(f"{field_name}: expected 'buy' or 'sell', got {value!r}")


def opposite(direction: Direction) -> Direction:
    return "sell" if direction == "buy" else "buy"


def _require_utc(name: str, value: object) -> None:
    if type(value) is datetime and value.tzinfo is UTC:
        return  # the common case first: every bar and trade the host makes is built so
    if not isinstance(value, datetime):
        raise DataError(f"{name}: expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise DataError(f"{name}: datetime must be timezone-aware (UTC), got naive {value}")
    if value.utcoffset() != timedelta(0):
        raise DataError(f"{name}: datetime must be in UTC, got offset {value.utcoffset()}")


def _require_finite(name: str, value: object, *, positive: bool = False) -> None:
    # the common case first (a plain float, finite: x − x is 0 only then): data types are
    # built on every bar and every position query of a replay
    if type(value) is float and value - value == 0.0 and (value > 0.0 or not positive):
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataError(f"{name}: expected a finite number, got {value!r}")
    if positive and value <= 0:
        raise DataError(f"{name}: must be > 0, got {value!r}")


def _require_optional_price(name: str, value: object) -> None:
    if value is not None:
        _require_finite(name, value, positive=True)


def _require_ticket(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise DataError(f"{name}: expected an int > 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class Bar:
    """One closed bar. ``time`` is the bar's open time (UTC), as MetaTrader reports it."""

    time: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0
    spread: float = 0.0  # in price units, not points

    def __post_init__(self) -> None:
        _require_utc("time", self.time)
        for name in ("open", "high", "low", "close"):
            _require_finite(name, getattr(self, name), positive=True)
        _require_finite("volume", self.volume)
        _require_finite("spread", self.spread)
        if self.high < max(self.open, self.close) or self.low > min(self.open, self.close):
            raise DataError(
                f"high/low: bar at {self.time.isoformat()} has high {self.high} and low "
                f"{self.low} outside open {self.open} / close {self.close}"
            )


@dataclass(frozen=True, slots=True)
class Trade:
    """An open position (or, in ``on_trade_closed``, the position as it was closed).

    ``ticket`` is the position's identity: the same from its open to its close, in every
    hook and every broker call, however the broker numbers it meanwhile (a MetaTrader
    server that charges a swap by re-opening the position gives it a new ticket and keeps
    its identifier, which is what the broker presents: docs/mt5.md). ``entry_price`` and
    ``opened_at`` are where and when the trade was entered, also after such a re-open.
    ``stop_loss``/``take_profit`` are ``None`` when not set. ``profit`` is the floating
    profit in account currency for an open trade (as the broker values its open lots, the
    swap accrued so far included: a re-opened MetaTrader position's since the re-open,
    what came before being booked to the balance) and the realised one for a closed
    trade, all of its deals'; ``close_price``
    and ``closed_at`` are set only on closed trades.
    """

    ticket: int
    symbol: str
    direction: Direction
    volume: float
    entry_price: float
    stop_loss: float | None
    take_profit: float | None
    opened_at: datetime
    magic: int = 0
    comment: str = ""
    profit: float = 0.0
    close_price: float | None = None
    closed_at: datetime | None = None

    def __post_init__(self) -> None:
        _require_ticket("ticket", self.ticket)
        if not isinstance(self.symbol, str) or not self.symbol.strip():
            raise DataError(f"symbol: expected a non-empty string, got {self.symbol!r}")
        if self.direction not in DIRECTIONS:
            raise DataError(f"direction: expected 'buy' or 'sell', got {self.direction!r}")
        _require_finite("volume", self.volume, positive=True)
        _require_finite("entry_price", self.entry_price, positive=True)
        _require_optional_price("stop_loss", self.stop_loss)
        _require_optional_price("take_profit", self.take_profit)
        _require_utc("opened_at", self.opened_at)
        _require_finite("profit", self.profit)
        _require_optional_price("close_price", self.close_price)
        if self.closed_at is not None:
            _require_utc("closed_at", self.closed_at)

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: multiply a price move by it to get the trade's gain."""
        return 1 if self.direction == "buy" else -1


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A market order a strategy proposes. ``source`` is the proposing plugin's name, set
    by the host: leave it empty (a different name is replaced by the proposing plugin's,
    said in one WARNING per plugin, docs/plugins.md "Who did it: source").

    ``comment`` is the broker's comment on the position (MetaTrader shows it, and keeps
    it across restarts). Two prefixes are reserved for positions the host opens on
    behalf of another trade: ``DTMS_HEDGE_<ticket>`` (a hedge action's) and
    ``DTMS_READD_<ticket>`` (a re-add's). Do not start a comment with them: the host's
    reports count such a position as part of trade ``<ticket>``, trade managers such as
    ``atr_trailing`` leave it alone, and DTMS, when it has lost its records, takes it for
    one of its hedges and does not adopt it (docs/plugins.md, "Reserved comments"). So
    the host clears such a comment of an order a plugin proposes (:data:`RESERVED_COMMENTS`;
    said in one WARNING per plugin, naming it and the comment) and opens the order
    without one.
    """

    symbol: str
    direction: Direction
    volume: float
    stop_loss: float | None = None
    take_profit: float | None = None
    comment: str = ""
    source: str = ""
    magic: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol.strip():
            raise DataError(f"symbol: expected a non-empty string, got {self.symbol!r}")
        if self.direction not in DIRECTIONS:
            raise DataError(f"direction: expected 'buy' or 'sell', got {self.direction!r}")
        _require_finite("volume", self.volume, positive=True)
        _require_optional_price("stop_loss", self.stop_loss)
        _require_optional_price("take_profit", self.take_profit)


@dataclass(frozen=True, slots=True)
class Veto:
    """An ``allow_order`` objection that says what kind it is. ``reason`` is the text a
    log line shows (it may name a time, a ticket or a figure); ``kind`` is the same text
    for every veto of the same cause, so a run's summary can count them together
    ("120 × account defensive mode", not one line per date). A plain string veto is its
    own kind. ``plugin``: who vetoed, filled in by the host when it passes the veto on (a
    plugin leaves it empty), so the host counts vetoes by plugin without reading it back
    out of the text."""

    reason: str
    kind: str
    plugin: str = ""

    def __post_init__(self) -> None:
        for name in ("reason", "kind"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise DataError(f"Veto.{name}: expected a non-empty string, got {value!r}")


class ActionKind(StrEnum):
    """What a defensive action does at the broker.

    Parameters each kind reads from ``Action.params``:
    ``tighten_sl``/``move_sl_breakeven``: ``stop_loss``; ``partial_close``: ``volume``;
    ``hedge``: ``volume``; ``close_hedge``: ``hedge_ticket``; ``close``: optional
    ``hedge_ticket`` (closed too); ``re_add``: ``volume``.

    Volumes the host refuses before any broker call (a failed result, ``rejected``,
    naming the parameter and both volumes; docs/plugins.md, "Volumes of actions"): a
    ``partial_close`` whose ``volume`` is at or above the position's open volume (a
    broker would close it all and call it a part; send a ``close`` to close it all), and
    a ``hedge`` whose ``volume`` is above the position's open volume (the excess would be
    a new position the other way, which no ``allow_order`` is asked about). On a netting
    account a ``hedge`` is refused by the broker (``hedging_not_allowed``): an opposite
    order there reduces the position, which is a ``partial_close``.
    """

    TIGHTEN_SL = "tighten_sl"
    MOVE_SL_BREAKEVEN = "move_sl_breakeven"
    PARTIAL_CLOSE = "partial_close"
    HEDGE = "hedge"
    CLOSE_HEDGE = "close_hedge"
    CLOSE = "close"
    RE_ADD = "re_add"


@dataclass(frozen=True, slots=True)
class Action:
    """A planned defensive action on one trade.

    ``key`` is required (an empty one is refused: ``DataError``, "an action needs an
    idempotency key"): an idempotency key, the same each time the same decision is
    replayed and different for each new one, so an executor can refuse to do it twice.
    A good key is made of what identifies the decision, never of a clock read or a
    counter that restarts: the ticket, the kind, and which step of the plugin's own
    progress on that trade it is (DTMS's: ticket, state-entry sequence, kind; an exit
    manager's: ticket, kind and its count of actions on that ticket).
    ``source`` names the plugin that planned it, so reports can tell whose action it was:
    ``host.execute`` sets it to the plugin whose hook called it (a different name is
    replaced, said in one WARNING per plugin); called outside any plugin's hook (a web
    route's handler, a test), the action keeps what it says, and one that says nothing is
    counted in the summary's ``actions_by_source`` as ``outside any plugin hook``.

    ``params`` is read-only (a :class:`~hookspecs.frozen.FrozenDict`, nested values too),
    made from a copy of the mapping it is given: its planner journals those params, so
    no plugin may edit them in place (``dict(action.params)`` is a copy to change; each
    ``on_action`` listener hears a copy of the action of its own). It compares equal
    to, and serialises as, a plain dict.
    """

    ticket: int
    kind: ActionKind
    params: Mapping[str, Any] = field(default_factory=FrozenDict)
    reason: str = ""
    key: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        _require_ticket("ticket", self.ticket)
        if not isinstance(self.kind, ActionKind):
            try:
                object.__setattr__(self, "kind", ActionKind(self.kind))
            except ValueError:
                kinds = ", ".join(k.value for k in ActionKind)
                raise DataError(f"kind: expected one of {kinds}, got {self.kind!r}") from None
        if not self.key:
            raise DataError("key: an action needs an idempotency key")
        if type(self.params) is not FrozenDict:
            if not isinstance(self.params, Mapping):
                got = type(self.params).__name__
                raise DataError(f"params: expected a mapping of names to values, got {got}")
            object.__setattr__(self, "params", FrozenDict(self.params))


#: The parameters each kind needs (:class:`ActionKind`'s docstring), and what each must be
#: read as: a number above 0 (a price or lots) or a ticket.
_NEEDED = {
    ActionKind.TIGHTEN_SL: ("stop_loss",), ActionKind.MOVE_SL_BREAKEVEN: ("stop_loss",),
    ActionKind.PARTIAL_CLOSE: ("volume",), ActionKind.HEDGE: ("volume",),
    ActionKind.CLOSE_HEDGE: ("hedge_ticket",), ActionKind.CLOSE: (), ActionKind.RE_ADD: ("volume",),
}  # fmt: skip


def params_problem(action: Action) -> str | None:
    """What is wrong with ``action.params`` for its kind (a parameter missing, or one that
    is not a number above 0, or a ticket), or ``None``. Checked before any broker call:
    such an action never reached the broker, so it is a refusal the plugin can fix, not
    an outcome to find out (``hookspecs.broker.apply_action``)."""
    p = action.params
    names = _NEEDED[action.kind] + (("hedge_ticket",) if p.get("hedge_ticket") else ())
    for name in names:
        if name not in p:
            return f"{action.kind.value} needs params[{name!r}]"
        value = p[name]
        try:
            number = int(value) if name == "hedge_ticket" else float(value)
        except (TypeError, ValueError, OverflowError):
            number = None
        if isinstance(value, bool) or number is None or not math.isfinite(number) or number <= 0:
            kind = "a ticket" if name == "hedge_ticket" else "a number above 0"
            return f"{action.kind.value}: params[{name!r}] must be {kind}, got {value!r}"
    return None


class ResultCode(StrEnum):
    """Broker-neutral outcome classes. Adapters put the native code in ``message``."""

    OK = "ok"
    NO_CHANGES = "no_changes"  # the request asked for what already is: a success
    INVALID_VOLUME = "invalid_volume"
    INVALID_STOPS = "invalid_stops"
    FROZEN = "frozen"  # inside the freeze level: try again later
    NOT_FOUND = "not_found"  # the position does not exist (any more)
    HEDGING_NOT_ALLOWED = "hedging_not_allowed"  # netting account
    TRANSIENT = "transient"  # requote, price changed, busy: retry with a fresh price
    UNKNOWN_OUTCOME = "unknown_outcome"  # timeout: re-read positions before retrying
    NO_MONEY = "no_money"
    MARKET_CLOSED = "market_closed"
    #: trading refused for now by the terminal, the account or the server (MetaTrader's
    #: Algo Trading button off): no fault of the order, so try it again later
    TRADING_DISABLED = "trading_disabled"
    REJECTED = "rejected"  # any other refusal (an action whose params are wrong, too)
    VETOED = "vetoed"  # a plugin's allow_order refused the order an action opens: final


#: What an order did to a netting account's position (:attr:`ActionResult.netting`).
NettingEffect = Literal["added", "reduced", "closed", "reversed"]


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What a broker call (or an executed action) did. Never raised: returned."""

    ok: bool
    code: ResultCode
    message: str = ""
    new_ticket: int | None = None
    #: Lots that actually executed, when the broker reports it (a fill can be smaller
    #: than the request); ``None`` when it does not or nothing traded.
    filled_volume: float | None = None
    #: What an open did on a netting account, where a symbol holds one position and an
    #: order changes it: ``None`` when the order opened a position of its own. Added to
    #: or reduced: ``new_ticket`` is the position it changed; closed: ``None``; reversed:
    #: the new side's position (the old one closed).
    netting: NettingEffect | None = None

    @classmethod
    def success(cls, message: str = "", new_ticket: int | None = None) -> ActionResult:
        return cls(True, ResultCode.OK, message, new_ticket)

    @classmethod
    def failure(cls, code: ResultCode, message: str) -> ActionResult:
        return cls(False, code, message)


class DefensiveState(StrEnum):
    """The DTMS ladder. ``is_defensive`` answers True for WARNING_L2 and HEDGED."""

    HEALTHY = "HEALTHY"
    WARNING_L1 = "WARNING_L1"
    WARNING_L2 = "WARNING_L2"
    HEDGED = "HEDGED"
    RECOVERING = "RECOVERING"
    CLOSED = "CLOSED"

    @property
    def defensive(self) -> bool:
        return self in DEFENSIVE_STATES


#: The defensive states (the seed's Phase 4): the one definition, also for state names
#: read from JSON (a ``StrEnum`` member hashes as its value).
DEFENSIVE_STATES: frozenset[DefensiveState] = frozenset(
    {DefensiveState.WARNING_L2, DefensiveState.HEDGED}
)
