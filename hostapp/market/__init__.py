"""Market data for the host: synthetic bars, CSV files, resampling and the replay feed."""

from __future__ import annotations

from .csvdata import CsvError, load_csv
from .feed import ReplayFeed
from .resample import Resampler, resample
from .synthetic import SYMBOL_PROFILES, SymbolProfile, generate_bars
from .timeframes import timeframe_seconds

__all__ = [
    "SYMBOL_PROFILES",
    "CsvError",
    "ReplayFeed",
    "Resampler",
    "SymbolProfile",
    "generate_bars",
    "load_csv",
    "resample",
    "timeframe_seconds",
]
