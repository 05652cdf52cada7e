"""A remote host's plugins hear what the DTMS server did to its trades, as the plugins of
a host running the engine itself hear it: every state change with the server's reason
and score breakdown, every action with its result, once each, in the order of the
server's history (docs/dtms.md §9).

The real server (its real local engine, on loopback at a port of its own) defends trades
on the scripted market whose memory broker both sides share, as a host and ``dtms serve``
share an account; real stores in ``tmp_path``. A recording plugin on the server's own host
hears what the engine did there (what a local engine's plugins hear); one on the trading
host hears what the remote strategy tells it. Before, the trading host heard "DTMS
server" without details for each state its refresh saw, and no action at all.
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

from dtms_plugin.http_client import RemoteApi
from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.server import SERVICE_KEY, ServerSettings, create_app, dashboard
from dtms_plugin.server.service import default_strategy_factory
from dtms_plugin.settings import DtmsSettings
from hookspecs import Action, ActionResult, DefensiveState, hookimpl
from hostapp.config import config_from_dict
from hostapp.host import Host
from hostapp.loader import load_plugins

Event = tuple[Any, ...]
#: The most bars a test waits for the server's engine to get somewhere (the fall is 200).
MOST_BARS = 150


class Heard:
    """A plugin that keeps every ``on_state_change`` and ``on_action`` it hears."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def on_state_change(
        self, ticket: int, old: DefensiveState, new: DefensiveState, reason: str, details: Any
    ) -> None:
        plain = json.loads(json.dumps(dict(details)))  # as JSON carries it
        self.events.append(("state", ticket, str(old), str(new), reason, plain))

    @hookimpl
    def on_action(self, action: Action, result: ActionResult) -> None:
        self.events.append(("action", action.ticket, action, result))

    def of(self, ticket: int) -> list[Event]:
        return [e for e in self.events if e[1] == ticket]


def as_heard(entry: dict[str, Any]) -> tuple[str, Any]:
    """A history entry as what a plugin hears names it: its kind and key, or its states."""
    if entry["type"] == "state_change":
        return ("state", (entry["from"], entry["to"], entry["reason"]))
    return ("action", entry["key"])


def heard_names(events: list[Event]) -> list[tuple[str, Any]]:
    return [("state", e[2:5]) if e[0] == "state" else ("action", e[2].key) for e in events]


async def _no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


class Rig:
    def __init__(self, tmp_path: Path, world: World) -> None:
        self.tmp_path = tmp_path
        self.world = world
        self.port = free_port()
        self.engine = Heard()  # the server's own plugins: what a local engine's hear
        self.server: TestServer | None = None
        self.remotes: list[tuple[RemoteStrategy, Host]] = []
        self.settings = DtmsSettings(
            strategy="remote",
            api_url=f"http://127.0.0.1:{self.port}",
            state_dir=str(tmp_path / "host-state"),
            token_env="DTMS_TEST_TOKEN_UNSET",
            register_timeout_seconds=2.0,
            query_timeout_seconds=2.0,
        )

    def host(self, heard: Heard, mode: str = "live") -> Host:
        """A host with one plugin, ``heard``, on the shared account and market."""
        cfg = config_from_dict({})
        plugins = load_plugins(cfg, builtins={"heard": heard}, entry_points=[], env={})
        world = self.world
        return Host(world.broker, world, world, cfg, plugins, mode=mode)  # type: ignore[arg-type]

    async def start_server(self) -> None:
        settings = ServerSettings(
            dtms=DtmsSettings(state_dir=str(self.tmp_path / "server-state")),
            token="",
            monitor_seconds=3600.0,  # the test drives the cycles
        )
        host = self.host(self.engine, mode="serve")
        app = create_app(settings, host=host, strategy_factory=default_strategy_factory)
        self.server = TestServer(app, host="127.0.0.1", port=self.port)
        await self.server.start_server()

    async def remote(self, heard: Heard) -> RemoteStrategy:
        """A trading host with the remote strategy (a restart: another one on the same
        state folder)."""
        host = self.host(heard)
        remote = RemoteStrategy(self.settings, sleep=_no_wait, flush_wait_seconds=0.1)
        await remote.startup(host)
        self.remotes.append((remote, host))
        return remote

    async def restart(self, remote: RemoteStrategy, heard: Heard) -> RemoteStrategy:
        await self.shutdown(remote)
        return await self.remote(heard)

    async def shutdown(self, remote: RemoteStrategy) -> None:
        await remote.shutdown(self.host_of(remote))
        self.remotes = [(r, h) for r, h in self.remotes if r is not remote]

    def host_of(self, remote: RemoteStrategy) -> Host:
        return next(h for r, h in self.remotes if r is remote)

    async def hand(self, remote: RemoteStrategy) -> int:
        """A new trade of the trading host, handed to the server."""
        ticket = open_position(self.world)
        position = self.world.broker.position(ticket)
        assert position is not None
        await remote.on_trade_executed(self.host_of(remote), position)
        await remote.drain()
        return ticket

    async def step(self, remote: RemoteStrategy, bars: int = 1) -> None:
        """``bars`` bars: each a cycle of the server's engine, then the host's refresh."""
        assert self.server is not None
        for _ in range(bars):
            self.world.step()
            await self.server.app[SERVICE_KEY].run_cycle()
            await remote.refresh()

    async def step_until(
        self, remote: RemoteStrategy | None, done: Callable[[], bool], what: str
    ) -> None:
        """Bars (the trading host's refresh after each, unless ``remote`` is None: the host
        is down) until ``done()``; at most :data:`MOST_BARS`."""
        for _ in range(MOST_BARS):
            if done():
                return
            if remote is None:
                await self.server_step(1)
            else:
                await self.step(remote)
        assert done(), f"{what}: not after {MOST_BARS} bars"

    async def server_step(self, bars: int) -> None:
        """``bars`` bars on which only the server runs (the trading host is down)."""
        assert self.server is not None
        for _ in range(bars):
            self.world.step()
            await self.server.app[SERVICE_KEY].run_cycle()

    async def history(self, ticket: int) -> list[dict[str, Any]]:
        assert self.server is not None
        url = self.server.make_url("/dtms/actions")
        params = {"ticket": str(ticket), "limit": "1000"}
        async with aiohttp.ClientSession() as session, session.get(url, params=params) as resp:
            assert resp.status == 200
            return list((await resp.json())["actions"])

    async def stop(self) -> None:
        for remote, host in self.remotes:
            await remote.shutdown(host)
        if self.server is not None:
            await self.server.close()


@pytest.fixture
async def falling(tmp_path: Path) -> AsyncIterator[Rig]:
    """A market that falls after the indicators' warm-up: a buy is warned, partly closed,
    hedged and closed by the server's engine."""
    base = wavy_path(2000.0, 1000)  # enough M15 bars for the engine's warm-up
    path = base + falling_path(base[-1], 200, step=1.5)
    rig = Rig(tmp_path, World({"XAUUSD": path}, visible=1000))
    await rig.start_server()
    yield rig
    await rig.stop()


async def test_a_remote_hosts_plugins_hear_what_the_engines_plugins_hear(falling: Rig) -> None:
    rig = falling
    heard = Heard()
    remote = await rig.remote(heard)
    ticket = await rig.hand(remote)
    await rig.step(remote, 80)

    engine = rig.engine.of(ticket)
    kinds = [e[2].kind.value for e in engine if e[0] == "action"]
    assert kinds == ["tighten_sl", "partial_close", "hedge", "close"], engine
    assert [e[3] for e in engine if e[0] == "state"][-1] == "CLOSED"
    # the same events, with the same data: reasons and score breakdowns, whole actions
    # and results (ticket, kind, params, reason, key, source; ok, code, message, ...)
    assert heard.events == engine
    for event in heard.events:
        if event[0] == "state":
            assert event[4] != "DTMS server" and event[5]["total"] <= -2.0, event
    # in the server's history's order, each once
    history = await rig.history(ticket)
    assert heard_names(heard.events) == [as_heard(e) for e in history]
    # heard, not this host's: its action rows stay empty, the report counts them
    host = rig.host_of(remote)
    assert list(host.executed) == []
    assert remote.report()["server_actions_heard"] == len(kinds)
    await rig.step(remote, 3)  # nothing more happens: nothing more is heard
    assert heard.events == engine


async def test_a_restart_tells_nothing_twice_and_nothing_is_lost(falling: Rig) -> None:
    rig = falling
    first = Heard()
    remote = await rig.remote(first)
    ticket = await rig.hand(remote)
    await rig.step_until(
        remote, lambda: any(e[0] == "action" for e in first.events), "the first warning's stop"
    )
    assert len(first.events) == 2
    second = Heard()
    remote = await rig.restart(remote, second)  # the host restarts: nothing new yet
    await remote.refresh()
    assert second.events == []
    third = Heard()
    await rig.shutdown(remote)  # the host is down while the server goes on
    done = len(rig.engine.of(ticket))
    await rig.step_until(
        None, lambda: len(rig.engine.of(ticket)) >= done + 4, "a warning more, its partial"
    )
    remote = await rig.remote(third)
    await remote.refresh()
    assert third.events == rig.engine.of(ticket)[2:]  # what it missed, at its first refresh
    await rig.step(remote, 80)
    assert first.events + second.events + third.events == rig.engine.of(ticket)
    assert [e[0] for e in third.events].count("state") >= 2


async def test_a_refresh_that_fails_midway_tells_each_entry_once(
    falling: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history of one of two trades cannot be read on some refreshes (the server
    drops the connection): what the other's told stays told, and the first's entries are
    told at a later refresh, none twice and none skipped."""
    rig = falling
    heard = Heard()
    remote = await rig.remote(heard)
    one, two = await rig.hand(remote), await rig.hand(remote)
    read = RemoteApi.actions
    calls = {one: 0, two: 0}
    failed: list[int] = []  # the bars at which two's history could not be read

    async def flaky(api: RemoteApi, ticket: int, limit: int) -> Any:
        calls[ticket] += 1
        if ticket == two and calls[two] % 2:  # every first read of a mark that moved
            failed.append(rig.world.visible)
            raise aiohttp.ClientConnectionError("connection reset by peer")
        return await read(api, ticket, limit)

    monkeypatch.setattr(RemoteApi, "actions", flaky)
    await rig.step(remote, 80)
    assert len(failed) >= 2 and calls[one] >= 4, (failed, calls)
    for ticket in (one, two):
        assert heard.of(ticket) == rig.engine.of(ticket), ticket
        assert len(heard.of(ticket)) >= 8


async def test_a_server_without_history_marks_is_told_as_before(
    falling: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A server of an earlier version sends no ``history_mark`` (here the same server
    replaced by one mid-run): its states are told as before ("DTMS server", no details,
    no action), its history is never read, and nothing fails."""
    rig = falling
    heard = Heard()
    remote = await rig.remote(heard)
    ticket = await rig.hand(remote)
    await rig.step_until(remote, lambda: any(e[0] == "action" for e in heard.events), "a stop")
    assert heard.events == rig.engine.of(ticket)  # this version's server: all of it
    told = len(heard.events)

    original = dashboard.batch_entry

    def earlier(ticket: int, record: Any, *, account_defensive: bool) -> dict[str, Any]:
        entry = original(ticket, record, account_defensive=account_defensive)
        del entry["history_mark"]
        return entry

    monkeypatch.setattr(dashboard, "batch_entry", earlier)
    reads = [0]
    read = RemoteApi.actions

    async def counted(api: RemoteApi, ticket: int, limit: int) -> Any:
        reads[0] += 1
        return await read(api, ticket, limit)

    monkeypatch.setattr(RemoteApi, "actions", counted)
    caplog.set_level(logging.INFO, "dtms_plugin")
    await rig.step(remote, 80)
    later = heard.events[told:]
    assert reads[0] == 0
    assert later, "the states the refresh saw are told"
    assert all(e[0] == "state" and e[4:] == ("DTMS server", {}) for e in later), later
    states = [e[3] for e in later]
    assert states == [e[3] for e in rig.engine.of(ticket)[told:] if e[0] == "state"]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_close_the_host_saw_first_is_told_once_with_what_the_server_did_after(
    falling: Rig,
) -> None:
    """The host sees its hedged trade's position close before the server does: its
    plugins hear CLOSED once (the host's word, as before), and the hedge the server
    closes on the close report is still heard: the ticket is followed until the server
    has it CLOSED. Before, nothing the server did after the host's close was heard."""
    rig = falling
    heard = Heard()
    remote = await rig.remote(heard)
    ticket = await rig.hand(remote)
    await rig.step_until(
        remote,
        lambda: any(e[0] == "action" and e[2].kind.value == "hedge" for e in heard.events),
        "the hedge",
    )
    position = rig.world.broker.position(ticket)
    assert position is not None and rig.world.broker.close(ticket).ok
    closed = dataclasses.replace(
        position, closed_at=rig.world.now(), close_price=rig.world.price("XAUUSD")
    )
    await remote.on_trade_closed(rig.host_of(remote), closed, "exit")
    await remote.drain()  # the close report reaches the server: it closes the hedge
    await rig.step(remote, 3)

    engine = rig.engine.of(ticket)
    last = [(e[0], e[3]) if e[0] == "state" else (e[0], e[2].kind.value) for e in engine[-2:]]
    assert last == [("state", "CLOSED"), ("action", "close_hedge")], engine
    assert engine[-2][4] == "position closed (exit)"
    assert heard.events == engine  # CLOSED once, in the host's words, which are the server's
    assert rig.world.broker.positions() == []  # the hedge closed too
    # followed no more: closed there, and all of it told
    assert str(ticket) not in remote.store.get_value(f"remote:history:{ticket % 64}")
