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
