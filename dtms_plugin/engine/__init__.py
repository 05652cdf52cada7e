"""The DTMS engine: pure code, no I/O, no wall clock.

Indicators per symbol (``SymbolIndicators``) yield a ``SignalSnapshot`` per closed bar;
``evaluate`` takes a ``TradeRecord``, the snapshot, the quote and the clock reading and
returns the new record with its planned actions (``Evaluation``). The executor journals
each action with ``begin``/``finish`` around the broker call and settles unknown outcomes
with ``outcome_from_broker`` + ``settle``. ``check_account`` gives the account rails.

``ReplayIndicators`` (and the ``Indicators`` union that names it) is imported on first
use: it computes a replay's features with numpy, which a live host or ``dtms serve``
never needs, and numpy costs a serving process a fifth of a second and 20 MB before its
first answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from .journal import (
    HEDGE_COMMENT,
    READD_COMMENT,
    WAITS,
    begin,
    find_opened,
    finish,
    needs_attention,
    outcome_from_broker,
    settle,
    unsettled,
)
from .live import SymbolIndicators
from .machine import AccountState, Evaluation, close_record, evaluate
from .positions import hedge_closed, realised_part, sync_position
from .rails import AccountMode, check_account, spread_ok
from .record import ClosedTrade, JournalEntry, JournalStatus, TradeRecord, register
from .regime import Regime, Session, Structure, Volatility, base_symbol, check_tables, classify
from .score import SIGNALS, ScoreBreakdown, compute_score
from .snapshot import OrderFlow, SignalSnapshot, timeframe_period

if TYPE_CHECKING:
    from .replay import ReplayIndicators

    #: a symbol's indicators: fed bar by bar (live) or computed ahead (a replay)
    Indicators: TypeAlias = SymbolIndicators | ReplayIndicators


def __getattr__(name: str) -> Any:
    """``ReplayIndicators`` and ``Indicators``, imported (with numpy) when first asked."""
    if name == "ReplayIndicators":
        from .replay import ReplayIndicators

        return ReplayIndicators
    if name == "Indicators":
        from .replay import ReplayIndicators

        return SymbolIndicators | ReplayIndicators
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "HEDGE_COMMENT",
    "READD_COMMENT",
    "SIGNALS",
    "WAITS",
    "AccountMode",
    "AccountState",
    "ClosedTrade",
    "Evaluation",
    "Indicators",
    "JournalEntry",
    "JournalStatus",
    "OrderFlow",
    "Regime",
    "ReplayIndicators",
    "ScoreBreakdown",
    "Session",
    "SignalSnapshot",
    "Structure",
    "SymbolIndicators",
    "TradeRecord",
    "Volatility",
    "base_symbol",
    "begin",
    "check_account",
    "check_tables",
    "classify",
    "close_record",
    "compute_score",
    "evaluate",
    "find_opened",
    "finish",
    "hedge_closed",
    "needs_attention",
    "outcome_from_broker",
    "realised_part",
    "register",
    "settle",
    "spread_ok",
    "sync_position",
    "timeframe_period",
    "unsettled",
]
