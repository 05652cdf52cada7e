"""Opening a position on MetaTrader 5: an order's entry, or a hedge of a position.

:class:`Opening` is the first half of :class:`~.mt5_trading.Trading`, apart because an
open is the one operation that makes a position rather than acting on a known one: it
reads the symbol's positions before the deal (on a netting account the order changes the
one there, and one that adds to it keeps its stops where the order names none:
:func:`~.mt5_netting.inherited`; on a hedging one it adds a position), and afterwards
finds the position its deal opened, which the answer may not name
(:meth:`Opening._opened_position`). A close and a modify (:mod:`.mt5_trading`) name the
position they act on; a close sends the same market deal (:meth:`Opening._deal_request`).
"""

from __future__ import annotations

from typing import Any

from hookspecs import (
    ActionResult,
    BrokerError,
    Direction,
    MarginMode,
    OrderRequest,
    ResultCode,
    SymbolInfo,
)

from .mt5_convert import identity, last_error
from .mt5_netting import effect, inherited
from .mt5_orders import Operation, OrderSender, Prepared, Tick
from .mt5_positions import PositionReads, Raw
from .mt5_resolve import Fill, Footprint, position_of_order
from .mt5_rules import (
    Constants,
    above_max,
    below_min,
    exemode,
    floor_volume,
    snap_level,
    snap_price,
    stops_problem,
    tick_size,
)
from .mt5_settings import Mt5Settings
from .volume_words import asked_words

#: MetaTrader refuses longer order comments.
MAX_COMMENT = 31


class Opening(PositionReads):
    """Opens and hedges; the broker supplies the API, settings, constants, the sender and
    the symbol reads."""

    api: Any
    settings: Mt5Settings
    c: Constants
    sender: OrderSender

    @property
    def margin_mode(self) -> MarginMode:
        raise NotImplementedError

    def _symbol(self, symbol: str) -> tuple[SymbolInfo, Raw] | None:
        raise NotImplementedError

    def open(self, order: OrderRequest) -> ActionResult:
        return self._open(
            order.symbol,
            order.direction,
            order.volume,
            order.stop_loss,
            order.take_profit,
            order.magic or self.settings.magic,
            order.comment or self.settings.comment,
            guard_price=True,
        )

    def hedge(self, ticket: int, volume: float) -> ActionResult:
        if self.margin_mode != "hedging":
            return ActionResult.failure(
                ResultCode.HEDGING_NOT_ALLOWED,
                f"hedge of {ticket}: the account is netting (margin_mode != "
                f"ACCOUNT_MARGIN_MODE_RETAIL_HEDGING); an opposite deal would reduce the "
                "position instead of hedging it",
            )
        pos = self._raw_position(ticket)
        if pos is None:
            return ActionResult.failure(ResultCode.NOT_FOUND, f"position {ticket} not found")
        direction: Direction = "sell" if int(pos["type"]) == 0 else "buy"
        magic = int(pos["magic"]) or self.settings.magic
        return self._open(
            str(pos["symbol"]),
            direction,
            volume,
            None,
            None,
            magic,
            f"DTMS_HEDGE_{ticket}",
            guard_price=False,  # protection goes at any price
        )

    def _open(
        self,
        symbol: str,
        direction: Direction,
        volume: float,
        stop_loss: float | None,
        take_profit: float | None,
        magic: int,
        comment: str,
        *,
        guard_price: bool,
    ) -> ActionResult:
        label = f"open {direction} {volume} {symbol}"
        found = self._symbol(symbol)
        if found is None:
            return ActionResult.failure(
                ResultCode.REJECTED, f"{label}: unknown symbol; last_error={last_error(self.api)}"
            )
        info, raw = found
        if above_max(volume, info):
            return ActionResult.failure(
                ResultCode.INVALID_VOLUME,
                f"{label}: above the symbol's volume_max {info.volume_max}",
            )
        lots = floor_volume(volume, info)
        if lots <= 0:
            return below_min(label, info)
        label = f"open {direction} {lots:g} {symbol}{asked_words(lots, volume, info.volume_step)}"
        grid = tick_size(raw, info.point)
        sl = snap_level(stop_loss, direction, grid, info.digits) if stop_loss else None
        tp = (
            snap_level(take_profit, direction, grid, info.digits, target=True)
            if take_profit
            else None
        )
        comment = comment[:MAX_COMMENT]
        try:
            held = [p for p in self._raw_positions() if p["symbol"] == symbol]
        except BrokerError as exc:
            return ActionResult.failure(ResultCode.REJECTED, f"{label}: not sent: {exc}")
        before = frozenset(identity(p) for p in held)
        order_type = self.c.order_type(direction)
        hedging = self.margin_mode == "hedging"
        net = held[0] if held and not hedging else None  # the position the order changes
        sl, tp = inherited(net, direction, sl, tp)

        def prepare(tick: Tick, filling: int | None) -> Prepared:
            bid, ask = float(tick["bid"]), float(tick["ask"])
            problem = stops_problem(direction, sl, tp, bid, ask, info)
            if problem:
                return ActionResult.failure(ResultCode.INVALID_STOPS, f"{label}: {problem}")
            price = snap_price(ask if direction == "buy" else bid, grid, info.digits)
            request = self._deal_request(symbol, lots, order_type, price, magic, comment, filling)
            return {**request, "sl": sl or 0.0, "tp": tp or 0.0}

        footprint = Footprint(
            symbol, order_type, magic, before=before, volume=lots, comment=comment
        )

        def settle(fill: Fill, message: str) -> ActionResult:
            ticket = fill.position or self._opened_position(fill, footprint, hedging)
            if fill.volume < lots - 1e-9:
                message += f"; only {fill.volume} of {lots} lots filled"
            netting, words = effect(net, direction, fill.volume)
            if netting == "closed":
                ticket = None  # the position is gone: nothing was opened
            return ActionResult(True, ResultCode.OK, message + words, ticket, fill.volume, netting)

        op = Operation(
            label,
            symbol,
            prepare,
            filling_mask=int(raw.get("filling_mode", 0)),
            footprint=footprint,
            settle=settle,
            hedging=hedging,
            exemode=exemode(raw),
            point=info.point,
            guard_price=guard_price,
        )
        return self.sender.run(op)

    def _deal_request(
        self,
        symbol: str,
        lots: float,
        order_type: int,
        price: float,
        magic: int,
        comment: str,
        filling: int | None,
    ) -> Raw:
        """The fields every market deal carries, an open's or a close's alike: an open adds
        its stops, a close the position it closes."""
        return {
            "action": self.c.deal,
            "symbol": symbol,
            "volume": lots,
            "type": order_type,
            "price": price,
            "deviation": self.settings.deviation,
            "magic": magic,
            "comment": comment,
            "type_time": self.c.gtc,
            "type_filling": filling,
        }

    def _opened_position(self, fill: Fill, fp: Footprint, hedging: bool) -> int | None:
        """Its order's deals' ``position_id``, else the new (or netting) position: while
        the history lags, the one whose identifier is the order's ticket (MQL5 reference,
        POSITION_IDENTIFIER), as another program may open one of our side and magic."""
        try:
            ticket = position_of_order(self.api, fill.order) if fill.order else None
            if ticket:
                return ticket
            now = [p for p in self._raw_positions() if p["symbol"] == fp.symbol]
        except BrokerError:
            return fill.order or None
        if not hedging:
            return identity(now[0]) if now else None
        fresh = [
            identity(p)
            for p in now
            if identity(p) not in fp.before
            and int(p["type"]) == fp.side
            and int(p["magic"]) == fp.magic
        ]
        if fill.order in fresh:
            return fill.order
        return fresh[-1] if fresh else fill.order or None
