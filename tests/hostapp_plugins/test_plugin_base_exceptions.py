"""What the PluginHost does with what a plugin raises that is not an ``Exception``
(hostapp.isolation): a SystemExit, a bare BaseException, a GeneratorExit or a
CancelledError of the plugin's own are its failure, wherever it calls (sync hooks too);
the host's own cancellation and closing of an awaited call, and the user's abort, go on
up; a KeyboardInterrupt of a plugin's own asks the run to stop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hookspecs import ConfigError, OrderRequest, hookimpl
from hostapp.errors import PluginError
from hostapp.stop_signals import Aborted
from hostapp.testing import T0


class Raises:
    """Every sync hook that answers, and configure when asked, raise ``exc``."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    @hookimpl
    def is_defensive(self) -> bool:
        raise self.exc

    @hookimpl
    def allow_order(self) -> None:
        raise self.exc

    @hookimpl
    def run_report(self) -> None:
        raise self.exc


class Manager:
    """An exit manager: asks ``host.is_defensive`` inside its own async hook."""

    def __init__(self) -> None:
        self.answers: list[bool] = []

    @hookimpl
    async def manage_positions(self, host: Any) -> None:
        self.answers.append(host.is_defensive(1))


ORDER = OrderRequest("XAUUSD", "buy", 0.1)


@pytest.mark.parametrize(
    "exc",
    [asyncio.CancelledError(), SystemExit(3), SystemExit(), BaseException("bare"), GeneratorExit()],
    ids=lambda e: type(e).__name__,
)
async def test_sync_hooks_isolate_what_is_no_exception(hostapp_factory: Any, exc: Any) -> None:
    """A CancelledError from is_defensive surfaced in the manager that asked, which was
    blamed and switched off; from allow_order and run_report it ended the run."""
    manager = Manager()
    host = hostapp_factory({"defender": Raises(exc), "manager": manager})
    for _ in range(3):
        await host.plugins.manage_positions(host, T0)
    assert manager.answers == [True, True, True]  # the fail-safe, asked from inside
    rows = {r.name: r for r in host.plugins.listing()}
    assert rows["manager"].status == "enabled" and rows["manager"].error is None
    assert (rows["defender"].error or "").startswith(f"is_defensive: {type(exc).__name__}")
    veto = host.plugins.allow_order(host, ORDER)
    assert veto is not None and veto.startswith("defender: allow_order failed")
    report = host.plugins.run_report(host)
    assert report["defender"]["error"].startswith(type(exc).__name__)


async def test_async_hooks_isolate_a_systemexit_in_gathered_calls(hostapp_factory: Any) -> None:
    """Two implementations of a broadcast run as tasks of a gather: a SystemExit in one
    ended the event loop ("Task exception was never retrieved")."""
    seen: list[str] = []

    class Exits:
        @hookimpl
        async def on_cycle(self) -> None:
            raise SystemExit(0)

    class Works:
        @hookimpl
        async def on_cycle(self) -> None:
            await asyncio.sleep(0)
            seen.append("works")

    host = hostapp_factory({"exits": Exits(), "works": Works()})
    for _ in range(5):
        await host.plugins.on_cycle(host, T0)
    assert seen == ["works"] * 5
    row = {r.name: r for r in host.plugins.listing()}["exits"]
    assert row.status == "tripped" and "on_cycle: SystemExit: 0" in (row.error or "")


async def test_the_hosts_own_cancellation_still_cancels(hostapp_factory: Any) -> None:
    started = asyncio.Event()

    class Waits:
        @hookimpl
        async def on_cycle(self) -> None:
            started.set()
            await asyncio.sleep(60)

    host = hostapp_factory({"waits": Waits()})
    task = asyncio.create_task(host.plugins.on_cycle(host, T0))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert host.plugins.listing()[0].error is None  # not the plugin's failure


async def test_closing_an_awaited_call_still_closes_it(hostapp_factory: Any) -> None:
    """A GeneratorExit thrown into the awaited call (its coroutine closed) is the host's:
    swallowed, Python would say the coroutine ignored it."""

    class Waits:
        @hookimpl
        async def on_cycle(self) -> None:
            await asyncio.sleep(60)

    host = hostapp_factory({"waits": Waits()})
    call = host.plugins.on_cycle(host, T0)
    call.send(None)  # suspended in the plugin's sleep
    call.close()  # RuntimeError("coroutine ignored GeneratorExit") if it were swallowed
    assert host.plugins.listing()[0].error is None


def test_keyboardinterrupt_outside_a_run_and_the_users_abort_go_on_up(hostapp_factory: Any) -> None:
    host = hostapp_factory({"guard": Raises(KeyboardInterrupt())})
    with pytest.raises(KeyboardInterrupt):
        host.plugins.allow_order(host, ORDER)  # no run to stop: the command's Ctrl-C
    stops: list[int] = []
    host.plugins.on_interrupt = lambda: stops.append(1)
    veto = host.plugins.allow_order(host, ORDER)  # a run: its stop, asked once, said once
    assert veto is not None and veto.startswith("guard: allow_order")
    assert host.plugins.is_defensive(host, 1) is True
    assert stops == [1, 1] and host.plugins.stopped_by == "guard: allow_order"
    assert host.plugins.listing()[0].error is None  # no failure of the plugin's
    aborting = hostapp_factory({"guard": Raises(Aborted())})
    aborting.plugins.on_interrupt = lambda: stops.append(2)
    with pytest.raises(Aborted):
        aborting.plugins.allow_order(aborting, ORDER)  # the second Ctrl-C: abort at once
    assert stops == [1, 1]


def test_raise_mode_names_the_plugin_of_a_systemexit(hostapp_factory: Any) -> None:
    """Raised on as it was, it ended the process with the plugin's exit code, silently."""
    host = hostapp_factory({"guard": Raises(SystemExit(3))}, {"plugins": {"on_error": "raise"}})
    with pytest.raises(PluginError, match=r"plugin 'guard': allow_order raised SystemExit: 3"):
        host.plugins.allow_order(host, ORDER)


def test_a_systemexit_in_configure_is_a_configuration_error(hostapp_factory: Any) -> None:
    class Exits:
        @hookimpl
        def configure(self) -> None:
            raise SystemExit(2)

    with pytest.raises(ConfigError, match=r"plugin 'exits': configure failed: SystemExit: 2"):
        hostapp_factory({"exits": Exits()})
