"""A replay of the host with DTMS (its defaults, the trailing stop off) over the local
rig's falling gold market (tests/support/dtms_local_rig.py): one buy opened at the turn,
its stop 400 below, which DTMS walks down the ladder to a hedge (as
tests/support/hedged_paper.py's buy). ``wide``: the bars (by index, the turn at 1,200)
whose spread is 1.0 instead of 0.2, five times the median the spread rail compares it
with."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from hookspecs import Bar, OrderRequest, hookimpl
from support.dtms_kit import T0, trend_bars

M5 = timedelta(minutes=5)


class BuyAtTheTurn:
    """One buy of 0.1 lots on the first bar of the fall, its stop 400 below."""

    def __init__(self) -> None:
        self.done = False

    @hookimpl
    def propose_orders(self, symbol: str, bars: Any) -> list[OrderRequest]:
        if self.done or not bars or bars[-1].time < T0 - M5:
            return []
        self.done = True
        return [OrderRequest(symbol, "buy", 0.1, stop_loss=bars[-1].close - 400.0)]


def falling_gold(wide: range = range(0)) -> list[Bar]:
    bars = trend_bars(T0 - M5 * 1200, 1500, 1200, down=-2.5)
    return [replace(b, spread=1.0) if i in wide else b for i, b in enumerate(bars)]


def hedged_replay(root: Path, wide: range = range(0)) -> dict[str, Any]:
    """The run's summary (``run_summary``, what summary.json holds), its data in ``root``."""
    from hostapp import app as appmod
    from hostapp.config import config_from_dict
    from hostapp.driving import drive, run_summary

    config = config_from_dict(
        {
            "host": {"symbols": ["XAUUSD"]},
            "plugins": {"disabled": ["sma_strategy"]},
            "plugin": {"dtms": {"trail": {"enabled": False}}},
        }
    )
    config = appmod.with_data_root(config, root)
    app = appmod.build_sim_app(
        config,
        {"XAUUSD": falling_gold(wide)},
        base_timeframe="M5",
        builtins={"buyer": BuyAtTheTurn()},
    )
    stats = asyncio.run(drive(app, progress=None))
    return run_summary(app, stats, {})
