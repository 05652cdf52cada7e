"""An ordinary exception that ends a task a plugin started itself (``asyncio.create_task``
in its ``startup``, never awaited) is said in one ERROR line naming the task's coroutine
and its module, its traceback with it, and the run goes on; the same task failing again
is DEBUG. asyncio said it as "Task exception was never retrieved", naming no plugin
(hostapp.event_loop; docs/plugins.md, rule 4)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hookspecs import hookimpl
from hostapp import event_loop
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.driving import drive
from hostapp.testing import bars_from_closes

LINE = (
    f"task Poller.poll of module {__name__} raised RuntimeError: feed gone: it ended alone, "
    "the host runs on (what a plugin starts on the event loop is its own)"
)


class Poller:
    """Starts two tasks of its own that fail, keeping no reference to them (as many do);
    counts the cycles it sees after."""

    def __init__(self) -> None:
        self.cycles = 0

    async def poll(self) -> None:
        raise RuntimeError("feed gone")  # a replay's cycles do not wait on it: at once

    @hookimpl
    def startup(self) -> None:
        asyncio.create_task(self.poll())  # noqa: RUF006 - the plugin's bug, on purpose
        asyncio.create_task(self.poll())  # noqa: RUF006

    @hookimpl
    def on_cycle(self) -> None:
        self.cycles += 1


def test_a_plugins_failing_task_is_said_naming_it_and_the_run_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = config_from_dict({"host": {"symbols": ["XAUUSD"], "timeframe": "M5"}})
    poller = Poller()
    app = build_sim_app(
        config, {"XAUUSD": bars_from_closes([2000.0] * 20)}, base_timeframe="M5",
        entry_points=[], env={}, builtins={"poller": poller},
    )  # fmt: skip
    with caplog.at_level(logging.DEBUG):
        stats = event_loop.run(drive(app, progress=None))
    assert stats.cycles == 20 and poller.cycles == 20
    assert app.plugins.is_enabled("poller")
    said = [r for r in caplog.records if "feed gone" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in said] == [
        (logging.ERROR, LINE),
        (logging.DEBUG, LINE),
    ]
    assert said[0].name == "hostapp.plugins"
    assert said[0].exc_info is not None and said[1].exc_info is None
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
