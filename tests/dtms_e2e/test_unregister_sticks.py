"""An unregistration (``DELETE /dtms/trade/{ticket}``) stands while a trading host with
the remote strategy holds the position on the same account: the host's automatic
re-registration from its broker's positions, at its next refresh, is answered 409
``trade unregistered`` and the host leaves the trade alone (it used to register it again
85 ms later, and DTMS managed it again); a registration by a program or a person (no
``automatic``) manages it again. A real server on loopback, a real remote host, real
stores in ``tmp_path``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from support.dtms_server_world import World, open_position, wavy_path

from dtms_plugin.client import AsyncDtmsClient
from hookspecs import Trade

from .test_remote_entries_real_server import Rig


async def _handed_one(rig: Rig) -> tuple[Any, Trade, str]:
    """The rig's remote host with one open position it handed to the running server, and
    the server's address."""
    remote = await rig.remote()
    position = rig.world.broker.position(open_position(rig.world))
    assert position is not None
    await remote.on_trade_executed(rig.host, position)
    await remote.drain()
    assert rig.server is not None
    return remote, position, str(rig.server.make_url("")).rstrip("/")


async def test_a_host_does_not_undo_an_unregistration(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rig = Rig(tmp_path, World({"XAUUSD": wavy_path(2000.0, 1100)}, visible=1000))
    await rig.start_server()
    try:
        remote, position, url = await _handed_one(rig)
        ticket = position.ticket
        async with AsyncDtmsClient(url) as dtms:
            assert await dtms.state(ticket) is not None
            assert await dtms.unregister(ticket) is True
            caplog.set_level(logging.INFO, "dtms_plugin")
            for _ in range(3):  # the host's refreshes: it finds the ticket unknown
                await remote.on_cycle(rig.host, rig.world.now())
                await remote.drain()
            assert await dtms.state(ticket) is None, "the host undid the unregistration"
            assert not remote.is_defensive(rig.host, ticket)
            assert "left alone" in caplog.text  # said at INFO, not an ERROR "dropped"
            again = await dtms.register(
                {"ticket": ticket, "symbol": "XAUUSD", "direction": "buy",
                 "entry": position.entry_price, "volume": position.volume}
            )  # fmt: skip
            assert again.outcome == "registered", again
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{url}/dtms/trade/{ticket}") as resp,
        ):
            assert resp.status == 200
    finally:
        await rig.stop()


async def test_a_host_refused_as_unregistered_asks_no_more_even_after_restarts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """After the 409 ``trade unregistered`` the host drops the ticket from its open set,
    persisted: it no longer asks for it on every refresh, says no false WARNING that it
    "registered again" what the server refused, and a restart sends no registration of
    it again (it sent one more, refused, after each)."""
    rig = Rig(tmp_path, World({"XAUUSD": wavy_path(2000.0, 1100)}, visible=1000))
    await rig.start_server()
    try:
        remote, position, url = await _handed_one(rig)
        ticket = position.ticket
        async with AsyncDtmsClient(url) as dtms:
            assert await dtms.unregister(ticket) is True
        caplog.set_level(logging.INFO, "dtms_plugin")
        for round_ in range(3):  # a run, then two restarts of the host
            for _ in range(3):
                await remote.on_cycle(rig.host, rig.world.now())
                await remote.drain()
            await remote.shutdown(rig.host)
            rig.remotes.remove(remote)
            if round_ < 2:
                remote = await rig.remote()
        messages = [r.getMessage() for r in caplog.records]
        assert not [m for m in messages if "no longer knows" in m], messages
        refused = [m for m in messages if "left alone" in m]
        assert len(refused) == 1, refused  # one registration refused, said once at INFO
        assert ticket not in remote._open
        async with AsyncDtmsClient(url) as dtms:
            assert await dtms.state(ticket) is None
    finally:
        await rig.stop()
