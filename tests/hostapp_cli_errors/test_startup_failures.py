"""A plugin whose ``startup`` fails for a file-system or configuration reason stops the
run at start (a ConfigError: exit 2, one line naming file and table) instead of running
the whole period with that plugin failing; any other startup failure is isolated as
before (docs/architecture.md §4)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hookspecs import ConfigError, HostView, hookimpl
from hostapp import app as appmod
from hostapp.config import config_from_dict
from hostapp.driving import drive
from hostapp.testing import bars_from_closes


class FailsAtStart:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc
        self.proposed = 0

    @hookimpl
    async def startup(self, host: HostView) -> None:
        raise self.exc

    @hookimpl
    def propose_orders(self, host: HostView, symbol: str, bars: Any, now: Any) -> list[Any]:
        self.proposed += 1
        return []


def _app(plugin: FailsAtStart) -> appmod.App:
    config = config_from_dict({"host": {"symbols": ["XAUUSD"]}})
    series = {"XAUUSD": bars_from_closes([2000.0 + i % 5 for i in range(40)])}
    return appmod.build_sim_app(config, series, base_timeframe="M5", builtins={"keeper": plugin})


@pytest.mark.parametrize(
    "exc",
    [
        PermissionError(13, "Permission denied", "/srv/state"),
        IsADirectoryError(21, "Is a directory", "/srv/state/ledger"),
        NotADirectoryError(20, "Not a directory", "/srv/state"),
        OSError(28, "No space left on device"),
        ConfigError("[plugin.keeper] key 'folder': not writable"),
    ],
)
def test_a_file_system_failure_at_startup_stops_the_run_before_any_cycle(exc: Exception) -> None:
    plugin = FailsAtStart(exc)
    with pytest.raises(ConfigError) as raised:
        asyncio.run(drive(_app(plugin), progress=None))
    message = str(raised.value)
    assert message.startswith("plugins.toml [plugin.keeper]: cannot start: ")
    assert "\n" not in message
    if isinstance(exc, ConfigError):  # its message names the table: said once, without a
        # class name ("[plugin.keeper]: cannot start: ConfigError: [plugin.keeper] key …")
        assert message == "plugins.toml [plugin.keeper]: cannot start: key 'folder': not writable"
    else:
        assert type(exc).__name__ in message
    assert plugin.proposed == 0  # no cycle ran


def test_any_other_startup_failure_is_isolated_as_before() -> None:
    plugin = FailsAtStart(RuntimeError("flaky network"))
    asyncio.run(drive(_app(plugin), progress=None))
    assert plugin.proposed > 0
