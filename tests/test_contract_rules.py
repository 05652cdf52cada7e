"""Hooks are declared once: a spec in hookspecs/spec.py and a row of hookspecs/rules.py
drive the PluginHost; tryfirst/trylast are refused at registration; tracing logs every
call with its plugin and duration."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from hookspecs import HOOK_RULES, SYNC_ONLY_HOOKS, hookimpl, spec
from hostapp.pluginhost import HOOK_NAMES, PluginHost


def test_every_spec_has_a_rule_and_every_rule_a_spec() -> None:
    assert set(HOOK_RULES) == set(HOOK_NAMES)


def test_sync_only_hooks_come_from_the_table() -> None:
    assert {"configure", "allow_order", "is_defensive", "run_report", "web_routes"} == set(
        SYNC_ONLY_HOOKS
    )


def test_allow_order_is_first_result_in_the_spec() -> None:
    opts = spec.allow_order.hostapp_spec
    assert opts["firstresult"] is True


@pytest.mark.parametrize("option", ["tryfirst", "trylast"])
def test_tryfirst_and_trylast_are_refused_with_a_clear_error(option: str) -> None:
    class Eager:
        @hookimpl(**{option: True})
        def is_defensive(self, ticket: int) -> bool:
            return False

    plugins = PluginHost()
    assert plugins.register("eager", Eager()) is False
    (info,) = plugins.listing()
    assert info.status == "failed"
    assert "tryfirst/trylast are not supported" in str(info.error)
    assert "[plugins] order" in str(info.error)


async def test_trace_logs_each_call_with_plugin_and_duration(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    class Quiet:
        @hookimpl
        def is_defensive(self, ticket: int) -> bool:
            return False

        @hookimpl
        async def on_cycle(self, now: Any) -> None:
            return None

    monkeypatch.setenv("HOSTAPP_TRACE_PLUGINS", "1")
    plugins = PluginHost()
    plugins.register("quiet", Quiet())
    with caplog.at_level(logging.INFO, logger="hostapp.plugins"):
        assert plugins.is_defensive(None, 7) is False  # type: ignore[arg-type]
        await plugins.on_cycle(None, None)  # type: ignore[arg-type]
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("trace:")]
    assert len(lines) == 2
    assert lines[0].startswith("trace: is_defensive quiet ") and lines[0].endswith(" ms")
    assert lines[1].startswith("trace: on_cycle quiet ")


async def test_every_hook_is_called_through_its_rule_alone() -> None:
    """``call`` needs nothing but the rule: each combine mode with a failing plugin gives
    the row's fail-safe answer, and the named methods are the same calls."""
    from support.hostapp_plugin_doubles import Raiser, Recorder

    from hookspecs import OrderRequest

    plugins = PluginHost()
    plugins.register("a", Recorder(is_defensive=False, run_report={"activity": 1}))
    plugins.register("z", Raiser())
    order = OrderRequest("XAUUSD", "buy", 0.1)
    host: Any = None
    assert await plugins.call("is_defensive", host=host, ticket=7) is True  # fail safe
    veto = await plugins.call("allow_order", host=host, order=order)
    assert veto == "z: allow_order failed (Boom: raiser always fails); vetoed to be safe"
    assert plugins.ask("allow_order", host=host, order=order) == plugins.allow_order(host, order)
    assert plugins.ask("run_report", host=host) == {
        "a": {"activity": 1},
        "z": {"error": "Boom: raiser always fails"},
    }
    assert await plugins.call("propose_orders", host=host, symbol="X", bars=[], now=None) == []
    assert await plugins.call("on_cycle", host=host, now=None) is None
    with pytest.raises(ValueError, match="use call"):
        plugins.ask("on_cycle", host=host, now=None)
