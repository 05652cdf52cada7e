"""A broker double that enforces a real broker's rules, and a small HostView around it.

``BrokerDouble`` implements :class:`hookspecs.Broker`: volume step / minimum / maximum,
stops level (distance from the closing price), freeze level, hedging refused on a netting
account, and every refusal returned as an :class:`ActionResult` with a
:class:`ResultCode`, never raised. Queries raise :class:`BrokerError` when told to fail.
Faults can be scripted per method (``script``), including the nasty one: the broker did
the work but the caller only saw a timeout (``UNKNOWN_OUTCOME`` after applying).

``HostDouble`` is a self-contained :class:`hookspecs.HostView`: a market of closed bars
as of the clock, a manual clock, ``execute`` through :func:`hookspecs.apply_action` with
``on_action`` and ``on_state_change`` recorded in lists.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from hookspecs import (
    AccountInfo,
    Action,
    ActionResult,
    Bar,
    BrokerError,
    DefensiveState,
    OrderRequest,
    Quote,
    ResultCode,
    SymbolInfo,
    Timeframe,
    Trade,
    apply_action,
    opposite,
)

_EPS = 1e-9


def _fail(code: ResultCode, message: str) -> ActionResult:
    return ActionResult.failure(code, message)


@dataclass
class BrokerDouble:
    infos: dict[str, SymbolInfo]
    clock: ManualClock
    hedging: bool = True
    balance: float = 10_000.0
    spread: float = 0.2
    mids: dict[str, float] = field(default_factory=dict)
    open_positions: dict[int, Trade] = field(default_factory=dict)
    closed: list[Trade] = field(default_factory=list)
    calls: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    script: dict[str, list[ResultCode]] = field(default_factory=dict)
    apply_then_timeout: set[str] = field(default_factory=set)
    query_error: bool = False
    next_ticket: int = 1000

    # --- helpers for tests -----------------------------------------------------------

    def add(self, trade: Trade) -> Trade:
        self.open_positions[trade.ticket] = trade
        return trade

    def quote(self, symbol: str) -> Quote | None:
        mid = self.mids.get(symbol)
        if mid is None:
            return None
        half = self.spread / 2
        return Quote(symbol, mid - half, mid + half, self.clock.now())

    def count(self, method: str) -> int:
        return sum(1 for m, _ in self.calls if m == method)

    def _scripted(self, method: str) -> ActionResult | None:
        queue = self.script.get(method)
        if queue:
            code = queue.pop(0)
            return _fail(code, f"scripted {code.value}")
        return None

    def _volume_ok(self, symbol: str, volume: float) -> str | None:
        info = self.infos[symbol]
        steps = volume / info.volume_step
        if abs(steps - round(steps)) > 1e-6:
            return f"volume {volume} is not a multiple of the step {info.volume_step}"
        if volume < info.volume_min - _EPS or volume > info.volume_max + _EPS:
            return f"volume {volume} outside [{info.volume_min}, {info.volume_max}]"
        return None

    def _exit_price(self, trade: Trade) -> float:
        q = self.quote(trade.symbol)
        assert q is not None, f"no price for {trade.symbol}"
        return q.bid if trade.direction == "buy" else q.ask

    def _done(self, method: str, result: ActionResult) -> ActionResult:
        if method in self.apply_then_timeout:
            self.apply_then_timeout.discard(method)
            return _fail(ResultCode.UNKNOWN_OUTCOME, "timeout after the request was sent")
        return result

    # --- Broker ------------------------------------------------------------------------

    def positions(self) -> list[Trade]:
        if self.query_error:
            raise BrokerError("positions_get returned None")
        return list(self.open_positions.values())

    def position(self, ticket: int) -> Trade | None:
        if self.query_error:
            raise BrokerError("positions_get returned None")
        return self.open_positions.get(ticket)

    def open(self, order: OrderRequest) -> ActionResult:
        self.calls.append(("open", (order,)))
        if (scripted := self._scripted("open")) is not None:
            return scripted
        if (why := self._volume_ok(order.symbol, order.volume)) is not None:
            return _fail(ResultCode.INVALID_VOLUME, why)
        q = self.quote(order.symbol)
        if q is None:
            return _fail(ResultCode.MARKET_CLOSED, "no price")
        ticket = self.next_ticket
        self.next_ticket += 1
        self.open_positions[ticket] = Trade(
            ticket,
            order.symbol,
            order.direction,
            order.volume,
            q.ask if order.direction == "buy" else q.bid,
            order.stop_loss,
            order.take_profit,
            self.clock.now(),
            order.magic,
            order.comment,
        )
        return self._done("open", ActionResult.success(new_ticket=ticket))

    def modify_sl_tp(
        self, ticket: int, stop_loss: float | None, take_profit: float | None
    ) -> ActionResult:
        self.calls.append(("modify_sl_tp", (ticket, stop_loss, take_profit)))
        if (scripted := self._scripted("modify_sl_tp")) is not None:
            return scripted
        pos = self.open_positions.get(ticket)
        if pos is None:
            return _fail(ResultCode.NOT_FOUND, f"position {ticket} not found")
        info = self.infos[pos.symbol]
        price = self._exit_price(pos)
        sign = pos.sign
        frozen = pos.stop_loss is not None and abs(price - pos.stop_loss) <= info.freeze_level
        if info.freeze_level > 0 and frozen:
            return _fail(ResultCode.FROZEN, "inside the freeze level")
        if stop_loss is not None:
            if sign * (price - stop_loss) < info.stops_level - _EPS:
                return _fail(ResultCode.INVALID_STOPS, f"SL {stop_loss} inside the stops level")
            if not math.isclose(stop_loss, round(stop_loss, info.digits), abs_tol=1e-9):
                return _fail(ResultCode.INVALID_STOPS, f"SL {stop_loss} not rounded")
        if stop_loss == pos.stop_loss and take_profit == pos.take_profit:
            return ActionResult(True, ResultCode.NO_CHANGES, "no changes")
        self.open_positions[ticket] = replace(pos, stop_loss=stop_loss, take_profit=take_profit)
        return self._done("modify_sl_tp", ActionResult.success())

    def close(self, ticket: int, volume: float | None = None) -> ActionResult:
        self.calls.append(("close", (ticket, volume)))
        if (scripted := self._scripted("close")) is not None:
            return scripted
        pos = self.open_positions.get(ticket)
        if pos is None:
            return _fail(ResultCode.NOT_FOUND, f"position {ticket} not found")
        price = self._exit_price(pos)
        if volume is None or abs(volume - pos.volume) < _EPS:
            del self.open_positions[ticket]
            profit = pos.sign * (price - pos.entry_price) * pos.volume
            self.closed.append(
                replace(pos, profit=profit, close_price=price, closed_at=self.clock.now())
            )
            return self._done("close", ActionResult.success())
        if (why := self._volume_ok(pos.symbol, volume)) is not None:
            return _fail(ResultCode.INVALID_VOLUME, why)
        remaining = round(pos.volume - volume, 8)
        if remaining < self.infos[pos.symbol].volume_min - _EPS:
            return _fail(ResultCode.INVALID_VOLUME, f"would leave {remaining} open")
        self.open_positions[ticket] = replace(pos, volume=remaining)
        return self._done("close", ActionResult.success())

    def hedge(self, ticket: int, volume: float) -> ActionResult:
        self.calls.append(("hedge", (ticket, volume)))
        if (scripted := self._scripted("hedge")) is not None:
            return scripted
        if not self.hedging:
            return _fail(ResultCode.HEDGING_NOT_ALLOWED, "netting account")
        pos = self.open_positions.get(ticket)
        if pos is None:
            return _fail(ResultCode.NOT_FOUND, f"position {ticket} not found")
        order = OrderRequest(
            pos.symbol,
            opposite(pos.direction),
            volume,
            comment=f"DTMS_HEDGE_{ticket}",
            source="dtms",
        )
        timeout = "hedge" in self.apply_then_timeout
        self.apply_then_timeout.discard("hedge")
        result = self.open(order)
        self.calls.pop()  # the inner open is part of this hedge call
        if timeout and result.ok:
            return _fail(ResultCode.UNKNOWN_OUTCOME, "timeout after the request was sent")
        return result

    def symbol_info(self, symbol: str) -> SymbolInfo | None:
        return self.infos.get(symbol)

    def account(self) -> AccountInfo:
        if self.query_error:
            raise BrokerError("account_info returned None")
        mode = "hedging" if self.hedging else "netting"
        return AccountInfo(1, self.balance, self.balance, mode)


class ManualClock:
    def __init__(self, now: datetime) -> None:
        self.t = now

    def now(self) -> datetime:
        return self.t

    def advance(self, delta: timedelta) -> datetime:
        self.t += delta
        return self.t


class MarketDouble:
    """Closed bars only, as of the clock: a bar is returned once ``time + period ≤ now``."""

    base_timeframe = "M1"  # any timeframe a test sets

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.by_timeframe: dict[tuple[str, str], list[Bar]] = {}
        self.requests: list[tuple[str, str, int]] = []

    def set(self, symbol: str, timeframe: str, bars: list[Bar]) -> None:
        self.by_timeframe[(symbol, timeframe)] = bars

    def bars(self, symbol: str, timeframe: str, count: int) -> Sequence[Bar]:
        self.requests.append((symbol, timeframe, count))
        period = Timeframe.parse(timeframe).period
        now = self.clock.now()
        series = self.by_timeframe.get((symbol, timeframe), [])
        closed = [b for b in series if b.time + period <= now]
        return closed[-count:] if count > 0 else []


@dataclass
class HostDouble:
    broker: BrokerDouble
    market: MarketDouble
    clock: ManualClock
    config: dict[str, Any] = field(default_factory=dict)
    timeframe: str = "M5"
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("test.host"))
    actions: list[tuple[Action, ActionResult]] = field(default_factory=list)
    state_changes: list[tuple[int, DefensiveState, DefensiveState, str]] = field(
        default_factory=list
    )
    crash_after_broker: set[str] = field(default_factory=set)
    crash_before_broker: set[str] = field(default_factory=set)
    mode: str = "simulated"
    serve_options: None = None

    def config_for(self, plugin_name: str) -> Mapping[str, Any]:
        return self.config if plugin_name == "dtms" else {}

    def is_defensive(self, ticket: int) -> bool:
        return False  # no plugin of its own to ask

    async def execute(self, action: Action) -> ActionResult:
        if action.kind.value in self.crash_before_broker:
            self.crash_before_broker.discard(action.kind.value)
            raise SimulatedCrash(f"process died before sending {action.kind.value}")
        result = apply_action(self.broker, action)
        if action.kind.value in self.crash_after_broker:
            self.crash_after_broker.discard(action.kind.value)
            raise SimulatedCrash(f"process died after the broker did {action.kind.value}")
        self.actions.append((action, result))
        return result

    async def report_state_change(
        self,
        ticket: int,
        old: DefensiveState,
        new: DefensiveState,
        reason: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        self.state_changes.append((ticket, old, new, reason))


class SimulatedCrash(BaseException):
    """Raised by ``HostDouble.execute`` to stop a cycle dead, like a killed process."""
