"""PluginHost time rules: the broker's time inside ``host.execute`` is not the plugin's,
it moves every waiting plugin's deadline, and a sync hook slower than its timeout is said
once per episode with a count."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest

from hookspecs import Action, ActionKind, hookimpl
from hostapp.pluginhost import BREAKER_LIMIT
from hostapp.testing import T0

#: a hook's timeout_seconds here: far above what a hook that awaits a moment takes on its
#: own, even on a loaded machine (whose event loop can wake a 0.02 s wait 0.1 s late)
TIMEOUT = 0.5
#: the broker's time in ``host.execute``: alone past the timeout
BROKER = TIMEOUT + 0.1


class SlowTerminal:
    """An async ``on_cycle`` that closes a trade through ``host.execute`` on a broker
    that takes ``broker_seconds`` to answer (a MetaTrader order looked for on the server),
    ``before`` and ``after`` awaiting the event loop around it (so its deadline timer is
    armed), and holding the loop ``own_seconds`` itself."""

    def __init__(self, broker_seconds: float, own_seconds: float = 0.0) -> None:
        self.broker_seconds, self.own_seconds = broker_seconds, own_seconds
        self.done = 0

    @hookimpl
    async def on_cycle(self, host: Any) -> None:
        await asyncio.sleep(0)
        real_close = host.broker.close

        def slow_close(ticket: int, volume: float | None = None) -> Any:
            time.sleep(self.broker_seconds)  # a sync broker call holds the loop
            return real_close(ticket, volume)

        host.broker.close = slow_close
        try:
            await host.execute(Action(1, ActionKind.CLOSE, reason="test", key="c1"))
        finally:
            host.broker.close = real_close
        time.sleep(self.own_seconds)
        await asyncio.sleep(0.02)
        self.done += 1


async def test_the_brokers_time_in_host_execute_is_not_the_plugins(hostapp_factory: Any) -> None:
    """A trade-server outage once switched DTMS off: each order the terminal did not
    answer took longer than the hook's deadline inside ``host.execute``, and five such
    cycles tripped the breaker. The broker's time is excused; the plugin's own is not."""
    config = {"plugin": {"p": {"timeout_seconds": TIMEOUT}}}
    patient = SlowTerminal(broker_seconds=BROKER)
    host = hostapp_factory({"p": patient}, config)
    for _ in range(BREAKER_LIMIT):
        await host.plugins.on_cycle(host, T0)
    (row,) = host.plugins.listing()
    assert (row.status, row.error, patient.done) == ("enabled", None, BREAKER_LIMIT)
    assert host.plugins.broker_time.seconds >= BREAKER_LIMIT * BROKER

    slow = SlowTerminal(broker_seconds=BROKER, own_seconds=BROKER)  # its own time: too long
    host = hostapp_factory({"p": slow}, config)
    await host.plugins.on_cycle(host, T0)
    (row,) = host.plugins.listing()
    assert (row.error, slow.done) == (f"on_cycle: timed out after {TIMEOUT}s", 0)


class Brief:
    """An ``on_cycle`` that waits a little on the event loop, as most async hooks do."""

    def __init__(self) -> None:
        self.done = 0

    @hookimpl
    async def on_cycle(self) -> None:
        await asyncio.sleep(0.01)
        self.done += 1


async def test_the_brokers_time_moves_every_waiting_plugins_deadline(
    hostapp_factory: Any,
) -> None:
    """``on_cycle`` hooks run at once: while one plugin's ``host.execute`` held the loop,
    another plugin's hook, waiting on it, timed out and would be switched off in turn."""
    config = {"plugin": {"a": {"timeout_seconds": TIMEOUT}, "b": {"timeout_seconds": TIMEOUT}}}
    slow, brief = SlowTerminal(broker_seconds=BROKER), Brief()
    host = hostapp_factory({"a": slow, "b": brief}, config)
    await host.plugins.on_cycle(host, T0)
    assert {r.name: r.error for r in host.plugins.listing()} == {"a": None, "b": None}
    assert (slow.done, brief.done) == (1, 1)


class SlowSync:
    """A sync on_cycle and is_defensive that take ``seconds`` while ``slow`` is set."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.slow = True

    @hookimpl
    def on_cycle(self) -> None:
        if self.slow:
            time.sleep(self.seconds)

    @hookimpl
    def is_defensive(self) -> bool:
        if self.slow:
            time.sleep(self.seconds)
        return False


async def test_a_sync_hook_slower_than_its_timeout_is_said_once_per_episode_with_a_count(
    hostapp_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A sync on_cycle sleeping past timeout_seconds cannot be cut short; the run crawled
    without a word. Not a failure (the breaker does not count it), but said."""
    plugin = SlowSync(0.2)  # a quick call must take under the timeout, even on a loaded machine
    host = hostapp_factory({"slow": plugin}, {"plugin": {"slow": {"timeout_seconds": 0.1}}})
    with caplog.at_level("WARNING", logger="hostapp.plugins"):
        for _ in range(3):
            await host.plugins.on_cycle(host, T0)
            assert host.plugins.is_defensive(host, 1) is False
        plugin.slow = False
        await host.plugins.on_cycle(host, T0)  # quick again: the episode ends
        plugin.slow = True
        await host.plugins.on_cycle(host, T0)  # a new episode
        notes = host.plugins.slow.notes()  # the run ends
    lines = [r.getMessage() for r in caplog.records]
    first = [line for line in lines if "sync on_cycle took" in line]
    assert len(first) == 2 and "longer than its timeout_seconds 0.1;" in first[0]
    took = re.match(r"plugin slow: sync on_cycle took (\d+\.\d\d) s, ", first[0])
    assert took is not None and float(took[1]) >= 0.2, first[0]  # what it took, however long
    # each episode's end in the words of an end: quick again, or the run ended
    ends = [line.split(" (the longest")[0] for line in lines if " more call" in line]
    assert ends == [
        "plugin slow: sync on_cycle is quick again, after 2 more calls longer than its "
        "timeout_seconds",
        "plugin slow: sync is_defensive until the run ended: 2 more calls longer than its "
        "timeout_seconds",
    ]
    assert sum("sync is_defensive took" in line for line in lines) == 1
    assert notes[0].startswith("plugin slow: 4 sync on_cycle calls took longer than its ")
    assert notes[1].startswith("plugin slow: 3 sync is_defensive calls took longer")
    assert "cannot be cut short" in notes[0]
    assert host.plugins.is_enabled("slow")  # slow is not failing


def test_a_slow_calls_seconds_read_as_longer_than_its_timeout() -> None:
    """0.0104 s against a timeout of 0.01 was said "took 0.01 s, longer than its
    timeout_seconds 0.01": as many decimals as it takes to read as longer."""
    from hostapp.slow_calls import over

    assert over(0.0104, 0.01) == "0.0104"
    assert over(1.234, 1.0) == "1.23"
    assert over(0.2, 0.1) == "0.20"
