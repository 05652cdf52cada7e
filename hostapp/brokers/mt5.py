"""The MetaTrader 5 broker: :class:`hookspecs.Broker` over any object with the MetaTrader5
API — the Windows package, or an ``mt5linux.MetaTrader5(host, port)`` client.

Only plain Python values cross into the API (mt5linux sends arguments as their ``repr``)
and results are converted at the boundary (:mod:`.mt5_convert`). Order calls return an
:class:`~hookspecs.ActionResult` and never raise on a refusal; queries raise
:class:`~hookspecs.BrokerError` when the terminal cannot answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from hookspecs import (
    AccountInfo,
    ActionResult,
    BrokerError,
    Direction,
    MarginMode,
    OrderRequest,
    Quote,
    ResultCode,
    SymbolInfo,
    Trade,
    opposite,
)

from .mt5_connect import initialize, login_and_check
from .mt5_convert import (
    ServerClock,
    account_from,
    as_dict,
    detect_offset,
    last_error,
    quote_from_tick,
    symbol_info_from,
    trade_from_position,
)
from .mt5_market import Mt5Market
from .mt5_orders import Operation, OrderSender, Prepared, Tick, find_opened
from .mt5_rules import Constants, floor_volume, freeze_problem, round_price, stops_problem
from .mt5_settings import Mt5Settings, import_api, load_mt5_settings

__all__ = ["Mt5Broker", "Mt5Market", "Mt5Settings", "create_mt5_broker", "load_mt5_settings"]

#: MetaTrader refuses longer order comments.
MAX_COMMENT = 31
Raw = dict[str, Any]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Mt5Broker:
    """``clock`` returns the UTC wall clock (used to detect the server's time offset);
    ``sleep`` is the backoff between retries. Both are injectable so tests never wait."""

    def __init__(
        self,
        api: Any,
        settings: Mt5Settings,
        *,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api = api
        self.settings = settings
        self.c = Constants.from_api(api)
        self._now = clock or _utc_now
        minutes = settings.server_utc_offset_minutes
        self.server_clock = ServerClock(minutes * 60 if minutes is not None else 0)
        self.sender = OrderSender(api, settings, self.c, sleep)
        self._margin_mode: MarginMode | None = None
        self._initialized = False

    # -- connection ---------------------------------------------------------------------

    def connect(self, symbols: Sequence[str] = ()) -> None:
        """initialize, login, refuse a terminal that cannot trade, read the margin mode and
        detect the server's UTC offset. Any failure shuts the connection down again."""
        initialize(self.api, self.settings)
        self._initialized = True
        try:
            login_and_check(self.api, self.settings)
            self._margin_mode = self.account().margin_mode
            if self.settings.server_utc_offset_minutes is None:
                self.refresh_server_offset(symbols)
        except BaseException:
            self.close_connection()
            raise

    def refresh_server_offset(self, symbols: Sequence[str] = ()) -> int:
        """Detect the server's UTC offset from the freshest tick of ``time_symbols`` (or
        ``symbols``, or the Market Watch symbols) and keep it; returns seconds."""
        names = list(self.settings.time_symbols or symbols)
        if not names:
            listed = self.api.symbols_get()
            if listed is None:
                raise BrokerError(f"symbols_get() failed: last_error={last_error(self.api)}")
            names = [str(x.name) for x in listed if bool(x.visible)][:50]
        ticks = [tick for name in names if (tick := self.sender.tick(name)) is not None]
        offset = detect_offset(ticks, self._now())
        self.server_clock = ServerClock(offset)
        return offset

    def close_connection(self) -> None:
        """``shutdown()`` once; safe to call again."""
        if self._initialized:
            self._initialized = False
            self.api.shutdown()

    # -- queries ------------------------------------------------------------------------

    def _raw_positions(self) -> list[Raw]:
        raw = self.api.positions_get()
        if raw is None:  # an error, never "no positions"
            raise BrokerError(f"positions_get() failed: last_error={last_error(self.api)}")
        return [as_dict(p) for p in raw]

    def _raw_position(self, ticket: int) -> Raw | None:
        return next((p for p in self._raw_positions() if int(p["ticket"]) == ticket), None)

    def positions(self) -> list[Trade]:
        return [trade_from_position(p, self.server_clock) for p in self._raw_positions()]

    def position(self, ticket: int) -> Trade | None:
        raw = self._raw_position(ticket)
        return trade_from_position(raw, self.server_clock) if raw is not None else None

    def _symbol(self, symbol: str) -> tuple[SymbolInfo, Raw] | None:
        raw = self.api.symbol_info(symbol)
        if raw is None:
            return None
        d = as_dict(raw)
        if not d.get("visible", True):
            self.api.symbol_select(symbol, True)
        return symbol_info_from(d), d

    def symbol_info(self, symbol: str) -> SymbolInfo | None:
        found = self._symbol(symbol)
        return found[0] if found else None

    def quote(self, symbol: str) -> Quote | None:
        tick = self.sender.tick(symbol)
        return quote_from_tick(symbol, tick, self.server_clock) if tick else None

    def account(self) -> AccountInfo:
        raw = self.api.account_info()
        if raw is None:
            raise BrokerError(f"account_info() failed: last_error={last_error(self.api)}")
        return account_from(as_dict(raw), self.c.hedging)

    @property
    def margin_mode(self) -> MarginMode:
        if self._margin_mode is None:
            self._margin_mode = self.account().margin_mode
        return self._margin_mode

    # -- orders -------------------------------------------------------------------------

    def open(self, order: OrderRequest) -> ActionResult:
        return self._open(
            order.symbol,
            order.direction,
            order.volume,
            order.stop_loss,
            order.take_profit,
            order.magic or self.settings.magic,
            order.comment or self.settings.comment,
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
            str(pos["symbol"]), direction, volume, None, None, magic, f"DTMS_HEDGE_{ticket}"
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
    ) -> ActionResult:
        label = f"open {direction} {volume} {symbol}"
        found = self._symbol(symbol)
        if found is None:
            return ActionResult.failure(
                ResultCode.REJECTED, f"{label}: unknown symbol; last_error={last_error(self.api)}"
            )
        info, raw = found
        lots = floor_volume(volume, info)
        if lots <= 0:
            return ActionResult.failure(
                ResultCode.INVALID_VOLUME,
                f"{label}: below the symbol's volume_min {info.volume_min} once floored to "
                f"volume_step {info.volume_step}",
            )
        sl = round_price(stop_loss, info.digits) if stop_loss else None
        tp = round_price(take_profit, info.digits) if take_profit else None
        comment = comment[:MAX_COMMENT]
        try:
            before = {int(p["ticket"]): p for p in self._raw_positions() if p["symbol"] == symbol}
        except BrokerError as exc:
            return ActionResult.failure(ResultCode.REJECTED, f"{label}: not sent: {exc}")
        order_type = self.c.order_type(direction)

        def prepare(tick: Tick, filling: int | None) -> Prepared:
            bid, ask = float(tick["bid"]), float(tick["ask"])
            problem = stops_problem(direction, sl, tp, bid, ask, info)
            if problem:
                return ActionResult.failure(ResultCode.INVALID_STOPS, f"{label}: {problem}")
            return {
                "action": self.c.deal,
                "symbol": symbol,
                "volume": lots,
                "type": order_type,
                "price": round_price(ask if direction == "buy" else bid, info.digits),
                "sl": sl or 0.0,
                "tp": tp or 0.0,
                "deviation": self.settings.deviation,
                "magic": magic,
                "comment": comment,
                "type_time": self.c.gtc,
                "type_filling": filling,
            }

        def verify() -> ActionResult | None:
            now = [p for p in self._raw_positions() if p["symbol"] == symbol]
            hedging = self.margin_mode == "hedging"
            sign = 1 if order_type == self.c.buy else -1
            return find_opened(before, now, hedging, order_type, sign * lots, magic, comment)

        op = Operation(label, symbol, prepare, verify, filling_mask=int(raw.get("filling_mode", 0)))
        result = self.sender.run(op)
        if result.ok and self.margin_mode == "netting" and result.code is ResultCode.OK:
            return self._netting_ticket(result, symbol)
        return result

    def _netting_ticket(self, result: ActionResult, symbol: str) -> ActionResult:
        """On a netting account the order joins the symbol's one position: report its ticket."""
        try:
            now = [p for p in self._raw_positions() if p["symbol"] == symbol]
        except BrokerError:
            return result
        ticket = int(now[0]["ticket"]) if now else None
        return ActionResult(result.ok, result.code, result.message, ticket)

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
        info = found[0]
        direction: Direction = "buy" if int(pos["type"]) == 0 else "sell"
        sl = round_price(stop_loss, info.digits) if stop_loss else None
        tp = round_price(take_profit, info.digits) if take_profit else None
        cur_sl, cur_tp = _opt(pos["sl"]), _opt(pos["tp"])

        def prepare(tick: Tick, _filling: int | None) -> Prepared:
            bid, ask = float(tick["bid"]), float(tick["ask"])
            frozen = freeze_problem(direction, cur_sl, cur_tp, bid, ask, info)
            if frozen:
                return ActionResult.failure(ResultCode.FROZEN, f"{label}: {frozen}")
            problem = stops_problem(direction, sl, tp, bid, ask, info)
            if problem:
                return ActionResult.failure(ResultCode.INVALID_STOPS, f"{label}: {problem}")
            return {
                "action": self.c.sltp,
                "position": ticket,
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

        return self.sender.run(Operation(label, symbol, prepare, verify, closed, modify=True))

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
                return ActionResult.failure(
                    ResultCode.INVALID_VOLUME,
                    f"close {ticket} {volume}: below volume_min {info.volume_min} once floored "
                    f"to volume_step {info.volume_step}",
                )
            return self._close_part(pos, lots, info, raw, full=False)
        # a full close larger than volume_max takes several deals
        while True:
            lots = min(held, info.volume_max)
            result = self._close_part(pos, lots, info, raw, full=lots >= held - 1e-9)
            if not result.ok or lots >= held - 1e-9:
                return result
            current = self._raw_position(ticket)
            if current is None:
                return result
            pos, held = current, float(current["volume"])

    def _close_part(
        self, pos: Raw, lots: float, info: SymbolInfo, raw: Raw, *, full: bool
    ) -> ActionResult:
        ticket = int(pos["ticket"])
        symbol = str(pos["symbol"])
        direction: Direction = "buy" if int(pos["type"]) == 0 else "sell"
        label = f"close {ticket} {lots} of {float(pos['volume'])}"
        held = float(pos["volume"])
        cur_sl, cur_tp = _opt(pos["sl"]), _opt(pos["tp"])
        closing: Direction = opposite(direction)

        def prepare(tick: Tick, filling: int | None) -> Prepared:
            bid, ask = float(tick["bid"]), float(tick["ask"])
            frozen = freeze_problem(direction, cur_sl, cur_tp, bid, ask, info)
            if frozen:
                return ActionResult.failure(ResultCode.FROZEN, f"{label}: {frozen}")
            return {
                "action": self.c.deal,
                "symbol": symbol,
                "volume": lots,
                "type": self.c.order_type(closing),
                "position": ticket,
                "price": round_price(bid if direction == "buy" else ask, info.digits),
                "deviation": self.settings.deviation,
                "magic": self.settings.magic,
                "comment": self.settings.comment[:MAX_COMMENT],
                "type_time": self.c.gtc,
                "type_filling": filling,
            }

        def verify() -> ActionResult | None:
            now = self._raw_position(ticket)
            if now is None:
                return ActionResult.success(f"{label}: position is closed")
            if not full and float(now["volume"]) <= held - lots + 1e-9:
                return ActionResult.success(f"{label}: volume is now {float(now['volume'])}")
            return None

        def closed(message: str) -> ActionResult:
            if full:
                return ActionResult.success(f"{message}: position already closed")
            return ActionResult.failure(ResultCode.NOT_FOUND, message)

        mask = int(raw.get("filling_mode", 0))
        result = self.sender.run(
            Operation(label, symbol, prepare, verify, closed, filling_mask=mask)
        )
        return ActionResult(result.ok, result.code, result.message, None)


def _opt(value: Any) -> float | None:
    level = float(value)
    return level if level > 0 else None


def create_mt5_broker(
    settings: Mt5Settings,
    *,
    module: object | None = None,
    symbols: Sequence[str] = (),
    clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Mt5Broker:
    """Import the API (lazily: only now), connect and check. ``symbols`` date the server
    clock when ``time_symbols`` is not set. Raises BrokerError with a clear message."""
    api = import_api(settings, module)
    try:
        broker = Mt5Broker(api, settings, clock=clock, sleep=sleep)
    except AttributeError as exc:
        raise BrokerError(f"not a MetaTrader5 API object: {exc}") from exc
    broker.connect(symbols)
    return broker
