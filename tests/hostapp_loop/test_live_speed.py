"""``hostapp run --live --speed N``: the paper feed played N times faster than real time.

In process, on the real paper broker with its account file, the real DTMS plugin (local
strategy, its store in tmp_path) and the real loop driven by ``drive``: a scripted
adverse path (a wavy warm-up, then a steady fall) under a buy that a test plugin opens
when the fall starts, and stops the run once DTMS has hedged and closed it. The warm-up is the
run's history (its first ``SPEED_HISTORY_BARS`` bars, caught up at once); the fall is
played at ``--speed``: an M5 bar every 0.5 s, where real time would take 5 minutes a bar.
The command line's checks of ``--speed`` run in a real subprocess.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dtms_plugin.server.dashboard import store_status
from dtms_plugin.store import Store
from hookspecs import Bar, DefensiveState, HostView, OrderRequest, hookimpl
from hostapp.app import SPEED_HISTORY_BARS, build_sim_app
from hostapp.clock import ScaledClock
from hostapp.config import config_from_dict
from hostapp.driving import drive, run_summary
from hostapp.testing import bars_from_closes

WARMUP = SPEED_HISTORY_BARS  # M5 bars: the run's history, the engine's warm-up
FALL = 200
START = datetime(2026, 3, 2, tzinfo=UTC)
SPEED = 600.0  # an M5 bar every 0.5 s, a 60 s cycle every 0.1 s


def _closes() -> list[float]:
    """A wandering warm-up (several sine periods), then a fall of 1.5 a bar."""
    import math

    wavy = [
        round(2000.0 * (1 + 0.004 * math.sin(i / 7) + 0.004 * math.sin(i / 31)), 2)
        for i in range(WARMUP)
    ]
    return wavy + [round(wavy[-1] - 1.5 * (i + 1), 2) for i in range(FALL)]


class BuyAtTheTop:
    """The test's strategy: one buy when the fall starts, a stop far below, no target;
    notes the wall time when DTMS hedges it and stops the run once DTMS has closed it."""

    def __init__(self, at: datetime) -> None:
        self.at = at
        self.stop: Callable[[], None] | None = None
        self.hedged_at: float | None = None

    @hookimpl
    def propose_orders(
        self, host: HostView, symbol: str, bars: Sequence[Bar], now: datetime
    ) -> list[OrderRequest]:
        if now != self.at:
            return []
        price = bars[-1].close
        return [OrderRequest(symbol, "buy", 0.5, stop_loss=price - 400.0)]

    @hookimpl
    def on_state_change(self, ticket: int, new: DefensiveState) -> None:
        if new == DefensiveState.HEDGED and self.hedged_at is None:
            self.hedged_at = time.monotonic()
        elif new == DefensiveState.CLOSED and self.hedged_at is not None:
            assert self.stop is not None
            self.stop()  # after the cycle DTMS closed the hedged trade in


def _live_config(tmp_path: Path, **plugins: dict[str, object]) -> Any:
    """XAUUSD on M5 bars, a cycle a minute, a paper account file in ``tmp_path`` (the
    exit manager's state there too); ``plugins``: their ``[plugin.NAME]`` tables."""
    config = config_from_dict(
        {
            "host": {
                "symbols": ["XAUUSD"],
                "timeframe": "M5",
                "cycle_seconds": 60,
                "paper": {"account_file": str(tmp_path / "account.sqlite")},
            },
            "plugin": plugins,
        },
        path=tmp_path / "plugins.toml",
    )
    return dataclasses.replace(config, data_root=tmp_path)


def test_speed_plays_an_adverse_path_to_hedged_in_seconds(tmp_path: Path) -> None:
    bars = bars_from_closes(_closes(), start=START, spread=0.3)
    top = bars[WARMUP - 1].time + timedelta(minutes=5)  # the close of the last warm-up bar
    state = tmp_path / "dtms"
    config = _live_config(tmp_path, dtms={"state_dir": str(state), "trail": {"enabled": False}})
    plugin = BuyAtTheTop(top)
    app = build_sim_app(
        config,
        {"XAUUSD": bars},
        base_timeframe="M5",
        shared_account=True,
        speed=SPEED,
        builtins={
            "dtms": "dtms_plugin.plugin:DtmsPlugin",  # the distribution's own entry points
            "exits": "hostapp.exits:ExitManager",
            "buy_at_the_top": plugin,
        },
        entry_points=[],
        env={},
    )
    plugin.stop = app.loop.request_stop
    assert isinstance(app.clock, ScaledClock) and app.clock.speed == SPEED
    assert app.clock.live_from == top  # the warm-up is history: caught up, not paced
    started = time.monotonic()
    stats = asyncio.run(drive(app, progress=None))
    assert plugin.hedged_at is not None, "DTMS never hedged the buy"
    wall = plugin.hedged_at - started

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
    fallen = stats.bars - WARMUP  # fall bars played, at SPEED, until the hedge
    assert 0 < fallen < FALL and stats.interrupted  # stopped after the hedge
    # Between bars, cycles without a new bar: DTMS watched as a live host does.
    assert stats.cycles > stats.bars
    data_minutes = fallen * 5
    # Real time would be data_minutes; at --speed the hedge comes in seconds.
    assert wall < data_minutes * 60 / 10, f"{data_minutes} min of data took {wall:.1f} s"
    print(f"\nHEDGED after {fallen} bars ({data_minutes} min of data): {wall:.1f} s wall")


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


def test_the_scaled_clock_catches_up_then_runs_speed_times_the_wall() -> None:
    wall = [100.0]
    live_from = START + timedelta(hours=1)
    clock = ScaledClock(START, 120, live_from=live_from, wall=lambda: wall[0])
    wall[0] += 50
    assert clock.now() == START  # catching up: it moves only when the loop sets it
    clock.set(live_from)
    clock.set(START)  # never back
    assert clock.now() == live_from
    clock.go()
    wall[0] += 2.5  # an M5 bar at --speed 120
    assert clock.now() == live_from + timedelta(minutes=5)
    clock.set(live_from + timedelta(minutes=4))  # a bar it has passed: no change
    assert clock.now() == live_from + timedelta(minutes=5)
    clock.go()  # once
    assert clock.now() == live_from + timedelta(minutes=5)
    assert clock.wall_seconds(30) == 0.25 and clock.wall_seconds(-1) == 0.0
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="speed must be a number more than 0"):
            ScaledClock(START, bad)
    with pytest.raises(ValueError, match="timezone-aware"):
        ScaledClock(datetime(2026, 1, 1), 2)  # a naive time


def test_the_running_clock_waits_at_a_bar_the_loop_has_not_played() -> None:
    """At --speed 1000000 the clock ran on alone, weeks past the bars the loop could play:
    the broker and DTMS stamped those times on the trades (one opened after its own
    first action), and deadlines passed at once. It now waits at the next bar's close
    until the loop moves on, then runs at its speed from there."""
    wall = [0.0]
    clock = ScaledClock(START, 1_000_000, wall=lambda: wall[0])
    clock.go()
    bar = START + timedelta(minutes=5)
    clock.wait_at(bar)
    wall[0] += 10.0  # a slow cycle: 116 days at this speed
    assert clock.now() == bar
    wall[0] += 1.0
    assert clock.now() == bar  # still waiting for the loop
    clock.wait_at(bar + timedelta(days=1))
    wall[0] += 0.01  # from the bar on, at its speed: 10,000 s
    assert clock.now() == bar + timedelta(seconds=10_000)
    clock.wait_at(None)  # the data ended: no limit
    wall[0] += 1.0
    assert clock.now() == bar + timedelta(seconds=1_010_000)


def test_a_scaled_run_stamps_no_time_past_its_data(tmp_path: Path) -> None:
    """A real ``hostapp run --live --speed 1000000``: no trade's opening or close, no DTMS
    state, is stamped after the last bar's close (they ran weeks past it)."""
    (tmp_path / "plugins.toml").write_text(
        '[host]\nsymbols = ["XAUUSD", "EURUSD"]\n[host.paper]\n'
        'account_file = "acct.sqlite"\n[plugin.dtms]\nstate_dir = "dtms"\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--live", "--speed", "1000000",
         "--days", "5", "--report", "r"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    with Store(tmp_path / "dtms") as store:
        records = list(store.records().values())
    assert len(records) > 20
    log = (tmp_path / "r" / "hostapp.log").read_text()
    (closed,) = re.findall(r"the data ends: its last bar, closed at (\S+ \S+) UTC", log)
    last_close = datetime.fromisoformat(closed).replace(tzinfo=UTC)
    for rec in records:
        for key in ("opened_at", "closed_at", "updated_at", "state_entered_at"):
            if rec.get(key):
                assert datetime.fromisoformat(rec[key]) <= last_close, (rec["ticket"], key)
        assert rec["opened_at"] <= min((e["at"] for e in rec["journal"]), default="9999")


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
        "hostapp: plugins.toml [host.paper] key 'account_file' (acct/here.sqlite): a folder, "
        "not a file: name the account file in it, e.g. acct/here.sqlite/paper-account.sqlite"
    )


def test_speed_is_for_the_paper_feed(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text('[host]\nbroker = "mt5"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "run", "--live", "--speed", "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == (
        'hostapp: plugins.toml [host] broker = "mt5": --speed plays the paper feed, '
        "MetaTrader's market runs in real time"
    )


def test_a_gap_in_the_data_of_a_scaled_run_is_said_once_with_when_bars_return(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A weekend in the data is a long quiet stretch of a scaled run: no bars, cycles
    without them. The run says so once, with when the bars come back, instead of a log
    that simply stops (an operator would take the run for a stuck one)."""
    import logging

    bars = bars_from_closes([2000.0 + (i % 7) for i in range(WARMUP + 6)], start=START)
    after = [dataclasses.replace(b, time=b.time + timedelta(hours=2)) for b in bars[WARMUP + 3 :]]
    bars = bars[: WARMUP + 3] + after  # two hours without bars, past the history
    config = _live_config(tmp_path)
    app = build_sim_app(
        config,
        {"XAUUSD": bars},
        base_timeframe="M5",
        shared_account=True,
        speed=36_000.0,  # an hour of data in 0.1 s
        builtins={},
        entry_points=[],
        env={},
    )
    with caplog.at_level(logging.INFO):
        stats = asyncio.run(drive(app, progress=None))
    assert stats.bars == len(bars)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("no bars from")]
    last = bars[WARMUP + 2].time + timedelta(minutes=5)  # the close of the bar before the gap
    opens = last + timedelta(hours=2)  # the next bar opens two hours on: the gap
    closes = opens + timedelta(minutes=5)
    assert said == [
        f"no bars from {last:%Y-%m-%d %H:%M} to {opens:%Y-%m-%d %H:%M} "
        f"(a gap of 2 h in the data): cycles without bars until the next bar closes at "
        f"{closes:%H:%M}, in about 0 s of wall time"
    ], said


@pytest.mark.parametrize("at", [500, WARMUP])
def test_a_weekend_among_the_history_bars_leaves_the_history_whole(tmp_path: Path, at: int) -> None:
    """The history was 1,000 periods of time, not 1,000 bars: a weekend among them cut
    the catch-up short (628 bars), and the running clock then waited out the rest of the
    weekend in wall time, without a word. Counted in bars, the history ends where the
    1,000th bar does, and the clock runs from there (a weekend just before the first live
    bar, ``at`` = 1,000, is not waited out either)."""
    bars = bars_from_closes([2000.0 + (i % 7) for i in range(WARMUP + 6)], start=START)
    weekend = timedelta(hours=49)
    bars = bars[:at] + [dataclasses.replace(b, time=b.time + weekend) for b in bars[at:]]
    app = build_sim_app(
        _live_config(tmp_path),
        {"XAUUSD": bars},
        base_timeframe="M5",
        shared_account=True,
        speed=36_000.0,
        builtins={},
        entry_points=[],
        env={},
    )
    assert isinstance(app.clock, ScaledClock)
    assert app.clock.live_from == bars[WARMUP].time
    wall = [100.0]  # the wall clock stands still: the time go() starts from is all there is
    clock = ScaledClock(START, 120, live_from=bars[WARMUP].time, wall=lambda: wall[0])
    clock.set(bars[WARMUP - 1].time + timedelta(minutes=5))  # the last history bar's close
    clock.go()
    assert clock.now() == bars[WARMUP].time  # the end of the history, across the weekend


def test_a_scaled_run_whose_data_ends_says_so_in_its_log_and_summary(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """It stopped with the normal report and not a word: ``interrupted`` false, no line,
    no note, as if it had stopped for no reason; a stopped one says nothing of the kind."""
    import logging

    bars = bars_from_closes([2000.0 + (i % 7) for i in range(WARMUP + 6)], start=START)
    ends = bars[-1].time + timedelta(minutes=5)
    for stop_early in (False, True):
        app = build_sim_app(
            _live_config(tmp_path / str(stop_early)),
            {"XAUUSD": bars},
            base_timeframe="M5",
            shared_account=True,
            speed=36_000.0,
            builtins={},
            entry_points=[],
            env={},
        )
        if stop_early:
            app.loop.request_stop()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            stats = asyncio.run(drive(app, progress=None))
        said = [r for r in caplog.records if r.getMessage().startswith("the data ends")]
        notes = [n for n in run_summary(app, stats, {})["host_notes"] if "data ended" in n]
        if stop_early:
            assert (stats.data_ended, said, notes) == (None, [], [])
            continue
        assert stats.data_ended == ends and not stats.interrupted
        assert [(r.levelno, r.getMessage()) for r in said] == [
            (
                logging.WARNING,
                f"the data ends: its last bar, closed at {ends:%Y-%m-%d %H:%M} UTC, is played, "
                "so the run stops here (a --speed run plays its bars once)",
            )
        ]
        assert notes == [
            f"the run stopped because its data ended (its last bar, closed at "
            f"{ends:%Y-%m-%d %H:%M} UTC, was played): a --speed run plays its bars once; "
            "this account file has nothing left to run on with the same data"
        ]
