"""The ``dtms`` plugin object: hook signatures, settings errors, strategy choice, and the
answers it gives before startup."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pluggy
import pytest
from aiohttp import web
from support.dtms_kit import trade
from support.dtms_local_rig import Rig

from dtms_plugin.local import LocalStrategy
from dtms_plugin.plugin import DtmsPlugin, _engine_can_run
from dtms_plugin.store import Store
from hookspecs import PROJECT_NAME, SYNC_ONLY_HOOKS, ConfigError, OrderRequest, spec


def test_registers_against_the_hook_specs() -> None:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(spec)
    plugin = DtmsPlugin()
    pm.register(plugin, name="dtms")
    pm.check_pending()
    for name in SYNC_ONLY_HOOKS:
        assert not inspect.iscoroutinefunction(getattr(plugin, name))
    for name, fn in inspect.getmembers(plugin, callable):
        if hasattr(fn, f"{PROJECT_NAME}_impl"):
            params = inspect.signature(fn).parameters.values()
            assert all(p.default is inspect.Parameter.empty for p in params), name


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"strategy": "cloud"}, "strategy"),
        ({"fast_timeframe": "5min"}, "timeframe"),
        ({"regime": {"volatility_factor": {"LOW": 1.0}}}, "volatility_factor"),
        ({"thresholds": {"to_l1": "x"}}, "to_l1"),
        ({"no_such_key": 1}, "no_such_key"),
    ],
)
def test_configure_rejects_bad_settings(
    tmp_path: Path, table: dict[str, object], match: str
) -> None:
    rig = Rig(tmp_path / "dtms")
    rig.host.config.update(table)
    with pytest.raises(ConfigError, match=match):
        DtmsPlugin().configure(host=rig.host)


@asynccontextmanager
async def local_plugin(tmp_path: Path) -> AsyncIterator[tuple[Rig, DtmsPlugin]]:
    """The plugin configured and started with the local strategy; shut down after."""
    rig = Rig(tmp_path / "dtms", strategy="local")
    plugin = DtmsPlugin()
    plugin.configure(host=rig.host)
    await plugin.startup(host=rig.host)
    try:
        assert isinstance(plugin.strategy, LocalStrategy)
        yield rig, plugin
    finally:
        await plugin.shutdown(host=rig.host)


async def test_startup_local_and_forwarding(tmp_path: Path) -> None:
    async with local_plugin(tmp_path) as (rig, plugin):
        assert isinstance(plugin.strategy, LocalStrategy)
        t = rig.broker.add(trade(ticket=1, entry=2000.0, sl=1950.0, opened_at=rig.clock.now()))
        await plugin.on_trade_executed(host=rig.host, trade=t)
        assert list(plugin.strategy.records) == [1]
        await plugin.on_cycle(host=rig.host, now=rig.clock.now())
        assert plugin.is_defensive(host=rig.host, ticket=1) is False
        assert plugin.allow_order(host=rig.host, order=OrderRequest("XAUUSD", "buy", 1.0)) is None


async def test_a_cycle_with_nothing_to_watch_makes_nothing_to_await(tmp_path: Path) -> None:
    """The spec lets ``on_cycle`` answer sync: with no trade to watch (most bars of a
    replay) the plugin's cycle is done when the call returns; with one, the host gets
    the strategy's cycle to await, and it evaluates the trade."""
    async with local_plugin(tmp_path) as (rig, plugin):
        assert isinstance(plugin.strategy, LocalStrategy)
        assert plugin.on_cycle(host=rig.host, now=rig.clock.now()) is None
        t = rig.broker.add(trade(ticket=1, entry=2000.0, sl=1950.0, opened_at=rig.clock.now()))
        await plugin.on_trade_executed(host=rig.host, trade=t)
        rig.clock.advance(timedelta(minutes=30))  # armed by age, with new closed bars
        pending = plugin.on_cycle(host=rig.host, now=rig.clock.now())
        assert inspect.isawaitable(pending)
        await pending
        assert plugin.strategy.evaluated == {1}


def test_auto_runs_locally_only_when_the_broker_answers(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "dtms")
    assert _engine_can_run(rig.host)
    rig.broker.query_error = True
    assert not _engine_can_run(rig.host)


def test_is_defensive_before_startup_answers_from_the_store(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "dtms")
    with Store(tmp_path / "dtms") as store:
        store.put_state(5, "HEDGED", rig.clock.now())
        store.put_state(6, "WARNING_L1", rig.clock.now())
    plugin = DtmsPlugin()
    try:
        assert plugin.is_defensive(host=rig.host, ticket=5) is True
        assert plugin.is_defensive(host=rig.host, ticket=6) is False
        assert plugin.allow_order(host=rig.host, order=OrderRequest("XAUUSD", "buy", 1.0)) is None
    finally:
        assert plugin._store is not None
        plugin._store.close()


async def test_a_serving_hosts_engine_keeps_its_transitions_for_the_page_and_metrics(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    """``hostapp run --live --serve``: the page's history and ``/metrics`` showed the local
    engine's actions but none of its transitions (dtms serve's engine is observed; the
    host's was not)."""
    async with local_plugin(tmp_path) as (rig, plugin):
        app = web.Application()
        app.add_routes(plugin.web_routes(host=rig.host))
        client = await aiohttp_client(app)
        entry = round(rig.broker.mids["XAUUSD"], 2)
        t = rig.broker.add(trade(ticket=1, entry=entry, sl=entry - 50.0, opened_at=rig.clock.now()))
        await plugin.on_trade_executed(host=rig.host, trade=t)
        for _ in range(36):  # the falling market takes it down the ladder (test_local_ladder)
            rig.clock.advance(timedelta(minutes=5))
            rig._mid()
            pending = plugin.on_cycle(host=rig.host, now=rig.clock.now())
            if pending is not None:
                await pending
        history = (await (await client.get("/dtms/actions?ticket=1")).json())["actions"]
        changes = [(e["from"], e["to"]) for e in history if e["type"] == "state_change"]
        assert changes[0] == ("HEALTHY", "WARNING_L1")
        metrics = await (await client.get("/metrics")).text()
        assert 'dtms_transitions_total{from="HEALTHY",to="WARNING_L1"} 1.0' in metrics
        assert 'dtms_actions_total{kind="tighten_sl",result="ok"}' in metrics


async def test_a_serving_hosts_engine_cycles_are_timed_and_dated(
    tmp_path: Path, aiohttp_client: Any
) -> None:
    """``hostapp run --live --serve``: ``dtms_evaluation_seconds`` stayed empty and
    ``/dtms/status`` said ``uptime``/``last_check`` "Unknown" (only dtms serve's monitor
    timed its cycles); quiet cycles (no trade to watch) count too, as they do there."""
    async with local_plugin(tmp_path) as (rig, plugin):
        app = web.Application()
        app.add_routes(plugin.web_routes(host=rig.host))
        client = await aiohttp_client(app)
        before = (await (await client.get("/dtms/status")).json())["dtms_status"]
        assert (before["last_check"], before["performance"]["cycles"]) == ("Unknown", 0)
        entry = round(rig.broker.mids["XAUUSD"], 2)
        t = rig.broker.add(trade(ticket=1, entry=entry, sl=entry - 50.0, opened_at=rig.clock.now()))
        await plugin.on_trade_executed(host=rig.host, trade=t)
        for _ in range(3):
            rig.clock.advance(timedelta(minutes=5))
            pending = plugin.on_cycle(host=rig.host, now=rig.clock.now())
            assert pending is not None  # the host awaits every cycle it serves
            await pending
        metrics = await (await client.get("/metrics")).text()
        assert "dtms_evaluation_seconds_count 3.0" in metrics
        status = (await (await client.get("/dtms/status")).json())["dtms_status"]
        performance = status["performance"]
        assert (performance["cycles"], performance["failed_cycles"]) == (3, 0)
        # the original's counts beside them (its status page reads them): each cycle
        # evaluated the trade, which is scored only on a new closed bar (once here)
        assert (performance["fast_checks_total"], performance["deep_checks_total"]) == (3, 1)
        assert (performance["actions_executed"], performance["state_transitions"]) == (0, 0)
        assert performance["fast_checks_per_hour"] > performance["deep_checks_per_hour"] > 0
        assert status["uptime"].endswith("s") and status["last_check"] != "Unknown"
        health = await (await client.get("/health")).json()
        assert (health["status"], health["cycles"]) == ("healthy", 3)
        assert health["last_cycle_at"] == status["last_check"] == rig.clock.now().isoformat()
        # a cycle the host's deadline stops is a failed one: counted, not dated (a
        # broker that hangs: the engine's cycle waits on it past the deadline)
        rig.clock.advance(timedelta(minutes=5))
        hangs = asyncio.Event()

        assert plugin.strategy is not None
        real = plugin.strategy.on_cycle

        async def stuck(host: Any, now: Any) -> None:
            await hangs.wait()
            await real(host, now)

        plugin.strategy.on_cycle = stuck  # type: ignore[method-assign, union-attr]
        pending = plugin.on_cycle(host=rig.host, now=rig.clock.now())
        assert pending is not None
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await pending
        reply = await client.get("/health")
        health = await reply.json()
        assert (reply.status, health["status"], health["failed_cycles"]) == (503, "degraded", 1)
        assert health["last_cycle_at"] == status["last_check"]  # the last that went through


async def test_registration_says_when_a_trade_s_r_is_not_known_yet(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A trade without a stop before any ATR of its symbol has no R yet (docs/dtms.md §1):
    the log says so rather than "R 0"; a stop gives it one at once."""
    rig = Rig(tmp_path / "dtms")
    await rig.start()
    caplog.set_level(logging.INFO, logger="dtms_plugin")
    await rig.strategy.on_trade_executed(rig.host, trade(7, symbol="EURUSD", sl=None))
    await rig.strategy.on_trade_executed(rig.host, trade(8, symbol="EURUSD", sl=1995.0))
    lines = [r.getMessage() for r in caplog.records if "DTMS registered" in r.getMessage()]
    assert lines == [
        "DTMS registered 7 buy EURUSD (R unknown until its stop or an ATR)",
        "DTMS registered 8 buy EURUSD (R 5)",
    ]
    await rig.stop()
