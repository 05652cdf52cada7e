"""The DTMS engine: pure code, no I/O, no wall clock.

Indicators per symbol (``SymbolIndicators``) yield a ``SignalSnapshot`` per closed bar;
``evaluate`` takes a ``TradeRecord``, the snapshot, the quote and the clock reading and
returns the new record with its planned actions (``Evaluation``). The executor journals
each action with ``begin``/``finish`` around the broker call and settles unknown outcomes
with ``outcome_from_broker`` + ``settle``. ``check_account`` gives the account rails.
"""

from __future__ import annotations

from .journal import (
    HEDGE_COMMENT,
    READD_COMMENT,
    begin,
    finish,
    needs_attention,
    outcome_from_broker,
    settle,
    unsettled,
)
from .machine import AccountState, Evaluation, close_record, evaluate, spread_ok, sync_position
from .rails import AccountMode, check_account
from .record import JournalEntry, JournalStatus, TradeRecord, register
from .regime import Regime, Session, Structure, Volatility, base_symbol, check_tables, classify
from .replay import ReplayIndicators
from .score import SIGNALS, ScoreBreakdown, compute_score
from .snapshot import OrderFlow, SignalSnapshot, SymbolIndicators, timeframe_period

#: a symbol's indicators: fed bar by bar (live) or computed ahead (a replay)
Indicators = SymbolIndicators | ReplayIndicators

__all__ = [
    "HEDGE_COMMENT",
    "READD_COMMENT",
    "SIGNALS",
    "AccountMode",
    "AccountState",
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
    "finish",
    "needs_attention",
    "outcome_from_broker",
    "register",
    "settle",
    "spread_ok",
    "sync_position",
    "timeframe_period",
    "unsettled",
]
