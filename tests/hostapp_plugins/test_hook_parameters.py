"""The names of a hook implementation's parameters, checked at registration: a method
that left out ``self`` (the plugin object arrived as the hook's first argument, and
pluggy took it), and a parameter the hook has not (pluggy's own text named neither the
hook's arguments nor what to do). Both reject the plugin in one line, as the other
registration checks do (docs/plugins.md, "Registration checks")."""

from __future__ import annotations

from typing import Any

from support.hostapp_plugin_doubles import Recorder
from support.loader_kit import load

from hookspecs import hookimpl


class NoSelf:
    @hookimpl
    def on_trade_closed(trade, reason):  # type: ignore[no-untyped-def]
        pass


class NoSelfOneArgument:
    @hookimpl
    def on_cycle(host):  # type: ignore[no-untyped-def]
        pass


class WrongName:
    @hookimpl
    def on_trade_closed(self, trade: Any, why: str) -> None:
        pass


class Fine:
    """``self`` first, any subset of the hook's arguments; a classmethod's ``cls`` too."""

    @hookimpl
    def on_trade_closed(self, reason: str, trade: Any) -> None:
        pass

    @hookimpl
    @classmethod
    def on_cycle(cls, host: Any) -> None:
        pass


def _rejected(plugin: object) -> str:
    host = load(builtins={"bad": plugin, "good": Recorder()})
    rows = {r.name: r for r in host.listing()}
    assert rows["good"].status == "enabled"
    assert rows["bad"].status == "failed"
    assert host.pm.get_plugin("bad") is None
    return rows["bad"].error or ""


def test_a_method_without_self_is_rejected_naming_the_parameter() -> None:
    assert _rejected(NoSelf()) == (
        "rejected: on_trade_closed: its first parameter 'trade' receives the plugin object "
        "itself (a method needs self first)"
    )
    assert "its first parameter 'host' receives the plugin object" in _rejected(NoSelfOneArgument())


def test_a_parameter_the_hook_has_not_is_rejected_naming_the_hooks_arguments() -> None:
    assert _rejected(WrongName()) == (
        "rejected: on_trade_closed: parameter(s) why are not arguments of the hook "
        "(its arguments: host, trade, reason)"
    )


def test_a_method_with_self_and_the_hooks_names_is_taken() -> None:
    host = load(builtins={"fine": Fine()})
    row = host.listing()[0]
    assert (row.status, row.error, row.hooks) == ("enabled", None, ["on_cycle", "on_trade_closed"])
