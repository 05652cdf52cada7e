"""A simulated replay holds the local strategy's store writes and commits them together
every ``SIMULATED_COMMIT_CYCLES`` cycles and at shutdown: the store it leaves holds the
same records, states and action history as one committed every cycle, in far fewer
transactions. A live-mode host (the rig's) still commits at every hook."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import dtms_plugin.local_commits as commits_mod
from dtms_plugin.store import Store
from hostapp import app as appmod
from hostapp.config import load_config
from hostapp.driving import drive
from hostapp.market.synthetic import generate_bars

BARS = 3_000
START = datetime(2024, 3, 4, tzinfo=UTC)


def _replay(root: Path) -> tuple[dict[str, Any], int]:
    """Replay the seeded synthetic bars with DTMS on; the store's rows (key → value, the
    store's own write time left out) and the number of write transactions."""
    config = appmod.with_data_root(load_config(None), root)
    series = {"XAUUSD": generate_bars("XAUUSD", START, BARS, seed=3)}
    app = appmod.build_sim_app(config, series, base_timeframe="M5", timeframe="M5")
    commits = 0

    def count(statement: str) -> None:
        nonlocal commits
        commits += statement.startswith("BEGIN IMMEDIATE")

    async def run() -> None:
        plugin: Any = app.plugins.get("dtms")
        await app.plugins.startup(app.host)
        plugin.strategy.store._cache._con.set_trace_callback(count)
        await app.loop.run_replay(app.feed)
        await app.plugins.shutdown(app.host)

    asyncio.run(run())
    con = sqlite3.connect(root / "dtms" / "cache.db")
    try:
        rows = dict(con.execute("SELECT key, value FROM Cache WHERE raw = 1").fetchall())
    finally:
        con.close()
    with Store(root / "dtms") as store:
        assert store.records(), "the replay registered no trade"
    return rows, commits


def test_a_replay_leaves_the_same_store_with_far_fewer_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held, held_commits = _replay(tmp_path / "held")
    monkeypatch.setattr(commits_mod, "SIMULATED_COMMIT_CYCLES", 1)  # a commit every cycle
    each, each_commits = _replay(tmp_path / "each")
    assert held == each
    assert held_commits * 10 < each_commits, (held_commits, each_commits)


def test_drive_shuts_down_with_every_write_committed(tmp_path: Path) -> None:
    config = appmod.with_data_root(load_config(None), tmp_path)
    series = {"XAUUSD": generate_bars("XAUUSD", START, BARS, seed=3)}
    app = appmod.build_sim_app(config, series, base_timeframe="M5", timeframe="M5")
    asyncio.run(drive(app, progress=None))
    plugin: Any = app.plugins.get("dtms")
    book = plugin.strategy.book.records
    with Store(tmp_path / "dtms") as store:
        stored = store.records()
    assert book and all(stored[t]["seq"] == r.seq for t, r in book.items())
