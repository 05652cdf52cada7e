"""An async hook that computes without awaiting comes back after its deadline. Live, the
answer is too late and the call fails (five in a row switch the plugin off). A replay's
clock stands still while it runs (a first registration preparing a year of bars, say), so
there the answer is kept and the slowness is said once per episode, with a count."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime

import pytest

from hookspecs import hookimpl
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.testing import bars_from_closes

HOLD = 0.12  # seconds each call holds the event loop
TIMEOUT = 0.04


class Heavy:
    """Counts its cycles, each after holding the event loop longer than its timeout."""

    def __init__(self) -> None:
        self.cycles = 0

    @hookimpl
    async def on_cycle(self, now: datetime) -> None:
        time.sleep(HOLD)  # computing, not awaiting: no timer can cut it short
        self.cycles += 1


def _app(heavy: Heavy, *, shared: bool, tmp_path: object = None) -> object:
    table: dict[str, object] = {"symbols": ["XAUUSD"]}
    if shared:
        table["paper"] = {"account_file": f"{tmp_path}/account.sqlite"}
    config = config_from_dict({"host": table, "plugin": {"heavy": {"timeout_seconds": TIMEOUT}}})
    return build_sim_app(
        config,
        {"XAUUSD": bars_from_closes([2000.0] * 8)},
        base_timeframe="M5",
        builtins={"heavy": heavy},
        entry_points=[],
        env={},
        shared_account=shared,
    )


def test_a_replay_keeps_a_late_answer_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    heavy = Heavy()
    app = _app(heavy, shared=False)
    with caplog.at_level(logging.WARNING):
        stats = asyncio.run(app.loop.run_replay(app.feed))  # type: ignore[attr-defined]
    assert stats.cycles == 8 and heavy.cycles == 8
    plugins = app.plugins  # type: ignore[attr-defined]
    assert [i.status for i in plugins.listing() if i.name == "heavy"] == ["enabled"]
    said = [r.getMessage() for r in caplog.records if "heavy" in r.getMessage()]
    assert len(said) == 1 and "a replay's clock stands still" in said[0], said
    (note,) = plugins.slow.notes()
    assert note.startswith("plugin heavy: 8 on_cycle calls took longer than its timeout_seconds")


def test_a_live_run_still_fails_a_late_call(tmp_path: object) -> None:
    heavy = Heavy()
    app = _app(heavy, shared=True, tmp_path=tmp_path)  # a live paper account: mode "live"
    asyncio.run(app.loop.run_replay(app.feed))  # type: ignore[attr-defined]
    plugins = app.plugins  # type: ignore[attr-defined]
    # five late calls in a row switch it off; it is not called after
    assert [i.status for i in plugins.listing() if i.name == "heavy"] == ["tripped"]
    assert heavy.cycles == 5
