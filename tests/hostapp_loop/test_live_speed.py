"""``hostapp run --live --speed N``: the paper feed played N times faster than real time.

In process, on the real paper broker with its account file, the real DTMS plugin (local
strategy, its store in tmp_path) and the real loop driven by ``drive``: a scripted
adverse path (a wavy warm-up, then a steady fall) under a buy that a test plugin opens
when the fall starts. Real time would take the data's 100 hours; at ``--speed`` the trade
walks down DTMS's ladder to HEDGED in seconds. The command line's checks of ``--speed``
run in a real subprocess.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dtms_plugin.server.dashboard import store_status
from dtms_plugin.store import Store
from hookspecs import Bar, HostView, OrderRequest, hookimpl
from hostapp.app import build_sim_app
from hostapp.clock import ScaledClock
from hostapp.config import config_from_dict
from hostapp.driving import drive, run_summary
from hostapp.loader import BUILTINS
from hostapp.testing import bars_from_closes

WARMUP = 1000  # M5 bars: enough M15 bars for the engine's indicators
FALL = 200
START = datetime(2026, 3, 2, tzinfo=UTC)
SPEED = 60_000.0  # an M5 bar every 5 ms


def _closes() -> list[float]:
    """A wandering warm-up (several sine periods), then a fall of 1.5 a bar."""
    import math

    wavy = [
        round(2000.0 * (1 + 0.004 * math.sin(i / 7) + 0.004 * math.sin(i / 31)), 2)
        for i in range(WARMUP)
    ]
    return wavy + [round(wavy[-1] - 1.5 * (i + 1), 2) for i in range(FALL)]


class BuyAtTheTop:
    """The test's strategy: one buy when the fall starts, a stop far below, no target."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    @hookimpl
    def propose_orders(
        self, host: HostView, symbol: str, bars: Sequence[Bar], now: datetime
    ) -> list[OrderRequest]:
        if now != self.at:
            return []
        price = bars[-1].close
        return [OrderRequest(symbol, "buy", 0.5, stop_loss=price - 400.0)]


def test_speed_plays_an_adverse_path_to_hedged_in_seconds(tmp_path: Path) -> None:
    bars = bars_from_closes(_closes(), start=START, spread=0.3)
    top = bars[WARMUP - 1].time + timedelta(minutes=5)  # the close of the last warm-up bar
    state = tmp_path / "dtms"
    config = config_from_dict(
        {
            "host": {
                "symbols": ["XAUUSD"],
                "timeframe": "M5",
                "cycle_seconds": 60,
                "paper": {"account_file": str(tmp_path / "account.sqlite")},
            },
            "plugin": {"dtms": {"state_dir": str(state), "trail": {"enabled": False}}},
        },
        path=tmp_path / "plugins.toml",
    )
    app = build_sim_app(
        config,
        {"XAUUSD": bars},
        base_timeframe="M5",
        shared_account=True,
        speed=SPEED,
        builtins={**BUILTINS, "buy_at_the_top": BuyAtTheTop(top)},
        entry_points=[],
        env={},
    )
    assert isinstance(app.clock, ScaledClock) and app.clock.speed == SPEED
    started = time.monotonic()
    stats = asyncio.run(drive(app, progress=None))
    wall = time.monotonic() - started

    store = Store(str(state))
    try:
        actions = [e["kind"] for e in store.actions(1, limit=100) if e["ok"]]
        mode = store.get_account_mode()
        assert mode is not None  # the hedged trade's loss put the account on the defensive
        # The dashboard reads that mode on the run's clock (data time), not the wall's.
        then = store_status(store, mode[0] - timedelta(hours=1))["account_mode"]
        assert then["defensive"] is True and then["until"] == mode[0].isoformat()
        assert store_status(store)["account_mode"]["defensive"] is False  # months later
    finally:
        store.close()
    reached = run_summary(app, stats, {})["states_reached"]
    assert reached["HEDGED"] == 1, reached  # the host heard DTMS's transitions
    assert actions[:3] == ["tighten_sl", "partial_close", "hedge"], actions  # at the broker
    assert stats.bars == WARMUP + FALL and not stats.interrupted
    data_hours = (WARMUP + FALL) * 5 / 60
    # Real time would be 100 hours of bars; the run plays them in seconds.
    assert wall < 120, f"{data_hours} hours of data took {wall:.1f} s at speed {SPEED}"
    print(f"\n{data_hours:.0f} h of M5 bars to HEDGED at --speed {SPEED:g}: {wall:.1f} s wall")


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--speed", "120"], "hostapp: --speed sets the pace of a live run: add --live"),
        (["--live", "--speed", "0"], "argument --speed: expected a number more than 0, got 0"),
        (["--live", "--speed", "-3"], "argument --speed: expected a number more than 0, got -3"),
        (["--live", "--speed", "nan"], "argument --speed: expected a number more than 0, got nan"),
        (["--live", "--speed", "fast"], "argument --speed: expected a number, got 'fast'"),
    ],
)
def test_speed_is_checked_before_anything_runs(tmp_path: Path, args: list[str], error: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", *args, "--report", "rep"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines()[-1].endswith(error), proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "rep").exists()


def test_the_scaled_clock_runs_speed_times_the_wall() -> None:
    wall = [100.0]
    clock = ScaledClock(START, 120, wall=lambda: wall[0])
    assert clock.now() == START
    wall[0] += 2.5  # an M5 bar at --speed 120
    assert clock.now() == START + timedelta(minutes=5)
    assert clock.wall_seconds(30) == 0.25 and clock.wall_seconds(-1) == 0.0
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="speed must be a number more than 0"):
            ScaledClock(START, bad)
    with pytest.raises(ValueError, match="timezone-aware"):
        ScaledClock(datetime(2026, 1, 1), 2)  # a naive time


def test_an_account_file_that_cannot_open_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text('[host.paper]\naccount_file = "acct/here.sqlite"\n')
    (tmp_path / "acct" / "here.sqlite").mkdir(parents=True)  # a folder where the file goes
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--live", "--speed", "100"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        "hostapp: plugins.toml [host.paper] key 'account_file' (acct/here.sqlite): "
        "unable to open database file"
    )
