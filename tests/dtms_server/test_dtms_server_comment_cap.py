"""A registration's ``comment`` is kept with the trade and shown in every answer about it:
a 60,000-character one was taken and echoed whole in each ``trade_info``, while a close's
``reason`` was capped at 64. Now a comment longer than ``limits.MAX_COMMENT_CHARS`` (256;
MetaTrader's holds 31) is kept cut to the cap, never refused (a refused registration
would leave the trade undefended for a label; a comment is often the broker position's,
which its sender cannot change). A real server on loopback with the real local engine
over the scripted market."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration

from dtms_plugin.server import limits
from dtms_plugin.server.service import default_strategy_factory

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client(make_client: Any) -> Client:
    """The local engine, which keeps the comment in the trade's record (``trade_info``)."""
    made: Client = await make_client(strategy_factory=default_strategy_factory)
    return made


@pytest.mark.parametrize("automatic", [False, True])
async def test_a_comment_past_the_cap_is_kept_cut_to_it(client: Client, automatic: bool) -> None:
    ticket = 81 + automatic
    body = registration(ticket, comment="c" * 60_000, automatic=automatic)
    resp = await client.post("/dtms/trade/enable", json=body)
    assert resp.status == 201, await resp.json()
    assert (await resp.json())["trade_info"]["comment"] == "c" * limits.MAX_COMMENT_CHARS
    again = await (await client.get(f"/dtms/trade/{ticket}")).json()
    assert again["trade_info"]["comment"] == "c" * limits.MAX_COMMENT_CHARS


async def test_a_comment_at_the_cap_and_the_hosts_reserved_ones_are_kept(
    client: Client,
) -> None:
    for ticket, comment in ((83, "c" * limits.MAX_COMMENT_CHARS), (84, f"DTMS_READD_{2**64 - 1}")):
        resp = await client.post("/dtms/trade/enable", json=registration(ticket, comment=comment))
        assert resp.status == 201, await resp.json()
        assert (await resp.json())["trade_info"]["comment"] == comment
