"""The hostapp plugin contract: markers, hook specifications and the data that crosses them.

Third-party plugins import from here and nowhere else::

    from hookspecs import hookimpl, OrderRequest

    @hookimpl
    def propose_orders(symbol, bars, now):
        ...
"""

from __future__ import annotations

from . import events, rules, spec
from .broker import (
    UNCONFIRMED_CLOSE_SECONDS,
    AccountInfo,
    Broker,
    BrokerError,
    ClosedPositions,
    CloseReasons,
    MarginMode,
    OwnMagic,
    ProfitCalculator,
    Quote,
    SimBroker,
    SymbolInfo,
    WaitingOrder,
    WaitingOrders,
    apply_action,
    inside_freeze,
)
from .frozen import FrozenDict, FrozenList, freeze
from .host import (
    MAX_REQUEST_LINE_BYTES,
    BarSources,
    Clock,
    HostView,
    MarketView,
    RunMode,
    RunView,
    SeriesView,
    ServeOptions,
    StandingClock,
)
from .host_names import LOOPBACK_NAMES, answered_names, is_loopback
from .install import install_hint
from .interrupts import keep_interrupts, output_unwritable
from .markers import ENTRY_POINT_GROUP, PROJECT_NAME, hookimpl, hookspec
from .rules import HOOK_RULES, SYNC_ONLY_HOOKS, HookRule
from .settings import ConfigError, parse_settings, require_buildable, settings_in_force
from .timeframes import Timeframe
from .types import (
    DEFENSIVE_STATES,
    DIRECTIONS,
    Action,
    ActionKind,
    ActionResult,
    Bar,
    CloseReason,
    DataError,
    DefensiveState,
    Direction,
    NettingEffect,
    OrderRequest,
    ResultCode,
    Trade,
    Veto,
    opposite,
    parse_direction,
)
from .urls import masked_url

__all__ = [
    "DEFENSIVE_STATES",
    "DIRECTIONS",
    "ENTRY_POINT_GROUP",
    "HOOK_RULES",
    "LOOPBACK_NAMES",
    "MAX_REQUEST_LINE_BYTES",
    "PROJECT_NAME",
    "SYNC_ONLY_HOOKS",
    "UNCONFIRMED_CLOSE_SECONDS",
    "AccountInfo",
    "Action",
    "ActionKind",
    "ActionResult",
    "Bar",
    "BarSources",
    "Broker",
    "BrokerError",
    "Clock",
    "CloseReason",
    "CloseReasons",
    "ClosedPositions",
    "ConfigError",
    "DataError",
    "DefensiveState",
    "Direction",
    "FrozenDict",
    "FrozenList",
    "HookRule",
    "HostView",
    "MarginMode",
    "MarketView",
    "NettingEffect",
    "OrderRequest",
    "OwnMagic",
    "ProfitCalculator",
    "Quote",
    "ResultCode",
    "RunMode",
    "RunView",
    "SeriesView",
    "ServeOptions",
    "SimBroker",
    "StandingClock",
    "SymbolInfo",
    "Timeframe",
    "Trade",
    "Veto",
    "WaitingOrder",
    "WaitingOrders",
    "answered_names",
    "apply_action",
    "events",
    "freeze",
    "hookimpl",
    "hookspec",
    "inside_freeze",
    "install_hint",
    "is_loopback",
    "keep_interrupts",
    "masked_url",
    "opposite",
    "output_unwritable",
    "parse_direction",
    "parse_settings",
    "require_buildable",
    "rules",
    "settings_in_force",
    "spec",
]
