"""A fake ``MetaTrader5`` API that enforces the trade server's rules.

It is written from MetaTrader's documented behaviour, independently of the adapter (no
import from ``hostapp``), so an adapter that breaks a rule fails here as it would against a
terminal: constants and retcodes carry the real values; requests with missing, unknown or
wrongly typed fields are refused; any argument that is not a plain Python value raises (the
mt5linux client sends arguments as their ``repr``, so a numpy float or an enum cannot cross);
volumes must sit on ``volume_step`` within min/max; prices on the ``point`` grid; stops obey
the stops level and the side of price; positions inside the freeze level are frozen; the
filling type must be in the symbol's ``filling_mode`` bitmask (else 10030); netting accounts
net an opposite deal. Every execution leaves an order ticket and a deal in the history
(``history_deals_get``), as the server does. Faults are scripted: a retcode instead of
execution, execution followed by 10012 or ``None`` (a timeout that actually executed), an
order that lands ``delay`` seconds later (visible in ``orders_get`` meanwhile), or a partial
fill. Time moves only through :meth:`FakeMT5.advance`, which tests pass as the adapter's
``sleep``.
"""

from __future__ import annotations

import types
from collections import deque, namedtuple
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

RETCODES = {
    "REQUOTE": 10004, "REJECT": 10006, "CANCEL": 10007, "PLACED": 10008, "DONE": 10009,
    "DONE_PARTIAL": 10010, "ERROR": 10011, "TIMEOUT": 10012, "INVALID": 10013,
    "INVALID_VOLUME": 10014, "INVALID_PRICE": 10015, "INVALID_STOPS": 10016,
    "TRADE_DISABLED": 10017, "MARKET_CLOSED": 10018, "NO_MONEY": 10019,
    "PRICE_CHANGED": 10020, "PRICE_OFF": 10021, "INVALID_EXPIRATION": 10022,
    "ORDER_CHANGED": 10023, "TOO_MANY_REQUESTS": 10024, "NO_CHANGES": 10025,
    "SERVER_DISABLES_AT": 10026, "CLIENT_DISABLES_AT": 10027, "LOCKED": 10028,
    "FROZEN": 10029, "INVALID_FILL": 10030, "CONNECTION": 10031, "ONLY_REAL": 10032,
    "LIMIT_ORDERS": 10033, "LIMIT_VOLUME": 10034, "INVALID_ORDER": 10035,
    "POSITION_CLOSED": 10036, "INVALID_CLOSE_VOLUME": 10038, "CLOSE_ORDER_EXIST": 10039,
    "LIMIT_POSITIONS": 10040, "REJECT_CANCEL": 10041, "LONG_ONLY": 10042,
    "SHORT_ONLY": 10043, "CLOSE_ONLY": 10044, "FIFO_CLOSE": 10045, "HEDGE_PROHIBITED": 10046,
}  # fmt: skip
TIMEFRAMES = {
    "M1": 1, "M2": 2, "M3": 3, "M4": 4, "M5": 5, "M6": 6, "M10": 10, "M12": 12, "M15": 15,
    "M20": 20, "M30": 30, "H1": 16385, "H2": 16386, "H3": 16387, "H4": 16388, "H6": 16390,
    "H8": 16392, "H12": 16396, "D1": 16408, "W1": 32769, "MN1": 49153,
}  # fmt: skip
CONSTANTS: dict[str, int] = {
    "TRADE_ACTION_DEAL": 1, "TRADE_ACTION_PENDING": 5, "TRADE_ACTION_SLTP": 6,
    "TRADE_ACTION_MODIFY": 7, "TRADE_ACTION_REMOVE": 8, "TRADE_ACTION_CLOSE_BY": 10,
    "ORDER_TYPE_BUY": 0, "ORDER_TYPE_SELL": 1, "ORDER_TYPE_BUY_LIMIT": 2,
    "ORDER_TYPE_SELL_LIMIT": 3, "ORDER_TYPE_BUY_STOP": 4, "ORDER_TYPE_SELL_STOP": 5,
    "ORDER_FILLING_FOK": 0, "ORDER_FILLING_IOC": 1, "ORDER_FILLING_RETURN": 2,
    "ORDER_TIME_GTC": 0, "ORDER_TIME_DAY": 1, "ORDER_TIME_SPECIFIED": 2,
    "ORDER_TIME_SPECIFIED_DAY": 3, "POSITION_TYPE_BUY": 0, "POSITION_TYPE_SELL": 1,
    "ACCOUNT_MARGIN_MODE_RETAIL_NETTING": 0, "ACCOUNT_MARGIN_MODE_EXCHANGE": 1,
    "ACCOUNT_MARGIN_MODE_RETAIL_HEDGING": 2, "SYMBOL_TRADE_EXECUTION_REQUEST": 0,
    "SYMBOL_TRADE_EXECUTION_INSTANT": 1, "SYMBOL_TRADE_EXECUTION_MARKET": 2,
    "SYMBOL_TRADE_EXECUTION_EXCHANGE": 3, "DEAL_TYPE_BUY": 0, "DEAL_TYPE_SELL": 1,
    "DEAL_ENTRY_IN": 0, "DEAL_ENTRY_OUT": 1, "DEAL_ENTRY_INOUT": 2, "DEAL_REASON_EXPERT": 3,
    "ORDER_STATE_STARTED": 0, "ORDER_STATE_PLACED": 1, "RES_S_OK": 1, "RES_E_FAIL": -1,
    "RES_E_INVALID_PARAMS": -2, "RES_E_NOT_FOUND": -4, "RES_E_AUTH_FAILED": -6,
    "RES_E_AUTO_TRADING_DISABLED": -8, "RES_E_INTERNAL_FAIL_INIT": -10003,
    "RES_E_INTERNAL_FAIL_CONNECT": -10004, "RES_E_INTERNAL_FAIL_TIMEOUT": -10005,
    **{f"TRADE_RETCODE_{k}": v for k, v in RETCODES.items()},
    **{f"TIMEFRAME_{k}": v for k, v in TIMEFRAMES.items()},
}  # fmt: skip
# No SYMBOL_FILLING_* here: mt5linux's client does not define them either.

TerminalInfo = namedtuple(
    "TerminalInfo",
    "community_account community_connection connected dlls_allowed trade_allowed "
    "tradeapi_disabled email_enabled ftp_enabled notifications_enabled mqid build maxbars "
    "codepage ping_last community_balance retransmission company name language path "
    "data_path commondata_path",
)
AccountInfo = namedtuple(
    "AccountInfo",
    "login trade_mode leverage limit_orders margin_so_mode trade_allowed trade_expert "
    "margin_mode currency_digits fifo_close balance credit profit equity margin margin_free "
    "margin_level margin_so_call margin_so_so margin_initial margin_maintenance assets "
    "liabilities commission_blocked name server currency company",
)
SymbolInfo = namedtuple(
    "SymbolInfo",
    "custom select visible spread digits trade_mode trade_exemode trade_stops_level "
    "trade_freeze_level filling_mode expiration_mode order_mode bid ask point "
    "trade_tick_size trade_contract_size volume_min volume_max volume_step currency_base "
    "currency_profit description name path",
)
Tick = namedtuple("Tick", "time bid ask last volume time_msc flags volume_real")
TradePosition = namedtuple(
    "TradePosition",
    "ticket time time_msc time_update time_update_msc type magic identifier reason volume "
    "price_open sl tp price_current swap profit symbol comment external_id",
)
TradeOrder = namedtuple(
    "TradeOrder",
    "ticket time_setup time_setup_msc time_done time_done_msc time_expiration type type_time "
    "type_filling state magic position_id position_by_id reason volume_initial volume_current "
    "price_open sl tp price_current price_stoplimit symbol comment external_id",
)
TradeDeal = namedtuple(
    "TradeDeal",
    "ticket order time time_msc type entry magic position_id reason volume price commission "
    "swap profit fee symbol comment external_id",
)
TradeRequest = namedtuple(
    "TradeRequest",
    "action magic order symbol volume price stoplimit sl tp deviation type type_filling "
    "type_time expiration comment position position_by",
)
OrderSendResult = namedtuple(
    "OrderSendResult",
    "retcode deal order volume price bid ask comment request_id retcode_external request",
)
RATE_DTYPE = np.dtype(
    [("time", "<i8"), ("open", "<f8"), ("high", "<f8"), ("low", "<f8"), ("close", "<f8"),
     ("tick_volume", "<u8"), ("spread", "<i4"), ("real_volume", "<u8")]
)  # fmt: skip

FLOAT_FIELDS = {"volume", "price", "stoplimit", "sl", "tp"}
STR_FIELDS = {"symbol", "comment"}
DEAL_FIELDS = {
    "action",
    "symbol",
    "volume",
    "type",
    "price",
    "deviation",
    "magic",
    "comment",
    "type_time",
    "type_filling",
}
SLTP_FIELDS = {"action", "position", "symbol", "sl", "tp"}
MAX_COMMENT = 31
PLAIN = (bool, int, float, str, type(None))


def check_plain(value: Any, where: str) -> None:
    """What mt5linux can send: built-in values only (exact types, so no IntEnum/np.float64)."""
    if isinstance(value, dict):
        for key, item in value.items():
            check_plain(key, where)
            check_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple) and type(value) in (list, tuple):
        for item in value:
            check_plain(item, where)
    elif type(value) not in PLAIN:
        raise TypeError(f"{where}: {type(value).__name__} {value!r} is not a plain Python value")


@dataclass
class FakeSymbol:
    name: str
    bid: float
    ask: float
    digits: int = 2
    volume_min: float = 0.01
    volume_step: float = 0.01
    volume_max: float = 100.0
    stops_level: int = 0  # points
    freeze_level: int = 0  # points
    filling_mode: int = 1  # SYMBOL_FILLING_FOK=1 | SYMBOL_FILLING_IOC=2
    return_allowed: bool = False  # ORDER_FILLING_RETURN (exchange execution)
    contract_size: float = 100.0
    visible: bool = True
    market_open: bool = True
    tick_age: float = 0  # seconds since the last tick
    live: bool = True  # a new tick arrives whenever time moves; else the last one ages
    tick_size: float | None = None  # SYMBOL_TRADE_TICK_SIZE; None: the point
    liquidity: float | None = None  # lots one deal can fill; IOC fills that much

    @property
    def point(self) -> float:
        return 10.0**-self.digits

    @property
    def tick(self) -> float:
        return self.tick_size or self.point


@dataclass
class FakePosition:
    ticket: int
    symbol: str
    type: int
    volume: float
    price_open: float
    sl: float
    tp: float
    magic: int
    comment: str
    time: int


@dataclass(frozen=True)
class Fault:
    """One scripted ``order_send`` answer. ``retcode=None`` returns ``None``; ``execute``
    carries the order out first (a timeout that did execute), ``delay`` seconds later when
    set (the order waits in ``orders_get`` meanwhile), filling ``fill`` lots when set."""

    retcode: int | None
    execute: bool = False
    error: tuple[int, str] = (-10005, "IPC timeout")
    delay: float = 0.0
    fill: float | None = None


@dataclass
class InFlight:
    """An order the server accepted and has not executed yet."""

    ticket: int
    request: dict[str, Any]
    land_at: datetime
    setup: int  # server time
    fill: float | None


class _Remote:
    """An mt5linux-style proxy: attributes and ``_asdict()`` work; it is no namedtuple."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        if name == "_asdict":
            return lambda: types.MappingProxyType(self._target._asdict())
        return getattr(self._target, name)


@dataclass
class FakeMT5:
    margin_mode: int = 2
    server_offset: int = 7200  # seconds the server clock is ahead of UTC
    now: datetime = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    dst: tuple[datetime, int] | None = None  # from this UTC instant, this server offset
    password: str | None = None
    remote: bool = False  # answer with mt5linux-style proxies
    terminal_running: bool = True
    trade_allowed: bool = True  # the AutoTrading button
    login_error: Exception | None = None  # login() raises it (e.g. an rpyc timeout)
    comment_rewrite: str | None = None  # the broker replaces order comments with this
    split_tickets: bool = False  # a new position's ticket differs from its order's
    symbols: dict[str, FakeSymbol] = field(default_factory=dict)
    rates: dict[tuple[str, int], list[tuple[Any, ...]]] = field(default_factory=dict)
    max_bars: int | None = None  # the terminal's "max bars in chart": history is cut
    faults: deque[Fault] = field(default_factory=deque)
    before_send: deque[Callable[[FakeMT5], None]] = field(default_factory=deque)
    fail_positions_get: int = 0  # the next N positions_get() calls return None
    requests: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    positions: dict[int, FakePosition] = field(default_factory=dict)
    deals: list[Any] = field(default_factory=list)  # TradeDeal rows, oldest first
    in_flight: list[InFlight] = field(default_factory=list)
    initialized: bool = False
    login_id: int = 5001
    _error: tuple[int, str] = (1, "Success")
    _ticket: int = 70_000_000

    def __getattr__(self, name: str) -> int:
        if name in CONSTANTS:
            return CONSTANTS[name]
        raise AttributeError(name)

    # -- plumbing -------------------------------------------------------------------------
    def _enter(self, name: str, *args: Any, **kwargs: Any) -> bool:
        check_plain(list(args), name)
        check_plain(dict(kwargs), name)
        self.calls.append(name)
        self._error = (1, "Success")
        if not self.initialized:
            self._error = (-10004, "No IPC connection")
        return self.initialized

    def _out(self, value: Any) -> Any:
        return _Remote(value) if self.remote and value is not None else value

    def _fail(self, code: int, text: str) -> None:
        self._error = (code, text)

    def _next(self) -> int:
        self._ticket += 1
        return self._ticket

    @property
    def offset(self) -> int:
        """The server's UTC offset now (it changes at ``dst``)."""
        if self.dst is not None and self.now >= self.dst[0]:
            return self.dst[1]
        return self.server_offset

    def server_time(self, age: float = 0) -> int:
        return int(self.now.timestamp() - age) + self.offset

    def advance(self, seconds: float) -> None:
        """Time passes: live symbols tick, quiet ones age, in-flight orders land."""
        self.now += timedelta(seconds=seconds)
        for s in self.symbols.values():
            s.tick_age = 0 if s.live else s.tick_age + seconds
        for order in [o for o in self.in_flight if o.land_at <= self.now]:
            self.in_flight.remove(order)
            self._order(order.request, order.fill, order.ticket)

    def add_symbol(self, symbol: FakeSymbol) -> FakeSymbol:
        self.symbols[symbol.name] = symbol
        return symbol

    def add_position(
        self,
        symbol: str,
        type_: int,
        volume: float,
        price: float,
        *,
        sl: float = 0.0,
        tp: float = 0.0,
        magic: int = 0,
        comment: str = "",
        ticket: int | None = None,
    ) -> int:
        ticket = ticket or self._next()
        self.positions[ticket] = FakePosition(
            ticket, symbol, type_, volume, price, sl, tp, magic, comment, self.server_time()
        )
        return ticket

    # -- connection ----------------------------------------------------------------------
    def initialize(self, *args: Any, **kwargs: Any) -> bool:
        check_plain([list(args), kwargs], "initialize")
        self.calls.append("initialize")
        if len(args) > 1 or "path" in kwargs:
            raise TypeError("initialize: path is the only positional argument")
        unknown = set(kwargs) - {"login", "password", "server", "timeout", "portable"}
        if unknown:
            raise TypeError(f"initialize: unexpected keyword arguments {sorted(unknown)}")
        if not self.terminal_running:
            self._fail(-10003, "IPC initialize failed, MetaTrader 5 x64 not found")
            return False
        self.initialized = True
        self._error = (1, "Success")
        return True

    def login(self, login: int, **kwargs: Any) -> bool:
        if not self._enter("login", login, **kwargs):
            return False
        if type(login) is not int or set(kwargs) - {"password", "server", "timeout"}:
            raise TypeError("login(login, password=, server=, timeout=)")
        if self.login_error is not None:
            raise self.login_error
        if self.password is not None and kwargs.get("password") != self.password:
            self._fail(-6, "Terminal: Authorization failed")
            return False
        self.login_id = login
        return True

    def shutdown(self) -> None:
        self.calls.append("shutdown")
        self.initialized = False

    def last_error(self) -> tuple[int, str]:
        return self._error

    def terminal_info(self) -> Any:
        if not self._enter("terminal_info"):
            return None
        # fmt: off
        info = TerminalInfo(
            False, False, True, False, self.trade_allowed, False, False, False,
            False, False, 4755, 100000, 0, 30000, 0.0, 0.0, "Fake Broker", "MetaTrader 5",
            "English", "C:\\MT5", "C:\\MT5", "C:\\Common"
        )
        # fmt: on
        return self._out(info)

    def account_info(self) -> Any:
        if not self._enter("account_info"):
            return None
        balance = 10_000.0
        equity = balance + sum(self._profit(p) for p in self.positions.values())
        # fmt: off
        info = AccountInfo(
            self.login_id, 0, 100, 200, 0, True, True, self.margin_mode, 2, False,
            balance, 0.0, equity - balance, equity, 0.0, equity, 0.0, 50.0, 30.0, 0.0, 0.0, 0.0,
            0.0, 0.0, "Test", "Fake-Demo", "USD", "Fake Broker"
        )
        # fmt: on
        return self._out(info)

    # -- market --------------------------------------------------------------------------
    def _symbol_info(self, s: FakeSymbol) -> SymbolInfo:
        # fmt: off
        return SymbolInfo(
            False, s.visible, s.visible, round((s.ask - s.bid) / s.point), s.digits,
            4, 1, s.stops_level, s.freeze_level, s.filling_mode, 15, 127, s.bid, s.ask, s.point,
            s.tick, s.contract_size, s.volume_min, s.volume_max, s.volume_step, "XAU", "USD",
            s.name, s.name, f"Metals\\{s.name}"
        )
        # fmt: on

    def symbol_info(self, symbol: str) -> Any:
        if not self._enter("symbol_info", symbol):
            return None
        s = self.symbols.get(symbol)
        if s is None:
            self._fail(-4, "Terminal: Not found")
            return None
        return self._out(self._symbol_info(s))

    def symbols_get(self, group: str | None = None) -> Any:
        if not self._enter("symbols_get", group):
            return None
        return tuple(self._out(self._symbol_info(s)) for s in self.symbols.values())

    def symbol_select(self, symbol: str, enable: bool = True) -> bool:
        if not self._enter("symbol_select", symbol, enable):
            return False
        if symbol not in self.symbols:
            self._fail(-4, "Terminal: Not found")
            return False
        self.symbols[symbol].visible = enable
        return True

    def symbol_info_tick(self, symbol: str) -> Any:
        if not self._enter("symbol_info_tick", symbol):
            return None
        s = self.symbols.get(symbol)
        if s is None or not s.visible:  # ticks exist only for Market Watch symbols
            self._fail(-4, "Terminal: Not found")
            return None
        msc = int((self.now.timestamp() - s.tick_age + self.offset) * 1000)
        return self._out(Tick(msc // 1000, s.bid, s.ask, 0.0, 0, msc, 6, 0.0))

    def copy_rates_from_pos(self, symbol: str, timeframe: int, start_pos: int, count: int) -> Any:
        if not self._enter("copy_rates_from_pos", symbol, timeframe, start_pos, count):
            return None
        if timeframe not in TIMEFRAMES.values():
            self._fail(-2, 'Invalid "timeframe" argument')
            return None
        rows = self.rates.get((symbol, timeframe))
        if rows is None:
            self._fail(-4, "Terminal: Not found")
            return None
        if self.max_bars is not None:
            rows = rows[-self.max_bars :]
        end = len(rows) - start_pos  # position 0 is the bar still forming
        return np.array(rows[max(0, end - count) : max(0, end)], dtype=RATE_DTYPE)

    # -- positions, orders, deals ---------------------------------------------------------
    def _profit(self, p: FakePosition) -> float:
        s = self.symbols[p.symbol]
        close = s.bid if p.type == 0 else s.ask
        sign = 1 if p.type == 0 else -1
        return round((close - p.price_open) * sign * p.volume * s.contract_size, 2)

    def positions_get(self, **kwargs: Any) -> Any:
        if not self._enter("positions_get", **kwargs):
            return None
        if set(kwargs) - {"symbol", "group", "ticket"}:
            raise TypeError(f"positions_get: unexpected {sorted(kwargs)}")
        if self.fail_positions_get:
            self.fail_positions_get -= 1
            self._fail(-10004, "No IPC connection")
            return None
        out = []
        for p in self.positions.values():
            if (
                kwargs.get("symbol", p.symbol) != p.symbol
                or kwargs.get("ticket", p.ticket) != p.ticket
            ):
                continue
            s = self.symbols[p.symbol]
            current = s.bid if p.type == 0 else s.ask
            # fmt: off
            out.append(TradePosition(
                p.ticket, p.time, p.time * 1000, p.time, p.time * 1000, p.type, p.magic,
                p.ticket, 3, p.volume, p.price_open, p.sl, p.tp, current, 0.0, self._profit(p),
                p.symbol, p.comment, "",
            ))
            # fmt: on
        return tuple(self._out(p) for p in out)

    def orders_get(self, **kwargs: Any) -> Any:
        """Active orders: here, the ones accepted and not executed yet."""
        if not self._enter("orders_get", **kwargs):
            return None
        if set(kwargs) - {"symbol", "group", "ticket"}:
            raise TypeError(f"orders_get: unexpected {sorted(kwargs)}")
        out = []
        for o in self.in_flight:
            r = o.request
            if (
                kwargs.get("symbol", r["symbol"]) != r["symbol"]
                or kwargs.get("ticket", o.ticket) != o.ticket
            ):
                continue
            # fmt: off
            out.append(TradeOrder(
                o.ticket, o.setup, o.setup * 1000, 0, 0, 0, r["type"], r["type_time"],
                r["type_filling"], CONSTANTS["ORDER_STATE_PLACED"], r["magic"],
                r.get("position", 0), 0, 3, r["volume"], r["volume"], r["price"], 0.0, 0.0,
                r["price"], 0.0, r["symbol"], self._comment(r["comment"]), "",
            ))
            # fmt: on
        return tuple(self._out(o) for o in out)

    def history_deals_get(self, *args: Any, **kwargs: Any) -> Any:
        """``(date_from, date_to, group=)``, ``(ticket=)`` or ``(position=)``; dates are
        server-clock seconds, both ends included."""
        if not self._enter("history_deals_get", *args, **kwargs):
            return None
        if args and (len(args) != 2 or set(kwargs) - {"group"}):
            raise TypeError("history_deals_get(date_from, date_to, group=)")
        if not args and (len(kwargs) != 1 or set(kwargs) - {"ticket", "position"}):
            raise TypeError("history_deals_get(ticket=) or history_deals_get(position=)")
        if args:
            lo, hi = (int(a) for a in args)
            rows = [d for d in self.deals if lo <= d.time <= hi]
        elif "ticket" in kwargs:
            rows = [d for d in self.deals if d.ticket == kwargs["ticket"]]
        else:
            rows = [d for d in self.deals if d.position_id == kwargs["position"]]
        return tuple(self._out(d) for d in rows)

    # -- trading -------------------------------------------------------------------------
    def order_send(self, request: dict[str, Any]) -> Any:
        check_plain(request, "order_send")
        if not self._enter("order_send"):
            return None
        self.requests.append(dict(request))
        if self.before_send:
            self.before_send.popleft()(self)
        fault = self.faults.popleft() if self.faults else None
        if fault is None:
            return self._order(request)
        result: Any = None
        ticket = self._next() if fault.retcode == 10008 or fault.delay else 0
        if fault.execute and fault.delay:
            land = self.now + timedelta(seconds=fault.delay)
            self.in_flight.append(
                InFlight(ticket, dict(request), land, self.server_time(), fault.fill)
            )
        elif fault.execute:
            result = self._order(request, fault.fill, ticket)
        if fault.retcode is None:
            self._fail(*fault.error)
            return None
        done = as_done(result) if fault.retcode in (10009, 10010) else {}
        if fault.retcode == 10008:  # accepted: the order has its ticket, nothing is filled
            done = {"order": ticket}
        return self._result(fault.retcode, request, **done)

    def _result(self, retcode: int, r: dict[str, Any], comment: str = "", **done: Any) -> Any:
        fields = {
            f: r.get(f, 0.0 if f in FLOAT_FIELDS else "" if f in STR_FIELDS else 0)
            for f in TradeRequest._fields
        }
        s = self.symbols.get(r.get("symbol", ""))
        bid, ask = (s.bid, s.ask) if s else (0.0, 0.0)
        text = comment or next(k for k, v in RETCODES.items() if v == retcode)
        # fmt: off
        res = OrderSendResult(
            retcode, done.get("deal", 0), done.get("order", 0),
            done.get("volume", 0.0), done.get("price", 0.0), bid, ask, text, len(self.requests),
            0, TradeRequest(**fields)
        )
        # fmt: on
        return self._out(res)

    def _order(self, r: dict[str, Any], fill: float | None = None, ticket: int = 0) -> Any:
        for key, value in r.items():
            expected = float if key in FLOAT_FIELDS else str if key in STR_FIELDS else int
            if key not in TradeRequest._fields or type(value) is not expected:
                self._fail(-2, f'Invalid "{key}" argument')
                return None
        if len(r.get("comment", "")) > MAX_COMMENT:
            self._fail(-2, 'Invalid "comment" argument')
            return None
        action = r.get("action")
        if action == CONSTANTS["TRADE_ACTION_DEAL"]:
            return self._deal(r, fill, ticket)
        if action == CONSTANTS["TRADE_ACTION_SLTP"]:
            return self._sltp(r)
        return self._result(10013, r, "Invalid request: unsupported action")

    def _fields_problem(self, r: dict[str, Any], required: set[str], optional: set[str]) -> str:
        missing, extra = required - set(r), set(r) - required - optional
        return (
            f"missing {sorted(missing)}"
            if missing
            else f"unexpected {sorted(extra)}"
            if extra
            else ""
        )

    def _on_grid(self, s: FakeSymbol, price: float) -> bool:
        return abs(price / s.tick - round(price / s.tick)) < 1e-6

    def _stops_bad(self, s: FakeSymbol, type_: int, sl: float, tp: float) -> bool:
        price, sign = (s.bid, 1) if type_ == 0 else (s.ask, -1)
        for level, side in ((sl, 1), (tp, -1)):
            if level and not self._on_grid(s, level):
                return True
            dist = round((price - level) * sign * side / s.point)
            if level and (dist <= 0 or dist < s.stops_level):
                return True
        return False

    def _frozen(self, s: FakeSymbol, p: FakePosition) -> bool:
        price, sign = (s.bid, 1) if p.type == 0 else (s.ask, -1)
        return s.freeze_level > 0 and any(
            level and round((price - level) * sign * side / s.point) <= s.freeze_level
            for level, side in ((p.sl, 1), (p.tp, -1))
        )

    def _comment(self, comment: str) -> str:
        return comment if self.comment_rewrite is None else self.comment_rewrite

    def _fillable(self, s: FakeSymbol, r: dict[str, Any], fill: float | None) -> float:
        """The lots this deal fills: all of them, or what the book holds (IOC fills part,
        FOK fills all or nothing)."""
        v = r["volume"] if fill is None else fill
        if s.liquidity is not None and v > s.liquidity + 1e-9:
            ioc = r["type_filling"] == CONSTANTS["ORDER_FILLING_IOC"]
            return s.liquidity if ioc else 0.0
        return v

    def _deal(self, r: dict[str, Any], fill: float | None = None, order: int = 0) -> Any:
        closing = "position" in r
        problem = self._fields_problem(
            r,
            DEAL_FIELDS | ({"position"} if closing else set()),
            set() if closing else {"sl", "tp"},
        )
        s = self.symbols.get(r.get("symbol", ""))
        if problem or s is None:
            return self._result(10013, r, f"Invalid request: {problem or 'unknown symbol'}")
        if r["type"] not in (0, 1):
            return self._result(10035, r)
        if r["type_time"] != CONSTANTS["ORDER_TIME_GTC"]:
            return self._result(10022, r)
        allowed = {0: s.filling_mode & 1, 1: s.filling_mode & 2, 2: s.return_allowed}
        if not allowed.get(r["type_filling"]):
            return self._result(10030, r, "Unsupported filling mode")
        if not s.market_open:
            return self._result(10018, r)
        v, step = r["volume"], s.volume_step
        if (
            not (s.volume_min - 1e-9 <= v <= s.volume_max + 1e-9)
            or abs(v / step - round(v / step)) > 1e-7
        ):
            return self._result(10014, r)
        market = s.ask if r["type"] == 0 else s.bid
        if not self._on_grid(s, r["price"]):
            return self._result(10015, r)
        if abs(r["price"] - market) > r["deviation"] * s.point + 1e-9:
            return self._result(10004, r)
        p = self.positions.get(r["position"]) if closing else None
        if closing:
            if p is None:
                return self._result(10036, r)
            if p.symbol != s.name or p.type == r["type"]:
                return self._result(10013, r, "Invalid request: not a close of that position")
            if v > p.volume + 1e-9:
                return self._result(10038, r)
            if self._frozen(s, p):
                return self._result(10029, r)
        elif self._stops_bad(s, r["type"], r.get("sl", 0.0), r.get("tp", 0.0)):
            return self._result(10016, r)
        filled = round(self._fillable(s, r, fill), 8)
        if filled <= 0:
            return self._result(10006, r, "Rejected: not enough liquidity to fill")
        order = order or self._next()
        ticket, entry = self._execute(s, r, p, filled, market, order)
        deal = self._record(r, order, ticket, entry, filled, market)
        retcode = 10009 if filled >= v - 1e-9 else 10010
        text = "Request executed" if retcode == 10009 else "Request executed partially"
        return self._result(retcode, r, text, deal=deal, order=order, volume=filled, price=market)

    def _execute(
        self,
        s: FakeSymbol,
        r: dict[str, Any],
        p: FakePosition | None,
        v: float,
        price: float,
        order: int,
    ) -> tuple[int, int]:
        """Apply a filled deal; returns the position's ticket and the deal's entry."""
        if p is not None:
            self._reduce(p, v)
            return p.ticket, CONSTANTS["DEAL_ENTRY_OUT"]
        sl, tp = r.get("sl", 0.0), r.get("tp", 0.0)
        net = next((q for q in self.positions.values() if q.symbol == s.name), None)
        if self.margin_mode == 2 or net is None:
            ticket = self._next() if self.split_tickets else order
            self.add_position(
                s.name,
                r["type"],
                v,
                price,
                sl=sl,
                tp=tp,
                magic=r["magic"],
                comment=self._comment(r["comment"]),
                ticket=ticket,
            )
            return ticket, CONSTANTS["DEAL_ENTRY_IN"]
        entry = CONSTANTS["DEAL_ENTRY_IN"]
        if net.type == r["type"]:  # netting: add, average the price
            net.price_open = round(
                (net.price_open * net.volume + price * v) / (net.volume + v), s.digits
            )
            net.volume = round(net.volume + v, 8)
        elif v > net.volume + 1e-9:  # reversal
            net.type, net.volume, net.price_open = r["type"], round(v - net.volume, 8), price
            entry = CONSTANTS["DEAL_ENTRY_INOUT"]
        else:
            self._reduce(net, v)
            entry = CONSTANTS["DEAL_ENTRY_OUT"]
        if sl or tp:
            net.sl, net.tp = sl, tp
        return net.ticket, entry

    def _record(
        self, r: dict[str, Any], order: int, position: int, entry: int, v: float, price: float
    ) -> int:
        ticket, t = self._next(), self.server_time()
        # fmt: off
        self.deals.append(TradeDeal(
            ticket, order, t, t * 1000, r["type"], entry, r["magic"], position,
            CONSTANTS["DEAL_REASON_EXPERT"], v, price, 0.0, 0.0, 0.0, 0.0, r["symbol"],
            self._comment(r["comment"]), "",
        ))
        # fmt: on
        return ticket

    def _reduce(self, p: FakePosition, volume: float) -> None:
        p.volume = round(p.volume - volume, 8)
        if p.volume <= 1e-9:
            del self.positions[p.ticket]

    def _sltp(self, r: dict[str, Any]) -> Any:
        problem = self._fields_problem(r, SLTP_FIELDS, {"magic"})
        if problem:
            return self._result(10013, r, f"Invalid request: {problem}")
        p = self.positions.get(r["position"])
        if p is None:
            return self._result(10036, r)
        s = self.symbols[p.symbol]
        if r["symbol"] != p.symbol:
            return self._result(10013, r, "Invalid request: symbol of another position")
        if r["sl"] == p.sl and r["tp"] == p.tp:
            return self._result(10025, r)
        if self._frozen(s, p):
            return self._result(10029, r)
        if self._stops_bad(s, p.type, r["sl"], r["tp"]):
            return self._result(10016, r)
        p.sl, p.tp = r["sl"], r["tp"]
        return self._result(10009, r, "Request executed", order=p.ticket)


def as_done(result: Any) -> dict[str, Any]:
    """The execution fields of a result (empty when it did not execute)."""
    if result is None or result.retcode not in (10009, 10010):
        return {}
    return {k: getattr(result, k) for k in ("deal", "order", "volume", "price")}


class RpycConnection:
    """What the adapter may touch of an rpyc connection: its ``_config``."""

    def __init__(self) -> None:
        self._config: dict[str, Any] = {"sync_request_timeout": 30}


def mt5linux_module(fake: FakeMT5) -> types.ModuleType:
    """A stand-in for the ``mt5linux`` package whose client is ``fake`` (records host/port)."""
    module = types.ModuleType("mt5linux")

    class MetaTrader5:
        def __new__(cls, host: str = "localhost", port: int = 18812) -> Any:
            fake.calls.append(f"connect {host}:{port}")
            # mt5linux keeps its rpyc connection here; rpyc's call timeout defaults to 30 s
            fake._MetaTrader5__conn = RpycConnection()  # type: ignore[attr-defined]
            return fake

    module.MetaTrader5 = MetaTrader5  # type: ignore[attr-defined]
    return module
