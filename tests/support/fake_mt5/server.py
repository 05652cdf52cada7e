"""The trade server behind the fake's ``order_send``: every rule a request must pass, then
the deal, the position it opens or changes, and its row in the history."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from .model import FakePosition, FakeSymbol, Fault, InFlight
from .service import ServerOperations
from .shapes import (
    CONSTANTS,
    DEAL_FIELDS,
    FLOAT_FIELDS,
    MAX_COMMENT,
    RETCODES,
    SLTP_FIELDS,
    STR_FIELDS,
    OrderSendResult,
    TradeDeal,
    TradeRequest,
    check_plain,
)
from .working import WorkingOrders


class TradeServer(WorkingOrders, ServerOperations):
    """``order_send`` and what it does to the state :class:`~.terminal.FakeMT5` keeps;
    the filling policies' partial fills are :class:`~.working.WorkingOrders`, the server's
    own operations (stops, stop-outs, swap re-opens) are
    :class:`~.service.ServerOperations`."""

    margin_mode: int
    balance: float
    currency: str
    trade_allowed: bool
    server_connected: bool
    now: datetime
    comment_rewrite: str | None
    split_tickets: bool
    hedge_prohibited: bool
    symbols: dict[str, FakeSymbol]
    faults: deque[Fault]
    before_send: deque[Callable[[Any], None]]
    after_send: deque[Callable[[Any], None]]
    requests: list[dict[str, Any]]
    positions: dict[int, FakePosition]
    swap_due: float
    deals: list[Any]
    in_flight: list[InFlight]

    def _enter(self, name: str, *args: Any, **kwargs: Any) -> bool:
        raise NotImplementedError

    def _out(self, value: Any) -> Any:
        raise NotImplementedError

    def _fail(self, code: int, text: str) -> None:
        raise NotImplementedError

    def _next(self) -> int:
        raise NotImplementedError

    def _next_deal(self) -> int:
        raise NotImplementedError

    def server_time(self, age: float = 0) -> int:
        raise NotImplementedError

    def add_position(self, symbol: str, type_: int, volume: float, price: float, **kw: Any) -> int:
        raise NotImplementedError

    # -- trading -------------------------------------------------------------------------
    def order_send(self, request: dict[str, Any]) -> Any:
        answer = self._answer(request)
        if self.after_send:  # another program acts before the caller reads anything
            self.after_send.popleft()(self)
        return answer

    def _answer(self, request: dict[str, Any]) -> Any:
        check_plain(request, "order_send")
        if not self._enter("order_send"):
            return None
        self.requests.append(dict(request))
        if self.before_send:
            self.before_send.popleft()(self)
        if not self.trade_allowed:  # the terminal's Algo Trading button is off
            return self._result(10027, request, "AutoTrading disabled by client")
        if not self.server_connected:  # the terminal has no trade server to pass it on to
            return self._result(10031, request, "No connection")
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
        if action == CONSTANTS["TRADE_ACTION_REMOVE"]:
            return self._remove(r)
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
        if s.exemode in (0, 1):  # Request and Instant execution: Fill or Kill only
            allowed = {0: True}
        else:  # Market, Exchange: FOK and IOC as the bitmask says; RETURN, which has no
            # flag, on both (MQL5 ORDER_FILLING_RETURN: "only for the symbols with Market
            # or Exchange execution modes")
            allowed = {0: s.filling_mode & 1, 1: s.filling_mode & 2, 2: True}
        if not allowed.get(r["type_filling"]):
            return self._result(10030, r, "Unsupported filling mode")
        if not s.market_open:
            return self._result(10018, r)
        v, step = r["volume"], s.volume_step
        # the request's volume is checked, not what a part leaves open; a position's whole
        # volume (a rest a part left below the minimum) always closes
        whole = closing and r["position"] in self.positions
        whole = whole and abs(v - self.positions[r["position"]].volume) < 1e-9
        if not whole and (
            not (s.volume_min - 1e-9 <= v <= s.volume_max + 1e-9)
            or abs(v / step - round(v / step)) > 1e-7
        ):
            return self._result(10014, r)
        market = s.ask if r["type"] == 0 else s.bid
        if not self._on_grid(s, r["price"]):
            return self._result(10015, r)
        if s.exemode in (0, 1):  # the dealer confirms the asked price or requotes
            if abs(r["price"] - market) > r["deviation"] * s.point + 1e-9:
                return self._result(10004, r)
        else:  # deviation is not applied: the deal goes at the market, slipped or not
            worse = s.slippage * s.point * (1 if r["type"] == 0 else -1)
            market = round(market + worse, s.digits)
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
        elif (
            self.hedge_prohibited
            and self.margin_mode == 2
            and any(q.symbol == s.name and q.type != r["type"] for q in self.positions.values())
        ):  # a hedging account whose server refuses opposite positions on one symbol
            return self._result(10046, r, "Opposite positions on a single symbol are disabled")
        filled = round(self._fillable(s, r, fill), 8)
        if filled <= 0:
            return self._result(10006, r, "Rejected: not enough liquidity to fill")
        order = order or self._next()
        ticket, entry, profit = self._execute(s, r, p, filled, market, order)
        deal = self._record(r, order, ticket, entry, filled, market, profit)
        retcode = 10009 if filled >= v - 1e-9 else 10010
        if retcode == 10010:
            self._keep_working(r, filled, order)
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
    ) -> tuple[int, int, float]:
        """Apply a filled deal; returns the position's identifier (its deals'
        ``position_id``), the deal's entry and its profit (a deal that closes lots books
        their result, as the server does)."""
        if p is not None:
            profit = self._booked(s, p, v, price)
            self._reduce(p, v)
            return p.id, CONSTANTS["DEAL_ENTRY_OUT"], profit
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
            return ticket, CONSTANTS["DEAL_ENTRY_IN"], 0.0
        # MT5 Help, "Rules of Stop Loss and Take Profit inheritance" (netting): a position
        # that grows or reverses takes the levels of the order that changed it, a zero
        # deleting one; a position that shrinks keeps its own.
        entry, profit = CONSTANTS["DEAL_ENTRY_IN"], 0.0
        if net.type == r["type"]:  # netting: add, average the price
            net.price_open = round(
                (net.price_open * net.volume + price * v) / (net.volume + v), s.digits
            )
            net.volume = round(net.volume + v, 8)
            net.sl, net.tp = sl, tp
        elif v > net.volume + 1e-9:  # reversal
            profit = self._booked(s, net, net.volume, price)
            net.type, net.volume, net.price_open = r["type"], round(v - net.volume, 8), price
            net.sl, net.tp = sl, tp
            entry = CONSTANTS["DEAL_ENTRY_INOUT"]
            # MQL5 reference, POSITION_IDENTIFIER: "When reversing a position in netting
            # mode (using a single in/out trade), POSITION_IDENTIFIER does not change.
            # However, POSITION_TICKET is replaced with the ticket of the order that led
            # to the reversal."
            del self.positions[net.ticket]
            net.identifier, net.ticket = net.id, order
            self.positions[order] = net
        else:
            profit = self._booked(s, net, v, price)
            self._reduce(net, v)
            entry = CONSTANTS["DEAL_ENTRY_OUT"]
        return net.id, entry, profit

    def _booked(self, s: FakeSymbol, p: FakePosition, volume: float, price: float) -> float:
        """The result of closing ``volume`` of ``p`` at ``price``, in the account's
        currency (:meth:`_in_account`), as the deal books it."""
        sign = 1 if p.type == 0 else -1
        money = (price - p.price_open) * sign * volume * s.contract_size
        return round(self._in_account(s, money, price), 2)

    def _in_account(self, s: FakeSymbol, money: float, price: float) -> float:
        """``money`` in ``s``'s profit currency, in the account's (``currency``), as the
        terminal turns it for a position's profit, a deal's and ``order_calc_profit``
        alike: as it is when the two are one; divided by ``price`` (the deal's) when the
        account's currency is the symbol's base (``USDJPY``'s yen on a USD account);
        else at the rate of another symbol of the two currencies, at its mid price
        (``EURUSD``'s dollars on a yen account, at ``USDJPY``'s). Yen counted as dollars
        made the fake's USDJPY deal book 99,000.00 where order_calc_profit said 655.63."""
        base, profit = s.currencies
        account = self.currency
        if profit == account:
            return money
        if base == account:
            return money / price
        for other in self.symbols.values():
            mid = (other.bid + other.ask) / 2
            if other.currencies == (account, profit) and mid > 0:
                return money / mid
            if other.currencies == (profit, account):
                return money * mid
        raise LookupError(
            f"the fake terminal has no rate from {profit} to the account's {account}: "
            f"add a symbol {account}{profit} or {profit}{account}"
        )

    def _record(
        self,
        r: dict[str, Any],
        order: int,
        position: int,
        entry: int,
        v: float,
        price: float,
        profit: float = 0.0,
        reason: int = CONSTANTS["DEAL_REASON_EXPERT"],
        swap: float = 0.0,
    ) -> int:
        ticket, t = self._next_deal(), self.server_time()
        swap, self.swap_due = round(swap + self.swap_due, 2), 0.0
        self.balance = round(self.balance + profit + swap, 2)  # a deal books its result
        # fmt: off
        self.deals.append(TradeDeal(
            ticket, order, t, t * 1000, r["type"], entry, r["magic"], position,
            reason, v, price, 0.0, swap, profit, 0.0, r["symbol"],
            self._comment(r["comment"]), "",
        ))
        # fmt: on
        return ticket

    def _reduce(self, p: FakePosition, volume: float) -> None:
        """Close ``volume`` of ``p``; the deal recorded next books their share of its swap."""
        share = round(p.swap * min(1.0, volume / p.volume), 2) if p.volume > 0 else 0.0
        p.swap, self.swap_due = round(p.swap - share, 2), self.swap_due + share
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
        if not s.market_open:  # 10018 answers every trade request while the market is shut
            return self._result(10018, r)
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
