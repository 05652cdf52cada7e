"""A registration's ``comment`` is kept with the trade and shown in every answer about it:
a 60,000-character one was taken (201) and echoed in each ``trade_info``, while a close's
``reason`` was capped at 64. Now a comment longer than ``limits.MAX_COMMENT_CHARS`` (256;
MetaTrader's holds 31) is a 400 naming ``comment`` and the cap; a trading host's own
registration (``automatic: true``), whose comment is its broker position's, is kept with
the comment cut to the cap rather than refused, which would leave the position
undefended. A real server on loopback with the real local engine over the scripted
market."""

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


async def test_a_comment_past_the_cap_is_a_400_naming_comment_and_the_cap(
    client: Client,
) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(81, comment="c" * 60_000))
    body = await resp.json()
    assert (resp.status, body["field"]) == (400, "comment"), body
    assert body["message"].startswith("comment: at most 256 characters, got 60000: 'ccc")
    assert len(body["message"]) < 200  # the comment is not echoed whole
    assert (await client.get("/dtms/trade/81")).status == 404  # nothing kept


async def test_a_comment_at_the_cap_and_the_hosts_reserved_ones_are_kept(
    client: Client,
) -> None:
    for ticket, comment in ((82, "c" * limits.MAX_COMMENT_CHARS), (83, f"DTMS_READD_{2**64 - 1}")):
        resp = await client.post("/dtms/trade/enable", json=registration(ticket, comment=comment))
        assert resp.status == 201, await resp.json()
        assert (await resp.json())["trade_info"]["comment"] == comment


async def test_a_trading_hosts_own_registration_is_kept_with_its_comment_cut(
    client: Client,
) -> None:
    body = registration(84, comment="c" * 300, automatic=True)
    resp = await client.post("/dtms/trade/enable", json=body)
    assert resp.status == 201, await resp.json()
    assert (await resp.json())["trade_info"]["comment"] == "c" * limits.MAX_COMMENT_CHARS
