"""MetaTrader 5 trade-server return codes and what the adapter does with each.

The numbers are MetaTrader's own (``TRADE_RETCODE_*``, 10004–10046); they are fixed by the
terminal protocol, so they live here rather than being read from the API object, which lets
a failure message name the code even when the module in use lacks the constant.
"""

from __future__ import annotations

from enum import Enum

from hookspecs import BrokerError, ResultCode

RETCODE_NAMES: dict[int, str] = {
    10004: "REQUOTE",
    10006: "REJECT",
    10007: "CANCEL",
    10008: "PLACED",
    10009: "DONE",
    10010: "DONE_PARTIAL",
    10011: "ERROR",
    10012: "TIMEOUT",
    10013: "INVALID",
    10014: "INVALID_VOLUME",
    10015: "INVALID_PRICE",
    10016: "INVALID_STOPS",
    10017: "TRADE_DISABLED",
    10018: "MARKET_CLOSED",
    10019: "NO_MONEY",
    10020: "PRICE_CHANGED",
    10021: "PRICE_OFF",
    10022: "INVALID_EXPIRATION",
    10023: "ORDER_CHANGED",
    10024: "TOO_MANY_REQUESTS",
    10025: "NO_CHANGES",
    10026: "SERVER_DISABLES_AT",
    10027: "CLIENT_DISABLES_AT",
    10028: "LOCKED",
    10029: "FROZEN",
    10030: "INVALID_FILL",
    10031: "CONNECTION",
    10032: "ONLY_REAL",
    10033: "LIMIT_ORDERS",
    10034: "LIMIT_VOLUME",
    10035: "INVALID_ORDER",
    10036: "POSITION_CLOSED",
    10038: "INVALID_CLOSE_VOLUME",
    10039: "CLOSE_ORDER_EXIST",
    10040: "LIMIT_POSITIONS",
    10041: "REJECT_CANCEL",
    10042: "LONG_ONLY",
    10043: "SHORT_ONLY",
    10044: "CLOSE_ONLY",
    10045: "FIFO_CLOSE",
    10046: "HEDGE_PROHIBITED",
}

#: ``SYMBOL_FILLING_*`` flags of ``symbol_info().filling_mode`` (a bitmask). Neither every
#: MetaTrader5 build nor mt5linux exports these names, so the adapter uses the values.
SYMBOL_FILLING_FOK = 1
SYMBOL_FILLING_IOC = 2

#: ``SYMBOL_TRADE_EXECUTION_*`` values of ``symbol_info().trade_exemode``, used as values
#: for the same reason. Instant and Request execution requote beyond ``deviation``;
#: Market and Exchange execution fill at the market price whatever it is.
EXECUTION_REQUEST = 0
EXECUTION_INSTANT = 1
EXECUTION_MARKET = 2
EXECUTION_EXCHANGE = 3


def link_lost(code: int | None) -> bool:
    """``last_error()`` -10000 … -10005 (``RES_E_INTERNAL_FAIL*``): the IPC link between
    the package and the terminal failed, not the call's arguments or its symbol."""
    return code is not None and code <= -10000


#: What a call raises when the transport, not the terminal, failed: the mt5linux bridge's
#: rpyc raises EOFError when its connection closes, and socket errors and its call timeout
#: (``AsyncResultTimeout``, Python's TimeoutError) are OSErrors. A request may have
#: reached the terminal before the answer was lost (docs/mt5.md, "What happens when the
#: terminal does not answer").
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (EOFError, OSError)
#: A read that could not answer: the terminal said so (BrokerError), or the transport.
UNREAD: tuple[type[Exception], ...] = (BrokerError, *TRANSPORT_ERRORS)


#: ``last_error()`` codes that, after ``order_send`` returned ``None``, mean the request
#: never left this side (docs/mt5.md, "Retcodes"): the package refused it as malformed
#: (``RES_E_INVALID_PARAMS``, -2) or because algorithmic trading is off
#: (``RES_E_AUTO_TRADING_DISABLED``, -8).
REFUSED_ERRORS = frozenset({-2, -8})
#: ``RES_E_AUTO_TRADING_DISABLED`` and ``TRADE_RETCODE_CLIENT_DISABLES_AT``: the
#: terminal's Algo Trading button is off (docs/mt5.md, "Retcodes").
AUTO_TRADING_DISABLED = -8
CLIENT_DISABLES_AT = 10027
#: ... or the IPC link failed before the terminal had it: sending failed
#: (``RES_E_INTERNAL_FAIL_SEND``, -10001), the link is not set up
#: (``RES_E_INTERNAL_FAIL_INIT``, -10003) or there is none (``RES_E_INTERNAL_FAIL_CONNECT``,
#: -10004). Not -10000 (a general failure), -10002 (receiving the answer failed) nor
#: -10005 (the answer timed out): the request may have reached the terminal.
UNREACHED_ERRORS = frozenset({-10001, -10003, -10004})
NOT_SENT_ERRORS = REFUSED_ERRORS | UNREACHED_ERRORS


class Outcome(Enum):
    """What the sender does next with a result."""

    DONE = "done"  # executed (10009 DONE)
    PLACED = "placed"  # 10008: the order is accepted, not filled: follow it by its ticket
    PARTIAL = "partial"  # 10010: part executed; reported as success, never retried
    NO_CHANGES = "no_changes"  # 10025: the request asked for what already is
    RETRY_PRICE = "retry_price"  # requote / price moved / busy: fresh tick, back off
    UNKNOWN = "unknown"  # timeout / no connection / None: it may have executed
    POSITION_CLOSED = "position_closed"  # 10036
    INVALID_FILL = "invalid_fill"  # 10030: try the next filling policy
    FAILED = "failed"


_OUTCOMES: dict[int, Outcome] = {
    10008: Outcome.PLACED,
    10009: Outcome.DONE,
    10010: Outcome.PARTIAL,
    10025: Outcome.NO_CHANGES,
    10004: Outcome.RETRY_PRICE,
    10020: Outcome.RETRY_PRICE,
    10021: Outcome.RETRY_PRICE,
    10024: Outcome.RETRY_PRICE,
    10012: Outcome.UNKNOWN,
    10031: Outcome.UNKNOWN,
    10036: Outcome.POSITION_CLOSED,
    10030: Outcome.INVALID_FILL,
}

_FAILURE_CODES: dict[int, ResultCode] = {
    10014: ResultCode.INVALID_VOLUME,
    10034: ResultCode.INVALID_VOLUME,
    10038: ResultCode.INVALID_VOLUME,
    # 10015 is the price the request carried (an open's or a close's), not its stops:
    # the price moved off the one sent, and the next try goes at a fresh one
    10015: ResultCode.TRANSIENT,
    10016: ResultCode.INVALID_STOPS,
    10029: ResultCode.FROZEN,
    10019: ResultCode.NO_MONEY,
    10018: ResultCode.MARKET_CLOSED,
    10046: ResultCode.HEDGING_NOT_ALLOWED,
    # Trading itself refused for now, no fault of the order: the terminal's Algo Trading
    # button is off (10027), the server disables algorithmic trading for the account
    # (10026), or trading is disabled for the account or the symbol (10017: an investor
    # login is refused at start-up, so mid-run it is the broker switching trading off, as
    # some do around rollover or maintenance). Each clears once someone turns trading
    # on again; a defender waits instead of spending its retries (docs/mt5.md, "Retcodes").
    10017: ResultCode.TRADING_DISABLED,
    10026: ResultCode.TRADING_DISABLED,
    10027: ResultCode.TRADING_DISABLED,
    # 10044: the symbol takes closing orders only. A broker sets it for a contract's last
    # days or before it delists the symbol: it does not clear while a run waits, so an
    # open or a hedge refused with it is a plain refusal (closes still go through).
    10044: ResultCode.REJECTED,
    # 10039: an order closing this position is already working (another program's, or a
    # rest of ours): the position may close with it, or be closable once it is gone.
    10039: ResultCode.TRANSIENT,
    # 10045: a FIFO account (US rules) closes a symbol's positions oldest first: this one
    # cannot be closed before the older ones, however often it is asked.
    10045: ResultCode.REJECTED,
    10036: ResultCode.NOT_FOUND,
    10004: ResultCode.TRANSIENT,
    10020: ResultCode.TRANSIENT,
    10021: ResultCode.TRANSIENT,
    10024: ResultCode.TRANSIENT,
    10028: ResultCode.TRANSIENT,
    10012: ResultCode.UNKNOWN_OUTCOME,
    10031: ResultCode.UNKNOWN_OUTCOME,
}


#: What a refusal means, said in the result's message after the code's name: those whose
#: name alone misleads or says little (docs/mt5.md, "Retcodes").
RETCODE_WORDS: dict[int, str] = {
    10015: "the server refused the price sent (not the stops); the next try goes at a fresh price",
    10039: (
        "an order closing this position already exists (another program's, or one still "
        "working): the position may close with it; look at the terminal's orders"
    ),
    10045: (
        "the account closes positions first in, first out (FIFO rule): the symbol's "
        "older positions must be closed before this one"
    ),
}


def classify(retcode: int | None) -> Outcome:
    """``None`` is what ``order_send`` returns when the call itself failed: unknown outcome."""
    if retcode is None:
        return Outcome.UNKNOWN
    return _OUTCOMES.get(retcode, Outcome.FAILED)


def failure_code(retcode: int | None) -> ResultCode:
    if retcode is None:
        return ResultCode.UNKNOWN_OUTCOME
    return _FAILURE_CODES.get(retcode, ResultCode.REJECTED)


def retcode_name(retcode: int | None) -> str:
    """``"10016 TRADE_RETCODE_INVALID_STOPS"``; unknown numbers are still shown."""
    if retcode is None:
        return "no result (order_send returned None)"
    name = RETCODE_NAMES.get(retcode)
    return f"{retcode} TRADE_RETCODE_{name}" if name else f"{retcode} (unknown retcode)"
