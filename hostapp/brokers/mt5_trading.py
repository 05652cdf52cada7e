"""Modify and close on MetaTrader 5: the requests, and what their fills mean.

:class:`Trading` is the order half of :class:`~hostapp.brokers.mt5.Mt5Broker`; opening and
hedging are its first half, :class:`~.mt5_opening.Opening`. Each operation builds its
request from a fresh tick (:mod:`.mt5_orders` sends it) and says how to recognise its deal
on the server (:class:`~.mt5_resolve.Footprint`), so an unknown outcome is resolved from
the server's records instead of by sending again.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from hookspecs import ActionResult, Direction, ResultCode, SymbolInfo, opposite

from .mt5_convert import identity
from .mt5_opening import MAX_COMMENT, Opening
from .mt5_orders import Operation, Prepared, Tick
from .mt5_positions import Raw
from .mt5_resolve import Fill, Footprint
from .mt5_rules import (
    below_min,
    exemode,
    floor_volume,
    freeze_problem,
    snap_level,
    snap_price,
    stops_problem,
    tick_size,
)
from .volume_words import asked_words


def _opt(value: Any) -> float | None:
    level = float(value)
    return level if level > 0 else None


class Trading(Opening):
    """Order operations: :class:`~.mt5_opening.Opening`'s, and those on a position. A
    position is named by its identity (:mod:`.mt5_positions`) and each request by the
    position's ticket at the time it is sent."""

    # -- modify ---------------------------------------------------------------------------

    def modify_sl_tp(
        self, ticket: int, stop_loss: float | None, take_profit: float | None
    ) -> ActionResult:
        label = f"modify {ticket} sl={stop_loss} tp={take_profit}"
        pos = self._raw_position(ticket)
        if pos is None:
            return ActionResult.failure(ResultCode.NOT_FOUND, f"position {ticket} not found")
        symbol = str(pos["symbol"])
        found = self._symbol(symbol)
        if found is None:
            return ActionResult.failure(ResultCode.REJECTED, f"{label}: unknown symbol {symbol}")
        info, raw = found
        grid = tick_size(raw, info.point)
        direction: Direction = "buy" if int(pos["type"]) == 0 else "sell"
        sl = snap_level(stop_loss, direction, grid, info.digits) if stop_loss else None
        tp = (
            snap_level(take_profit, direction, grid, info.digits, target=True)
            if take_profit
            else None
        )
        cur_sl, cur_tp = _opt(pos["sl"]), _opt(pos["tp"])

        def prepare(tick: Tick, _filling: int | None) -> Prepared:
            bid, ask = float(tick["bid"]), float(tick["ask"])
            frozen = freeze_problem(direction, cur_sl, cur_tp, bid, ask, info)
            if frozen and (sl, tp) == (cur_sl, cur_tp):  # asked for what already is
                return ActionResult(True, ResultCode.NO_CHANGES, f"{label}: levels already set")
            if frozen:
                return ActionResult.failure(ResultCode.FROZEN, f"{label}: {frozen}")
            problem = stops_problem(direction, sl, tp, bid, ask, info)
            if problem:
                return ActionResult.failure(ResultCode.INVALID_STOPS, f"{label}: {problem}")
            return {
                "action": self.c.sltp,
                "position": self.ticket_now(ticket),
                "symbol": symbol,
                "sl": sl or 0.0,
                "tp": tp or 0.0,
            }

        def verify() -> ActionResult | None:
            now = self._raw_position(ticket)
            if now is None:
                return ActionResult.failure(ResultCode.NOT_FOUND, f"position {ticket} is gone")
            if _opt(now["sl"]) == sl and _opt(now["tp"]) == tp:
                return ActionResult.success(f"{label}: levels are set")
            return None

        def closed(message: str) -> ActionResult:
            return ActionResult.failure(ResultCode.NOT_FOUND, message)

        moved = partial(self.reticketed, ticket)
        op = Operation(label, symbol, prepare, verify, closed, modify=True, reticketed=moved)
        # a stop change opens nothing: whatever order field the answer carries names no
        # new position (the position's ticket, after a server's re-open, is not the
        # identity the trade goes by)
        return replace(self.sender.run(op), new_ticket=None)

    # -- close ----------------------------------------------------------------------------

    def close(self, ticket: int, volume: float | None = None) -> ActionResult:
        pos = self._raw_position(ticket)
        if pos is None:
            return ActionResult.failure(ResultCode.NOT_FOUND, f"position {ticket} not found")
        found = self._symbol(str(pos["symbol"]))
        if found is None:
            return ActionResult.failure(ResultCode.REJECTED, f"close {ticket}: unknown symbol")
        info, raw = found
        held = float(pos["volume"])
        if volume is not None and volume < held - 1e-9:
            lots = floor_volume(volume, info)
            if lots <= 0:
                return below_min(f"close {ticket} {volume}", info)
            return self._close_part(pos, lots, info, raw, full=False, asked=volume)
        # a full close larger than volume_max takes several deals
        closed = 0.0
        while True:
            lots = min(held, info.volume_max)
            result = self._close_part(pos, lots, info, raw, full=lots >= held - 1e-9)
            closed = round(closed + (result.filled_volume or 0.0), 8)
            result = replace(result, filled_volume=closed or result.filled_volume)
            if not result.ok or lots >= held - 1e-9:
                return result
            current = self._raw_position(ticket)
            if current is None:
                return result
            pos, held = current, float(current["volume"])

    def _close_part(
        self, pos: Raw, lots: float, info: SymbolInfo, raw: Raw, *, full: bool,
        asked: float | None = None,
    ) -> ActionResult:  # fmt: skip
        ticket = identity(pos)
        symbol = str(pos["symbol"])
        direction: Direction = "buy" if int(pos["type"]) == 0 else "sell"
        wanted = asked_words(lots, lots if asked is None else asked, info.volume_step)
        label = f"close {ticket} {lots:g} of {float(pos['volume']):g}{wanted}"
        held = float(pos["volume"])
        cur_sl, cur_tp = _opt(pos["sl"]), _opt(pos["tp"])
        closing = self.c.order_type(opposite(direction))
        grid = tick_size(raw, info.point)

        def prepare(tick: Tick, filling: int | None) -> Prepared:
            bid, ask = float(tick["bid"]), float(tick["ask"])
            frozen = freeze_problem(direction, cur_sl, cur_tp, bid, ask, info)
            if frozen:
                return ActionResult.failure(ResultCode.FROZEN, f"{label}: {frozen}")
            price = snap_price(bid if direction == "buy" else ask, grid, info.digits)
            comment = self.settings.comment[:MAX_COMMENT]
            request = self._deal_request(
                symbol, lots, closing, price, self.settings.magic, comment, filling
            )
            return {**request, "position": self.ticket_now(ticket)}

        def settle(fill: Fill, message: str) -> ActionResult:
            """A full close that leaves volume open is no success: the caller must go on
            defending the rest. A partial close reports what it really closed."""
            if fill.volume >= lots - 1e-9:
                return ActionResult(True, ResultCode.OK, message, None, fill.volume)
            if full:
                left = round(held - fill.volume, 8)
                return ActionResult(
                    False,
                    ResultCode.TRANSIENT,
                    f"{message}; only {fill.volume} of {lots} lots closed, {left} still open",
                    None,
                    fill.volume,
                )
            text = f"{message}; only {fill.volume} of {lots} lots closed"
            return ActionResult(True, ResultCode.OK, text, None, fill.volume)

        def closed(message: str) -> ActionResult:
            if full:
                return ActionResult.success(f"{message}: position already closed")
            return ActionResult.failure(ResultCode.NOT_FOUND, message)

        footprint = Footprint(
            symbol,
            closing,
            self.settings.magic,
            position=ticket,
            held=held,
            volume=lots,
            comment=self.settings.comment[:MAX_COMMENT],
        )

        op = Operation(
            label,
            symbol,
            prepare,
            on_position_closed=closed,
            reticketed=partial(self.reticketed, ticket),
            filling_mask=int(raw.get("filling_mode", 0)),
            footprint=footprint,
            settle=settle,
            hedging=self.margin_mode == "hedging",
            exemode=exemode(raw),
            point=info.point,
        )
        return replace(self.sender.run(op), new_ticket=None)
