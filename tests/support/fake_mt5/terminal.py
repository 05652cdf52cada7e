"""The fake terminal: connection, market data and the reads of positions, orders and deals.
The trading half (``order_send``) is :class:`~.server.TradeServer`."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from .model import FakePosition, FakeSymbol, Fault, InFlight
from .server import TradeServer
from .shapes import (
    CONSTANTS,
    RATE_DTYPE,
    TIMEFRAMES,
    AccountInfo,
    SymbolInfo,
    TerminalInfo,
    Tick,
    TradeOrder,
    TradePosition,
    _Remote,
    check_plain,
)
from .triggers import crossed


@dataclass
class FakeMT5(TradeServer):
    margin_mode: int = 2
    #: the account's balance: every deal's profit is booked into it, as the server does
    #: (equity is the balance plus the open positions' floating profit)
    balance: float = 10_000.0
    server_offset: int = 7200  # seconds the server clock is ahead of UTC
    now: datetime = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    dst: tuple[datetime, int] | None = None  # from this UTC instant, this server offset
    swap_due: float = 0.0  # the swap share of lots just closed, booked by the next deal
    password: str | None = None
    remote: bool = False  # answer with mt5linux-style proxies
    terminal_running: bool = True
    trade_allowed: bool = True  # the AutoTrading button; off: order_send answers 10027
    #: the terminal's link to its trade server (MQL5 TERMINAL_CONNECTED, "connection to a
    #: trade server"): without it terminal_info().connected is False and every order_send
    #: answers 10031 TRADE_RETCODE_CONNECTION, "no connection with the trade server"
    server_connected: bool = True
    login_error: Exception | None = None  # login() raises it (e.g. an rpyc timeout)
    comment_rewrite: str | None = None  # the broker replaces order comments with this
    split_tickets: bool = False  # a new position's ticket differs from its order's
    #: a hedging account whose server refuses an order opposite to an open position of
    #: the same symbol with 10046 TRADE_RETCODE_HEDGE_PROHIBITED (a FIFO account)
    hedge_prohibited: bool = False
    #: the server closes a position once the price reaches its stop or target, as the
    #: real one does between any two calls: a deal at the price then (a gap fills past
    #: the level) with DEAL_REASON_SL / DEAL_REASON_TP. Off: tests move prices past the
    #: levels freely, and close positions with hit_stop()
    trigger_levels: bool = False
    symbols: dict[str, FakeSymbol] = field(default_factory=dict)
    rates: dict[tuple[str, int], list[tuple[Any, ...]]] = field(default_factory=dict)
    max_bars: int | None = None  # the terminal's "max bars in chart": history is cut
    #: seconds before a deal shows in history_deals_get: the terminal syncs its history
    #: late, so a query returns fewer rows than the server holds
    history_lag: float = 0.0
    faults: deque[Fault] = field(default_factory=deque)
    before_send: deque[Callable[[FakeMT5], None]] = field(default_factory=deque)
    #: run once order_send has answered, before the caller's next call: another program
    #: on the account (a bot, a DTMS server) trading between a send and its follow-up
    after_send: deque[Callable[[FakeMT5], None]] = field(default_factory=deque)
    fail_positions_get: int = 0  # the next N positions_get() calls return None
    #: the next N positions_get() calls answer an empty tuple, whatever they ask, while
    #: the positions stay open on the server: a terminal whose copy of the account is not
    #: synchronised yet (just reconnected) answers from an empty list
    empty_positions_get: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    positions: dict[int, FakePosition] = field(default_factory=dict)
    deals: list[Any] = field(default_factory=list)  # TradeDeal rows, oldest first
    in_flight: list[InFlight] = field(default_factory=list)
    initialized: bool = False
    login_id: int = 5001
    #: the trade server the account is on (``account_info().server``): with ``login_id``,
    #: which account the terminal is logged in to
    server_name: str = "Fake-Demo"
    #: the account's currency (``account_info().currency``), which every profit is in
    currency: str = "USD"
    _error: tuple[int, str] = (1, "Success")
    #: the order (and position) counter; the deals have their own, as on a real server,
    #: so a deal's number says nothing about its order's and can equal another order's
    _ticket: int = 70_000_000
    _deal_ticket: int = 40_000_000

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
        elif self.trigger_levels:
            for ticket, price, reason in crossed(self.positions.values(), self.symbols):
                self._server_close(ticket, price, reason)
        return self.initialized

    def _out(self, value: Any) -> Any:
        return _Remote(value) if self.remote and value is not None else value

    def _fail(self, code: int, text: str) -> None:
        self._error = (code, text)

    def _next(self) -> int:
        self._ticket += 1
        return self._ticket

    def _next_deal(self) -> int:
        self._deal_ticket += 1
        return self._deal_ticket

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
        identifier: int = 0,
    ) -> int:
        """A position open on the server; ``identifier`` (its deals' ``position_id``)
        differs from its ticket after the server re-opened it (see FakePosition)."""
        ticket = ticket or self._next()
        self.positions[ticket] = FakePosition(
            ticket, symbol, type_, volume, price, sl, tp, magic, comment, self.server_time(),
            identifier,
        )  # fmt: skip
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
            False, False, self.server_connected, False, self.trade_allowed, False, False, False,
            False, False, 4755, 100000, 0, 30000, 0.0, 0.0, "Fake Broker", "MetaTrader 5",
            "English", "C:\\MT5", "C:\\MT5", "C:\\Common"
        )
        # fmt: on
        return self._out(info)

    def account_info(self) -> Any:
        if not self._enter("account_info"):
            return None
        balance = self.balance
        equity = round(balance + sum(self._profit(p) for p in self.positions.values()), 2)
        # fmt: off
        info = AccountInfo(
            self.login_id, 0, 100, 200, 0, True, True, self.margin_mode, 2, False,
            balance, 0.0, equity - balance, equity, 0.0, equity, 0.0, 50.0, 30.0, 0.0, 0.0, 0.0,
            0.0, 0.0, "Test", self.server_name, self.currency, "Fake Broker"
        )
        # fmt: on
        return self._out(info)

    # -- market --------------------------------------------------------------------------
    def _symbol_info(self, s: FakeSymbol) -> SymbolInfo:
        # fmt: off
        return SymbolInfo(
            False, s.visible, s.visible, round((s.ask - s.bid) / s.point), s.digits,
            4, s.exemode, s.stops_level, s.freeze_level, s.filling_mode, 15, 127, s.bid, s.ask,
            s.point, s.tick, s.contract_size, s.volume_min, s.volume_max, s.volume_step,
            *s.currencies, s.name, s.name, f"Metals\\{s.name}"
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
        if s.bid == 0 and s.ask == 0:  # no quote yet (just selected): a tick of zeros
            return self._out(Tick(0, 0.0, 0.0, 0.0, 0, 0, 0, 0.0))
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
        return self._booked(s, p, p.volume, close)  # what closing it now would book

    def order_calc_profit(
        self, action: int, symbol: str, volume: float, price_open: float, price_close: float
    ) -> Any:
        """As the terminal answers it: in the account's currency, turned from the
        symbol's profit currency as a deal's is (:meth:`_in_account`); ``None`` with an
        error for a bad action or symbol."""
        if not self._enter("order_calc_profit", action, symbol, volume, price_open, price_close):
            return None
        s = self.symbols.get(symbol)
        if s is None or action not in (0, 1):
            self._fail(-2, "Terminal: Invalid params")
            return None
        sign = 1 if action == 0 else -1
        money = (price_close - price_open) * sign * volume * s.contract_size
        return round(self._in_account(s, money, price_close), 2)

    def positions_get(self, **kwargs: Any) -> Any:
        if not self._enter("positions_get", **kwargs):
            return None
        if set(kwargs) - {"symbol", "group", "ticket"}:
            raise TypeError(f"positions_get: unexpected {sorted(kwargs)}")
        if self.fail_positions_get:
            self.fail_positions_get -= 1
            self._fail(-10004, "No IPC connection")
            return None
        if self.empty_positions_get:
            self.empty_positions_get -= 1
            return ()
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
                p.id, 3, p.volume, p.price_open, p.sl, p.tp, current, p.swap, self._profit(p),
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
            if r.get("action") != CONSTANTS["TRADE_ACTION_DEAL"]:
                continue  # a stop/target change is no order
            if (
                kwargs.get("symbol", r["symbol"]) != r["symbol"]
                or kwargs.get("ticket", o.ticket) != o.ticket
            ):
                continue
            # fmt: off
            out.append(TradeOrder(
                o.ticket, o.setup, o.setup * 1000, 0, 0, 0, r["type"], r["type_time"],
                r["type_filling"], CONSTANTS["ORDER_STATE_PLACED"], r["magic"],
                self._position_id(r.get("position", 0)), 0, 3, r["volume"], r["volume"],
                r["price"], 0.0, 0.0, r["price"], 0.0, r["symbol"], self._comment(r["comment"]), "",
            ))
            # fmt: on
        return tuple(self._out(o) for o in out)

    def _position_id(self, ticket: int) -> int:
        """ORDER_POSITION_ID of an order that acts on position ``ticket``: the position's
        identifier (MQL5 reference: "the identifier of exactly this position")."""
        p = self.positions.get(ticket)
        return p.id if p is not None else ticket

    def history_deals_get(self, *args: Any, **kwargs: Any) -> Any:
        """``(date_from, date_to, group=)``, ``(ticket=)`` or ``(position=)``; dates are
        server-clock seconds, both ends included. ``ticket`` is an ORDER's ticket, whose
        deals are returned (MetaTrader5 Python reference, history_deals_get: "Ticket of an
        order (stored in DEAL_ORDER) all deals should be received for"), never a deal's;
        ``position`` a position's identifier (``DEAL_POSITION_ID``)."""
        if not self._enter("history_deals_get", *args, **kwargs):
            return None
        if args and (len(args) != 2 or set(kwargs) - {"group"}):
            raise TypeError("history_deals_get(date_from, date_to, group=)")
        if not args and (len(kwargs) != 1 or set(kwargs) - {"ticket", "position"}):
            raise TypeError("history_deals_get(ticket=) or history_deals_get(position=)")
        synced = [d for d in self.deals if d.time <= self.server_time(self.history_lag)]
        if args:
            lo, hi = (int(a) for a in args)
            rows = [d for d in synced if lo <= d.time <= hi]
        elif "ticket" in kwargs:
            rows = [d for d in synced if d.order == kwargs["ticket"]]
        else:
            rows = [d for d in synced if d.position_id == kwargs["position"]]
        return tuple(self._out(d) for d in rows)
