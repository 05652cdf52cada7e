"""What the fake terminal's answers look like: MetaTrader's constants and retcodes (their
real values), the namedtuples of its results, and the mt5linux-style proxy around them."""

from __future__ import annotations

import types
from collections import namedtuple
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
    "DEAL_ENTRY_IN": 0, "DEAL_ENTRY_OUT": 1, "DEAL_ENTRY_INOUT": 2, "DEAL_ENTRY_OUT_BY": 3,
    "DEAL_REASON_CLIENT": 0, "DEAL_REASON_MOBILE": 1, "DEAL_REASON_WEB": 2,
    "DEAL_REASON_EXPERT": 3, "DEAL_REASON_SL": 4, "DEAL_REASON_TP": 5, "DEAL_REASON_SO": 6,
    "DEAL_REASON_ROLLOVER": 7, "DEAL_REASON_VMARGIN": 8, "DEAL_REASON_SPLIT": 9,
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


class _Remote:
    """An mt5linux-style proxy: attributes and ``_asdict()`` work; it is no namedtuple."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        if name == "_asdict":
            return lambda: types.MappingProxyType(self._target._asdict())
        return getattr(self._target, name)
