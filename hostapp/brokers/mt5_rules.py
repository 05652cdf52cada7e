"""A symbol's trading rules, checked before a request is sent.

The trade server enforces all of these; checking first turns a round trip ending in
10014/10016/10029 into an immediate, explained refusal, and (for volumes) lets the adapter
floor a DTMS fraction such as ``0.37 × 0.5`` lots to a volume the server accepts.
Distances are compared in whole points so float noise never flips a decision.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hookspecs import ActionResult, Direction, ResultCode, SymbolInfo

from .mt5_retcodes import (
    EXECUTION_EXCHANGE,
    EXECUTION_INSTANT,
    EXECUTION_MARKET,
    EXECUTION_REQUEST,
    SYMBOL_FILLING_FOK,
    SYMBOL_FILLING_IOC,
)


@dataclass(frozen=True, slots=True)
class Constants:
    """The API constants the adapter sends, read from the API object (module attributes
    on Windows, instance attributes on an mt5linux client)."""

    deal: int
    sltp: int
    remove: int
    buy: int
    sell: int
    fok: int
    ioc: int
    ret: int
    gtc: int
    hedging: int

    @classmethod
    def from_api(cls, api: object) -> Constants:
        names = {
            "deal": "TRADE_ACTION_DEAL",
            "sltp": "TRADE_ACTION_SLTP",
            "remove": "TRADE_ACTION_REMOVE",
            "buy": "ORDER_TYPE_BUY",
            "sell": "ORDER_TYPE_SELL",
            "fok": "ORDER_FILLING_FOK",
            "ioc": "ORDER_FILLING_IOC",
            "ret": "ORDER_FILLING_RETURN",
            "gtc": "ORDER_TIME_GTC",
            "hedging": "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING",
        }
        values: dict[str, int] = {}
        for field, name in names.items():
            value = getattr(api, name, None)
            if value is None:
                raise AttributeError(f"the MetaTrader5 API object has no constant {name}")
            values[field] = int(value)
        return cls(**values)

    def order_type(self, direction: Direction) -> int:
        return self.buy if direction == "buy" else self.sell


def _decimals(step: float) -> int:
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def floor_volume(volume: float, info: SymbolInfo) -> float:
    """``volume`` floored to ``volume_step`` and capped at ``volume_max``; 0.0 when that
    falls below ``volume_min`` (the caller refuses). Never rounds up: a defensive partial
    close or hedge must not trade more than asked."""
    step = info.volume_step
    capped = min(volume, info.volume_max)
    steps = math.floor(capped / step + 1e-9)
    floored = round(steps * step, _decimals(step))
    return floored if floored >= info.volume_min - 1e-12 else 0.0


def below_min(label: str, info: SymbolInfo) -> ActionResult:
    """The refusal, unsent, of an order whose volume :func:`floor_volume` took to 0.0:
    what an open, a hedge and a partial close all answer."""
    return ActionResult.failure(
        ResultCode.INVALID_VOLUME,
        f"{label}: below the symbol's volume_min {info.volume_min} once floored to "
        f"volume_step {info.volume_step}",
    )


def above_max(volume: float, info: SymbolInfo) -> bool:
    """``volume``, floored to ``volume_step``, is more than ``volume_max``: an open of it
    is refused, as the paper broker refuses it, rather than quietly made smaller."""
    steps = math.floor(volume / info.volume_step + 1e-9)
    return steps * info.volume_step > info.volume_max + 1e-9


def snap_price(price: float, tick_size: float, digits: int) -> float:
    """``price`` on the symbol's price grid: the nearest multiple of ``trade_tick_size``
    (an index CFD may move in 0.25 while its ``digits`` allow 0.01; the server refuses
    anything in between with 10015/10016), written with ``digits`` decimals."""
    if tick_size <= 0:
        return round(price, digits)
    return round(round(price / tick_size) * tick_size, digits)


def snap_level(
    level: float, direction: Direction, tick_size: float, digits: int, *, target: bool = False
) -> float:
    """A position's stop (``target`` False) or target on the price grid, rounded away from
    the price that closes it: a buy's stop down and its target up, a sell's stop up and
    its target down. The nearest tick can be closer to the price than the level asked:
    a stop a plugin moved out to the stops level would land inside it and be refused
    (10016), and a stop moved in would risk more than it chose (docs/mt5.md, "Prices")."""
    if tick_size <= 0:
        return round(level, digits)
    steps = level / tick_size
    down = (direction == "buy") != target
    # a level already on the grid stays where it is, whatever float noise says
    snapped = math.floor(steps + 1e-9) if down else math.ceil(steps - 1e-9)
    return round(snapped * tick_size, digits)


def tick_size(raw: Mapping[str, Any], point: float) -> float:
    """``trade_tick_size`` from ``symbol_info()``; the point when the terminal gives 0."""
    return float(raw.get("trade_tick_size") or 0.0) or point


def exemode(raw: Mapping[str, Any]) -> int:
    """``trade_exemode`` from ``symbol_info()`` (Market execution when it is missing)."""
    return int(raw.get("trade_exemode", EXECUTION_MARKET))


def _points(distance: float, point: float) -> int:
    return round(distance / point)


def stops_problem(
    direction: Direction,
    sl: float | None,
    tp: float | None,
    bid: float,
    ask: float,
    info: SymbolInfo,
) -> str | None:
    """Why the server would answer 10016, or None. A position's stops are measured from
    the price that closes it (bid for a buy, ask for a sell), at least the stops level."""
    price = bid if direction == "buy" else ask
    sign = 1 if direction == "buy" else -1
    level = _points(info.stops_level, info.point)
    # a stop sits on the losing side of the closing price, a target on the winning side
    for name, value, side in (("stop loss", sl, sign), ("take profit", tp, -sign)):
        if value is None:
            continue
        dist = _points((price - value) * side, info.point)
        if dist <= 0:
            return f"{name} {value} is on the wrong side of the {direction} closing price {price}"
        if dist < level:
            return (
                f"{name} {value} is {dist} points from {price}; the symbol's stops level "
                f"is {level} points"
            )
    return None


def freeze_problem(
    direction: Direction,
    sl: float | None,
    tp: float | None,
    bid: float,
    ask: float,
    info: SymbolInfo,
) -> str | None:
    """Why the server would answer 10029 FROZEN for a modify or close, or None: a stop or
    target of the position within the freeze level of the closing price (strictly greater
    distance required)."""
    level = _points(info.freeze_level, info.point)
    if level <= 0:
        return None
    price = bid if direction == "buy" else ask
    sign = 1 if direction == "buy" else -1
    for name, value, dist_sign in (("stop loss", sl, sign), ("take profit", tp, -sign)):
        if value is None:
            continue
        dist = _points((price - value) * dist_sign, info.point)
        if dist <= level:
            return (
                f"the position's {name} {value} is {dist} points from {price}, inside the "
                f"freeze level of {level} points: the server refuses changes until price moves"
            )
    return None


def filling_order(mask: int, exemode: int, c: Constants, cached: int | None) -> list[int]:
    """Filling policies to try for a market order, best first (docs/mt5.md, "Filling
    mode"). Instant and Request execution take Fill or Kill only. Market execution takes
    FOK or IOC, those the symbol's ``filling_mode`` bitmask names first (a broker's real
    policy can differ from its mask, and 10030 then says so), then RETURN, which has no
    flag and which the MQL5 reference allows on Market and Exchange execution: a symbol
    whose mask is 0 trades with it. Exchange execution takes those named, then RETURN.
    The policy that worked last for the symbol goes first when the mode allows it."""
    if exemode in (EXECUTION_INSTANT, EXECUTION_REQUEST):
        return [c.fok]
    flagged = [
        policy
        for flag, policy in ((SYMBOL_FILLING_FOK, c.fok), (SYMBOL_FILLING_IOC, c.ioc))
        if mask & flag
    ]
    if exemode == EXECUTION_EXCHANGE:
        allowed = [*flagged, c.ret]
    else:
        allowed = [*flagged, *(p for p in (c.fok, c.ioc) if p not in flagged), c.ret]
    if cached is not None and cached in allowed:
        allowed.remove(cached)
        allowed.insert(0, cached)
    return allowed


def slippage_points(buying: bool, asked: float, filled: float, point: float) -> int:
    """How many points a fill came out worse than the price asked (negative: better)."""
    if asked <= 0 or filled <= 0 or point <= 0:
        return 0
    return round((filled - asked if buying else asked - filled) / point)
