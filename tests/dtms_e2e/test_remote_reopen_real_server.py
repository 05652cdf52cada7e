"""A close another program reports for a trade this host still holds open does not end the
host's watch of it (docs/dtms.md §9): the host's broker is the truth of its own positions.

An outside program (written for the original DTMS) posts ``/dtms/trade/{ticket}/closed``
with no body for a position of this host that is still open. The real server (its real
engine, on loopback at a port of its own, its store in ``tmp_path``) records it CLOSED,
then, its broker listing the position again, reopens the record and defends it again
(docs/dtms.md §8). The trading host (the remote strategy, its store in ``tmp_path``, on
the account and market the server shares) keeps the ticket among those it refreshes,
tells its plugins the reopen and what follows in the server's order, and answers
``is_defensive`` from the live state. Before, it dropped the ticket at the false CLOSED:
its cache said CLOSED for the rest of the trade, ``is_defensive`` False while the server
had it WARNING_L2 or HEDGED, and its plugins heard nothing more of it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from support.dtms_server_world import World, falling_path, open_position, wavy_path
from support.e2e_procs import free_port

from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.remote_outbox import OPEN_KEY
from dtms_plugin.server import SERVICE_KEY, ServerSettings, create_app
from dtms_plugin.server.service import default_strategy_factory
from dtms_plugin.settings import DtmsSettings
from hookspecs import Action, ActionResult, BrokerError, DefensiveState, hookimpl
from hostapp.config import config_from_dict
from hostapp.host import Host
from hostapp.loader import load_plugins

#: The most bars a test waits for the server's engine to get somewhere (the fall is 200).
MOST_BARS = 150


class Heard:
    """A plugin that keeps every ``on_state_change`` it hears, (ticket, old, new, reason),
    and every ``on_action``, (ticket, "action", kind, key)."""

    def __init__(self) -> None:
        self.states: list[tuple[int, str, str, str]] = []

    @hookimpl
    def on_state_change(
        self, ticket: int, old: DefensiveState, new: DefensiveState, reason: str, details: Any
    ) -> None:
        json.dumps(dict(details))  # as JSON carries it
        self.states.append((ticket, str(old), str(new), reason))

    @hookimpl
    def on_action(self, action: Action, result: ActionResult) -> None:
        self.states.append((action.ticket, "action", action.kind.value, action.key))

    def of(self, ticket: int) -> list[tuple[int, str, str, str]]:
        return [e for e in self.states if e[0] == ticket]


async def _no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


@dataclasses.dataclass
class Rig:
    """The real server and one trading host with the remote strategy, on one market."""

    world: World
    server: TestServer
    engine: Heard  # the server's own plugins: what its engine did
    heard: Heard  # the trading host's plugins: what the remote strategy told them
    host: Host
    remote: RemoteStrategy

    async def step(self, bars: int = 1) -> None:
        """``bars`` bars: each a cycle of the server's engine, then the host's refresh."""
        for _ in range(bars):
            self.world.step()
            await self.server.app[SERVICE_KEY].run_cycle()
            await self.remote.refresh()

    async def step_until(self, done: Callable[[], bool]) -> None:
        """Bars stepped until ``done()`` holds, at most :data:`MOST_BARS`."""
        for _ in range(MOST_BARS):
            if done():
                return
            await self.step()

    async def registered_position(self) -> int:
        """A buy opened on the shared broker and registered by the host, delivered."""
        ticket = open_position(self.world)
        position = self.world.broker.position(ticket)
        assert position is not None
        await self.remote.on_trade_executed(self.host, position)
        await self.remote.drain()
        return ticket

    async def report_closed_outside(self, ticket: int) -> None:
        """What an original client sends: the close, no body."""
        url = self.server.make_url(f"/dtms/trade/{ticket}/closed")
        async with aiohttp.ClientSession() as session, session.post(url) as resp:
            assert resp.status == 200, await resp.text()


def _host(world: World, heard: Heard, mode: str) -> Host:
    cfg = config_from_dict({})
    plugins = load_plugins(cfg, builtins={"heard": heard}, entry_points=[], env={})
    return Host(world.broker, world, world, cfg, plugins, mode=mode)  # type: ignore[arg-type]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """A market that falls after the indicators' warm-up: a buy the server warns and
    hedges once it defends it."""
    base = wavy_path(2000.0, 1000)
    world = World({"XAUUSD": base + falling_path(base[-1], 200, step=1.5)}, visible=1000)
    port, engine, heard = free_port(), Heard(), Heard()
    settings = ServerSettings(
        dtms=DtmsSettings(state_dir=str(tmp_path / "server-state")),
        token="",
        monitor_seconds=3600.0,  # the test drives the cycles
    )
    app = create_app(
        settings, host=_host(world, engine, "serve"), strategy_factory=default_strategy_factory
    )
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    remote = RemoteStrategy(
        DtmsSettings(
            strategy="remote",
            api_url=f"http://127.0.0.1:{port}",
            state_dir=str(tmp_path / "host-state"),
            token_env="DTMS_TEST_TOKEN_UNSET",
            register_timeout_seconds=2.0,
            query_timeout_seconds=2.0,
        ),
        sleep=_no_wait,
        flush_wait_seconds=0.1,
    )
    host = _host(world, heard, "live")
    await remote.startup(host)
    try:
        yield Rig(world, server, engine, heard, host, remote)
    finally:
        await remote.shutdown(host)
        await server.close()


async def test_a_false_close_report_leaves_the_trade_watched_and_its_reopen_told(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "dtms_plugin")
    ticket = await rig.registered_position()
    await rig.step()

    await rig.report_closed_outside(ticket)  # the position stays open at the broker
    await rig.step()
    assert rig.heard.of(ticket)[-1][2] == "CLOSED"  # the server's word, told as it is
    assert rig.remote.is_defensive(rig.host, ticket) is False  # nor defended there now
    assert ticket in rig.remote.store.get_value(OPEN_KEY)  # still watched here
    said = [r.getMessage() for r in caplog.records if r.name.startswith("dtms_plugin.remote")]
    assert [m for m in said if f"ticket {ticket} CLOSED" in m and "lists its position open" in m]

    def last_state() -> str:
        return [e[2] for e in rig.heard.of(ticket) if e[1] != "action"][-1]

    # the server reopens it, defends it, and acts on it
    await rig.step_until(lambda: last_state() in ("WARNING_L2", "HEDGED"))
    heard = rig.heard.of(ticket)
    assert last_state() in ("WARNING_L2", "HEDGED"), heard
    assert [e for e in heard if e[1] == "action"], heard  # its stop moves, heard here
    assert rig.remote.is_defensive(rig.host, ticket) is True  # from the live state
    reopened = [e for e in heard if e[1:3] == ("CLOSED", "HEALTHY")]
    assert len(reopened) == 1 and "listed open again" in reopened[0][3], heard
    # every transition the server made, in its order, once each
    assert heard == rig.engine.of(ticket)
    # said once, though the server had it CLOSED over several refreshes
    warned = [r for r in caplog.records if f"ticket {ticket} CLOSED" in r.getMessage()]
    assert len(warned) == 1 and warned[0].levelno == logging.WARNING
    assert rig.world.broker.position(ticket) is not None


async def test_a_close_the_broker_shows_too_ends_the_watch_as_before(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """The server's engine closes the trade on the account: the host's broker lists the
    position no more, so the server's CLOSED is taken at once, said at no WARNING, and
    the ticket is refreshed no more."""
    caplog.set_level(logging.WARNING, "dtms_plugin")
    ticket = await rig.registered_position()
    await rig.step()
    await rig.step_until(lambda: any(e[2] == "CLOSED" for e in rig.engine.of(ticket)))
    assert rig.world.broker.position(ticket) is None
    assert rig.heard.of(ticket) == rig.engine.of(ticket)
    assert [e[2] for e in rig.heard.of(ticket) if e[1] != "action"][-1] == "CLOSED"
    assert rig.remote.store.get_value(OPEN_KEY) == []
    assert not [r for r in caplog.records if "lists its position open" in r.getMessage()]


async def test_a_broker_that_cannot_answer_keeps_the_trade_until_it_can(
    rig: Rig, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host's broker cannot say, at the refresh that brings the server's CLOSED,
    whether it lists the position: the ticket stays watched, nothing said yet; the next
    refresh asks again and says it."""
    caplog.set_level(logging.WARNING, "dtms_plugin")
    ticket = await rig.registered_position()
    await rig.step()
    await rig.report_closed_outside(ticket)
    rig.world.step()
    await rig.server.app[SERVICE_KEY].run_cycle()

    def disconnected(asked: int) -> None:
        raise BrokerError("terminal disconnected")

    with monkeypatch.context() as patched:  # the host's read only, not the server's
        patched.setattr(rig.world.broker, "position", disconnected)
        await rig.remote.refresh()
    assert rig.heard.of(ticket)[-1][2] == "CLOSED"
    assert ticket in rig.remote.store.get_value(OPEN_KEY)

    def warned() -> int:
        return len([r for r in caplog.records if "lists its position open" in r.getMessage()])

    assert warned() == 0
    await rig.remote.refresh()
    assert warned() == 1
    assert ticket in rig.remote.store.get_value(OPEN_KEY)
