"""The fake server's state: symbols, positions, scripted faults and orders in flight."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


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
    #: SYMBOL_TRADE_EXECUTION_*: 0 Request, 1 Instant (both requote beyond deviation, FOK
    #: only), 2 Market, 3 Exchange (fill at the market price; RETURN only on Exchange)
    exemode: int = 2
    slippage: int = 0  # points a Market/Exchange fill comes out worse than the quote
    contract_size: float = 100.0
    visible: bool = True
    market_open: bool = True  # False: every trade request, deal or stop change, gets 10018
    tick_age: float = 0  # seconds since the last tick
    live: bool = True  # a new tick arrives whenever time moves; else the last one ages
    tick_size: float | None = None  # SYMBOL_TRADE_TICK_SIZE; None: the point
    liquidity: float | None = None  # lots one deal can fill; IOC fills that much

    @property
    def currencies(self) -> tuple[str, str]:
        """SYMBOL_CURRENCY_BASE and SYMBOL_CURRENCY_PROFIT: a pair's two (``USDJPY``, a
        broker's suffix after them too), else gold's, the fake's first symbol."""
        head = self.name[:6]
        if len(head) == 6 and head.isascii() and head.isalpha() and head.isupper():
            return head[:3], head[3:]
        return "XAU", "USD"

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
    #: POSITION_IDENTIFIER, the position's deals' DEAL_POSITION_ID: the ticket of the
    #: order that opened it, kept for the position's life, while the server may give the
    #: position a new ticket (MQL5 reference, POSITION_TICKET: "changed as a result of
    #: service operations on the server, for example, when charging swaps with position
    #: re-opening"); 0: the ticket
    identifier: int = 0
    #: POSITION_SWAP: the swap accrued so far (:meth:`~.service.ServerOperations.accrue_swap`);
    #: a deal closing lots books their share of it
    swap: float = 0.0

    @property
    def id(self) -> int:
        return self.identifier or self.ticket


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
