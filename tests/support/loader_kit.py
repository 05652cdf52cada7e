"""Loading plugins in tests: entry points made in memory and the loader called with them
alone (no installed plugin, no environment), for the loader's own tests."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

from hostapp.config import config_from_dict
from hostapp.loader import load_plugins
from hostapp.pluginhost import PluginHost

DOUBLES = "support.hostapp_plugin_doubles"
TRIPWIRE = "support.hostapp_tripwire_plugin"


def ep(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group="hostapp")


class NeverLoad(EntryPoint):
    """An entry point whose ``load`` fails the test: disabled plugins are never loaded."""

    def load(self) -> Any:
        raise AssertionError(f"entry point {self.name} was loaded")


def load(
    config: dict[str, Any] | None = None,
    builtins: dict[str, Any] | None = None,
    eps: list[EntryPoint] | None = None,
    env: dict[str, str] | None = None,
) -> PluginHost:
    return load_plugins(
        config_from_dict(config or {}),
        builtins=builtins if builtins is not None else {},
        entry_points=eps or [],
        env=env or {},
    )


def statuses(host: PluginHost) -> dict[str, str]:
    return {i.name: i.status for i in host.listing()}
