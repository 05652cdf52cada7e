"""The paper broker's trading rules, as pure functions of a position, a bar, a quote and
a symbol's specification, so they can be tested without an account."""

from __future__ import annotations

import math

from hookspecs import ActionResult, Bar, Direction, Quote, ResultCode, SymbolInfo

from .paper_account import Position

EPS = 1e-9


def fail(code: ResultCode, message: str) -> ActionResult:
    return ActionResult.failure(code, message)


def hit(pos: Position, bar: Bar, spread: float) -> tuple[float, str] | None:
    """Where ``pos`` closes inside ``bar``, if it does. ``spread`` is added to the bar's
    (bid) prices for a sell, which closes at the ask. Order: a gap through the stop or the
    target fills at the open; then the stop at its price; then the target at its price."""
    o, h, low = bar.open + spread, bar.high + spread, bar.low + spread
    sl, tp = pos.stop_loss, pos.take_profit
    if pos.direction == "buy":
        if sl is not None and o <= sl:
            return o, "stop_loss"
        if tp is not None and o >= tp:
            return o, "take_profit"
        if sl is not None and low <= sl:
            return sl, "stop_loss"
        if tp is not None and h >= tp:
            return tp, "take_profit"
        return None
    if sl is not None and o >= sl:
        return o, "stop_loss"
    if tp is not None and o <= tp:
        return o, "take_profit"
    if sl is not None and h >= sl:
        return sl, "stop_loss"
    if tp is not None and low <= tp:
        return tp, "take_profit"
    return None


def round_volume(info: SymbolInfo, volume: float) -> float | ActionResult:
    """``volume`` rounded down to the step, or the refusal when that is out of bounds."""
    steps = math.floor(volume / info.volume_step + EPS)
    decimals = max(0, -math.floor(math.log10(info.volume_step)) + 1)
    rounded = round(steps * info.volume_step, decimals)
    if rounded < info.volume_min - EPS:
        return fail(
            ResultCode.INVALID_VOLUME,
            f"volume {volume:g} is below the minimum {info.volume_min:g} "
            f"(rounded down to the step {info.volume_step:g})",
        )
    if rounded > info.volume_max + EPS:
        return fail(
            ResultCode.INVALID_VOLUME,
            f"volume {rounded:g} is above the maximum {info.volume_max:g}",
        )
    return rounded


def check_stops(
    info: SymbolInfo, direction: Direction, quote: Quote, sl: float | None, tp: float | None
) -> ActionResult | None:
    """MetaTrader's rule: a buy (closed at the bid) needs SL ≤ bid − stops level and
    TP ≥ bid + stops level; a sell (closed at the ask) the mirror image around the ask."""
    ref, side = (quote.bid, "bid") if direction == "buy" else (quote.ask, "ask")
    sign = 1 if direction == "buy" else -1
    level = info.stops_level
    for name, price, want in (("stop loss", sl, -sign), ("take profit", tp, sign)):
        if price is None:
            continue
        distance = (price - ref) * want  # > 0 on the right side
        if distance <= 0:
            where = "below" if want < 0 else "above"
            return fail(
                ResultCode.INVALID_STOPS,
                f"{name} {price} of a {direction} must be {where} the {side} {ref}",
            )
        if distance < level - EPS * max(1.0, ref):
            return fail(
                ResultCode.INVALID_STOPS,
                f"{name} {price} is {distance:.{info.digits}f} from the {side} {ref}, "
                f"closer than the stops level {level}",
            )
    return None
