"""One test per hook of the contract (``test_hook_<name>``), through the PluginHost the
loop uses, plus the contract test that keeps it that way."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support.hostapp_plugin_doubles import Boom, Raiser, Recorder

from hookspecs import (
    Action,
    ActionKind,
    ActionResult,
    ConfigError,
    DefensiveState,
    OrderRequest,
    Trade,
    hookimpl,
    parse_settings,
    spec,
)
from hostapp.pluginhost import HOOK_NAMES
from hostapp.testing import T0, MemoryBroker, bars_from_closes

TESTS = Path(__file__).resolve().parents[1]
ORDER = OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1990.0, take_profit=2020.0)
TRADE = Trade(7, "XAUUSD", "buy", 0.1, 2000.0, 1990.0, None, T0)


def test_every_hook_has_a_docstring_and_a_test() -> None:
    """The contract test: a new hook needs a docstring and a ``test_hook_<name>``."""
    assert len(HOOK_NAMES) == 14
    sources = "\n".join(p.read_text() for p in TESTS.rglob("test_*.py"))
    for name in sorted(HOOK_NAMES):
        doc = getattr(spec, name).__doc__
        assert doc and doc.strip(), f"hookspecs.spec.{name} has no docstring"
        assert re.search(rf"def test_hook_{name}\b", sources), f"no test_hook_{name} under tests/"


def test_hook_configure(hostapp_factory: Any) -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class Settings:
        period: int = 3

    class Configurable:
        settings: Settings | None = None

        @hookimpl
        def configure(self, host: Any) -> None:
            self.settings = parse_settings(
                Settings, host.config_for("c"), "plugins.toml [plugin.c]"
            )

    plugin = Configurable()
    host = hostapp_factory({"c": plugin}, {"plugin": {"c": {"period": 9}}})
    assert plugin.settings == Settings(9)

    # A bad setting is fatal even with on_error = "isolate", and the message names the key.
    config = {"plugin": {"c": {"period": "9"}}}
    with pytest.raises(ConfigError, match=r"plugins.toml \[plugin.c\]: key 'period'"):
        hostapp_factory({"c": Configurable()}, config)

    # Any other exception is a configuration error naming the plugin.
    class Crashes:
        @hookimpl
        def configure(self) -> None:
            raise KeyError("oops")

    with pytest.raises(ConfigError, match="plugin 'x': configure failed: KeyError"):
        hostapp_factory({"x": Crashes()})

    # Historic: a plugin registered after configure is configured as it registers.
    late = Recorder()
    host.plugins.register("late", late)
    assert late.hooks_called() == ["configure"]


async def test_hook_startup(hostapp_factory: Any) -> None:
    ready = asyncio.Event()

    class Waits:
        @hookimpl
        async def startup(self) -> None:
            await ready.wait()  # only finishes if "b_sets" runs at the same time

    class Sets:
        @hookimpl
        async def startup(self) -> None:
            ready.set()

    host = hostapp_factory(
        {"a_waits": Waits(), "b_sets": Sets(), "c_raises": Raiser()},
        {"plugin": {"a_waits": {"timeout_seconds": 2}}},
    )
    await host.plugins.startup(host)
    rows = {r.name: r for r in host.plugins.listing()}
    assert rows["a_waits"].error is None and rows["b_sets"].error is None
    assert rows["c_raises"].error == "startup: Boom: raiser always fails"
    assert rows["c_raises"].status == "enabled"  # one failure does not trip the breaker


async def test_hook_shutdown(hostapp_factory: Any) -> None:
    first, last = Recorder(), Recorder()
    host = hostapp_factory({"a": first, "b": Raiser(), "c": last})
    await host.plugins.shutdown(host)
    assert "shutdown" in first.hooks_called() and "shutdown" in last.hooks_called()
    assert host.plugins.listing()[1].error == "shutdown: Boom: raiser always fails"


async def test_hook_propose_orders(hostapp_factory: Any) -> None:
    other = OrderRequest("XAUUSD", "sell", 0.2, source="spoof")

    class Sync:
        @hookimpl
        def propose_orders(self, symbol: str) -> list[OrderRequest]:
            return [OrderRequest(symbol, "buy", 0.1)]

    class Junk:
        @hookimpl
        def propose_orders(self) -> Any:
            return ["not an order"]

    recorder = Recorder(propose_orders=[ORDER, other])
    plugins: dict[str, object] = {
        "a": recorder,
        "b": Raiser(),
        "c": Recorder(propose_orders=None),
        "d": Sync(),
        "e": Junk(),
    }
    host = hostapp_factory(plugins)
    bars = bars_from_closes([1.0, 2.0, 3.0])
    got = await host.plugins.propose_orders(host, "EURUSD", bars, T0)
    assert [(name, o.direction, o.symbol, o.source) for name, o in got] == [
        ("a", "buy", "XAUUSD", "a"),  # empty source filled with the plugin name
        ("a", "sell", "XAUUSD", "a"),  # another name claimed: the host's says whose it is
        ("d", "buy", "EURUSD", "d"),
    ]
    assert recorder.calls[-1] == (
        "propose_orders",
        {"symbol": "EURUSD", "bars": tuple(bars), "now": T0},  # one tuple for all
    )
    errors = {r.name: r.error for r in host.plugins.listing()}
    assert errors["b"] == "propose_orders: Boom: raiser always fails"
    assert "must return a list of OrderRequest" in (errors["e"] or "")


def test_hook_allow_order(hostapp_factory: Any) -> None:
    allow, veto1, veto2 = Recorder(), Recorder(allow_order="too big"), Recorder(allow_order="no")
    host = hostapp_factory({"a": allow, "b": veto1, "c": veto2})
    assert host.plugins.allow_order(host, ORDER) == "b: too big"
    assert allow.calls == [("configure", {"host": host}), ("allow_order", {"order": ORDER})]
    assert hostapp_factory({"a": Recorder()}).plugins.allow_order(host, ORDER) is None
    # Fail closed: a guard that crashes vetoes.
    guarded = hostapp_factory({"a": Recorder(), "z": Raiser()})
    reason = guarded.plugins.allow_order(guarded, ORDER)
    assert reason is not None and reason.startswith("z: allow_order failed (Boom")
    # A non-string answer is a plugin bug, and vetoes too.
    odd = hostapp_factory({"a": Recorder(allow_order=False)})
    assert (odd.plugins.allow_order(odd, ORDER) or "").startswith(
        "a: allow_order failed (TypeError"
    )
    # so is a veto without a reason: the log and the summary would say "vetoed: a: "
    for empty in (" ", ""):
        mute = hostapp_factory({"a": Recorder(allow_order=empty)})
        reason = mute.plugins.allow_order(mute, ORDER) or ""
        assert "must return None, a non-empty reason (a str) or a Veto" in reason


def test_hook_run_report(hostapp_factory: Any) -> None:
    quiet, busy = Recorder(), Recorder(run_report={"activity": 3, "note": "did three"})
    host = hostapp_factory({"quiet": quiet, "busy": busy, "odd": Recorder(run_report=[1])})
    reports = host.plugins.run_report(host)
    assert reports["busy"] == {"activity": 3, "note": "did three"}
    assert "quiet" not in reports  # None: nothing to say
    assert reports["odd"]["error"].startswith("TypeError: run_report must return a mapping")
    assert quiet.calls[-1] == ("run_report", {})
    broken = hostapp_factory({"z": Raiser()})
    assert broken.plugins.run_report(broken) == {"z": {"error": "Boom: raiser always fails"}}
    counted = hostapp_factory({"np": Recorder(run_report={"activity": np.int64(3)})})
    (report,) = counted.plugins.run_report(counted).values()
    assert report == {"activity": 3} and type(report["activity"]) is int  # written as a number


async def test_hook_web_routes(hostapp_factory: Any) -> None:
    """Every plugin's routes on one app on 127.0.0.1; a plugin that raises, returns
    something else or clashes with a route already mounted serves nothing, the rest do."""
    from aiohttp import ClientSession, web

    from hostapp.web import serving

    def answering(text: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            return web.json_response({"from": text})

        return handler

    class Serves:
        def __init__(self, *routes: tuple[str, str]) -> None:
            self.routes = routes

        @hookimpl
        def web_routes(self) -> list[web.RouteDef]:
            return [web.get(path, answering(text)) for path, text in self.routes]

    class Junk:
        @hookimpl
        def web_routes(self) -> list[str]:
            return ["/not-a-route"]

    class Crashes:
        @hookimpl
        def web_routes(self) -> list[web.RouteDef]:
            raise RuntimeError("no routes today")

    host = hostapp_factory(
        {
            "a": Serves(("/a", "a"), ("/shared", "a")),
            "b": Serves(("/b", "b"), ("/shared", "b")),  # clashes with a: none of b served
            "c": Serves(("/c", "c")),
            "junk": Junk(),
            "crash": Crashes(),
        }
    )
    named = [name for name, _ in host.plugins.web_routes(host)]
    assert named == ["a", "b", "c"]  # plugin order; junk and crash left out
    rows = {r.name: r for r in host.plugins.listing()}
    assert rows["crash"].error == "web_routes: RuntimeError: no routes today"
    assert rows["junk"].error.startswith("web_routes: TypeError")

    told: list[tuple[str, list[str], list[str]]] = []
    announce = lambda *said: told.append(said)  # noqa: E731
    async with (
        serving(host.plugins, host, 0, announce=announce) as (url, served),
        ClientSession() as http,
    ):
        assert url.startswith("http://127.0.0.1:") and served == ["a", "c"]
        assert told == [(url, ["a", "c"], ["/a", "/c", "/shared"])]
        # the clash is b's failure, said in the run's summary like the others' (it was
        # only logged)
        (b,) = [r for r in host.plugins.listing() if r.name == "b"]
        assert b.error == "web_routes: RoutesNotServed: already served: GET /shared (of a)"
        answers = {}
        for path in ("a", "shared", "b", "c"):
            async with http.get(url + path) as resp:
                answers[path] = resp.status, (await resp.json() if resp.ok else None)
    assert answers == {
        "a": (200, {"from": "a"}),
        "shared": (200, {"from": "a"}),
        "b": (404, None),
        "c": (200, {"from": "c"}),
    }


async def test_hook_on_trade_executed(hostapp_factory: Any) -> None:
    before, after = Recorder(), Recorder()
    host = hostapp_factory({"a": before, "b": Raiser(), "c": after})
    await host.plugins.on_trade_executed(host, TRADE)
    for plugin in (before, after):
        assert plugin.calls[-1] == ("on_trade_executed", {"trade": TRADE})


async def test_hook_on_cycle(hostapp_factory: Any) -> None:
    from support.hostapp_plugin_doubles import Sleeper

    sleeper, other = Sleeper(), Recorder()
    host = hostapp_factory(
        {"slow": sleeper, "other": other}, {"plugin": {"slow": {"timeout_seconds": 0.05}}}
    )
    await asyncio.wait_for(host.plugins.on_cycle(host, T0), 60)  # a guard, not a timing test
    assert sleeper.cancelled
    assert other.calls[-1] == ("on_cycle", {"now": T0})
    rows = {r.name: r for r in host.plugins.listing()}
    assert rows["slow"].error == "on_cycle: timed out after 0.05s"
    assert rows["other"].error is None


async def test_hook_manage_positions() -> None:
    """Once per cycle with positions open, after every ``on_cycle`` implementation
    finished, one manager after the other, each isolated: a raising manager is logged and
    the next still runs. A manager asks ``host.is_defensive`` (the hook, with its
    fail-safe)."""
    from support.hostapp_plugin_doubles import Defensive

    from hostapp.app import build_sim_app
    from hostapp.config import config_from_dict

    events: list[tuple[Any, ...]] = []

    class SlowCycle:
        @hookimpl
        def propose_orders(self, symbol: str) -> list[OrderRequest]:
            return [] if events else [OrderRequest(symbol, "buy", 0.1)]  # one open position

        @hookimpl
        async def on_cycle(self, now: Any) -> None:
            events.append(("on_cycle started", now))
            for _ in range(3):
                await asyncio.sleep(0)
            events.append(("on_cycle finished", now))

    class Crashing:
        @hookimpl
        async def manage_positions(self) -> None:
            raise Boom("manager fails")

    class Manager:
        @hookimpl
        def manage_positions(self, host: Any, now: Any) -> None:
            events.append(("manage_positions", now, host.is_defensive(7)))

    config = config_from_dict({"host": {"symbols": ["XAUUSD"]}})
    plugins = {"a": SlowCycle(), "b": Crashing(), "c": Manager(), "d": Defensive()}
    app = build_sim_app(
        config,
        {"XAUUSD": bars_from_closes([2000.0] * 3)},
        base_timeframe="M5",
        builtins=plugins,
        entry_points=[],
        env={},
    )
    await app.loop.run_replay(app.feed)
    times = sorted({e[1] for e in events})
    assert len(times) == 3
    assert events == [
        e
        for t in times
        for e in (("on_cycle started", t), ("on_cycle finished", t), ("manage_positions", t, True))
    ]
    rows = {r.name: r for r in app.plugins.listing()}
    assert rows["b"].error == "manage_positions: Boom: manager fails"
    assert rows["c"].error is None


def test_hook_is_defensive(hostapp_factory: Any) -> None:
    no, yes = Recorder(is_defensive=False), Recorder(is_defensive=True)
    host = hostapp_factory({"no": no, "yes": yes})
    assert host.plugins.is_defensive(host, 7) is True
    assert no.calls[-1] == ("is_defensive", {"ticket": 7})
    assert (
        hostapp_factory({"no": Recorder(is_defensive=False)}).plugins.is_defensive(host, 7) is False
    )
    assert hostapp_factory({}).plugins.is_defensive(host, 7) is False
    # Fail safe: a raising plugin counts as defensive.
    crashing = hostapp_factory({"no": Recorder(is_defensive=False), "z": Raiser()})
    assert crashing.plugins.is_defensive(crashing, 7) is True

    class Awaitable:
        @hookimpl
        def is_defensive(self) -> Any:
            return asyncio.sleep(0)  # a coroutine from a sync-only hook: a bug, fail safe

    sneaky = hostapp_factory({"s": Awaitable()})
    assert sneaky.plugins.is_defensive(sneaky, 7) is True
    assert "returned an awaitable" in (sneaky.plugins.listing()[0].error or "")
    # the text "False" is no answer (bool("False") is True): a bug, fail safe and said so
    wordy = hostapp_factory({"w": Recorder(is_defensive="False")})
    assert wordy.plugins.is_defensive(wordy, 7) is True
    assert "is_defensive must return a bool, got 'False'" in (
        wordy.plugins.listing()[0].error or ""
    )
    silent = hostapp_factory({"n": Recorder(is_defensive=None)})  # no opinion
    assert silent.plugins.is_defensive(silent, 7) is False
    np_no = hostapp_factory({"n": Recorder(is_defensive=np.float64(1.0) > 2.0)})
    assert np_no.plugins.is_defensive(np_no, 7) is False  # numpy's False is an answer
    assert np_no.plugins.listing()[0].error is None


async def test_hook_on_trade_closed(hostapp_factory: Any) -> None:
    plugin = Recorder()
    host = hostapp_factory({"a": Raiser(), "b": plugin})
    await host.plugins.on_trade_closed(host, TRADE, "stop_loss")
    assert plugin.calls[-1] == ("on_trade_closed", {"trade": TRADE, "reason": "stop_loss"})


async def test_hook_on_state_change(hostapp_factory: Any) -> None:
    plugin = Recorder()
    host = hostapp_factory({"a": Raiser(), "b": plugin})
    old, new = DefensiveState.HEALTHY, DefensiveState.WARNING_L1
    await host.report_state_change(7, old, new, "adx falling")
    assert plugin.calls[-1] == (
        "on_state_change",
        {"ticket": 7, "old": old, "new": new, "reason": "adx falling"},
    )


async def test_hook_on_action(hostapp_factory: Any, hostapp_broker: MemoryBroker) -> None:
    plugin = Recorder()
    host = hostapp_factory({"a": Raiser(), "b": plugin})
    ticket = hostapp_broker.open(ORDER).new_ticket
    assert ticket is not None
    action = Action(ticket, ActionKind.TIGHTEN_SL, {"stop_loss": 1995.0}, "tighten", key="k1")
    result = await host.execute(action)
    assert result == ActionResult.success("modified")
    assert hostapp_broker.position(ticket).stop_loss == 1995.0  # type: ignore[union-attr]
    assert plugin.calls[-1] == ("on_action", {"action": action, "result": result})
    assert host.executed == [(action, result)]


def test_raiser_double_really_raises() -> None:
    with pytest.raises(Boom):
        Raiser().on_cycle()
