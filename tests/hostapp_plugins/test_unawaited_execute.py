"""``host.execute`` is a coroutine: a sync hook that calls it without ``await`` dropped
every action it meant (a probe's plugin counted 692 closes sent, the broker saw none),
and Python's own "never awaited" warning named no plugin. Now the first dropped action
of each plugin is one ERROR line naming the plugin, the action and the fix, and the
run's summary counts them."""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
from typing import Any
from unittest import mock

import pytest

from hookspecs import Action, ActionKind, HostView, OrderRequest, hookimpl
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.driving import drive, run_summary
from hostapp.host import Host
from hostapp.testing import bars_from_closes


class Buyer:
    @hookimpl
    def propose_orders(self, symbol: str, bars: list[object]) -> list[OrderRequest]:
        return [] if len(bars) % 10 else [OrderRequest(symbol, "buy", 0.1, stop_loss=1900.0)]


class ForgetfulCloser:
    """Closes every position at once, from a sync hook, without awaiting."""

    def __init__(self) -> None:
        self.sent = 0

    @hookimpl
    def manage_positions(self, host: HostView) -> None:
        for p in host.broker.positions():
            host.execute(Action(p.ticket, ActionKind.CLOSE, {}, key=f"close-{p.ticket}"))
            self.sent += 1


class Closer:
    """The same, awaited: nothing to say."""

    @hookimpl
    async def manage_positions(self, host: HostView) -> None:
        for p in host.broker.positions():
            await host.execute(Action(p.ticket, ActionKind.CLOSE, {}, key=f"close-{p.ticket}"))


def _run(closer: object) -> tuple[dict[str, Any], Any]:
    config = config_from_dict({"host": {"symbols": ["XAUUSD"]}})
    series = {"XAUUSD": bars_from_closes([2000.0 + (i % 7) for i in range(80)])}
    app = build_sim_app(
        config, series, base_timeframe="M5", entry_points=[], env={},
        builtins={"buyer": Buyer(), "closer": closer},
    )  # fmt: skip
    stats = asyncio.run(drive(app, progress=None))
    gc.collect()
    return run_summary(app, stats, {}), app


@pytest.mark.filterwarnings("ignore:coroutine 'Host._execute' was never awaited")
def test_an_unawaited_execute_is_said_once_per_plugin_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closer = ForgetfulCloser()
    with caplog.at_level(logging.ERROR):
        summary, app = _run(closer)
    assert closer.sent > 1
    assert "closer" not in summary["actions_by_source"]
    said = [r.getMessage() for r in caplog.records if "without awaiting" in r.getMessage()]
    assert len(said) == 1, said
    assert said[0].startswith("plugin 'closer' called host.execute(...) for close of ticket ")
    assert "write 'await host.execute(...)' in an async hook" in said[0]
    notes = [n for n in summary["host_notes"] if "without awaiting" in n]
    assert notes == [
        f"plugin 'closer' called host.execute without awaiting it {closer.sent:,} times (the "
        f"first: {app.host.unawaited.first['closer']}): none of those actions was carried out"
    ]


def test_an_awaited_execute_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        summary, _ = _run(Closer())
    assert summary["actions_by_source"]["closer"]["close"] > 0
    assert not [r for r in caplog.records if "without awaiting" in r.getMessage()]
    assert not [n for n in summary["host_notes"] if "without awaiting" in n]


async def test_an_execute_is_a_coroutine_handed_to_a_task_and_carried_out() -> None:
    """A native coroutine of a coroutine function, as before: what a plugin's helpers and
    tests check (``inspect.iscoroutine``, ``asyncio.iscoroutinefunction``, ``mock``'s
    autospec) reads it as one."""
    config = config_from_dict({"host": {"symbols": ["XAUUSD"]}})
    series = {"XAUUSD": bars_from_closes([2000.0 + (i % 7) for i in range(30)])}
    app = build_sim_app(config, series, base_timeframe="M5", entry_points=[], env={}, builtins={})
    await app.loop.run_replay(app.feed)
    opened = app.broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert opened.new_ticket is not None
    action = Action(opened.new_ticket, ActionKind.CLOSE, {}, key="k")
    assert asyncio.iscoroutinefunction(app.host.execute)
    assert isinstance(mock.create_autospec(Host, instance=True).execute, mock.AsyncMock)
    coro = app.host.execute(action)
    assert inspect.iscoroutine(coro)
    result = await asyncio.create_task(coro)
    assert result.ok and app.broker.positions() == []
    gc.collect()
    assert app.host.unawaited.counts == {}
