"""A registration's ``comment`` longer than ``limits.MAX_COMMENT_CHARS`` is kept cut to the
cap (tests/dtms_server/test_dtms_server_comment_cap.py); the 201 said nothing of it, so a
client read its comment as kept. Now the answer's ``warnings`` says it, a batch item's
too, and the document declares it; a comment kept whole adds no key, so the answer an
original client reads is unchanged. A real server on loopback with the real local
engine over the scripted market."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration

from dtms_plugin.server import limits
from dtms_plugin.server.service import default_strategy_factory

Client = TestClient[web.Request, web.Application]
CAP = limits.MAX_COMMENT_CHARS
NOTE = f"comment: cut to {CAP} characters (300 sent)"


@pytest.fixture
async def client(make_client: Any) -> Client:
    made: Client = await make_client(strategy_factory=default_strategy_factory)
    return made


async def test_a_cut_comment_is_said_in_the_answer(client: Client) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(91, comment="c" * 300))
    body = await resp.json()
    assert resp.status == 201, body
    assert body["warnings"] == [NOTE]
    assert body["trade_info"]["comment"] == "c" * CAP
    assert body["success"] is True and body["registered"] is True  # as before


async def test_a_comment_kept_whole_adds_no_key(client: Client) -> None:
    for ticket, comment in ((92, "c" * CAP), (93, "grid")):
        resp = await client.post("/dtms/trade/enable", json=registration(ticket, comment=comment))
        body = await resp.json()
        assert resp.status == 201, body
        assert "warnings" not in body
    resp = await client.post("/dtms/trade/enable", json=registration(94))
    assert "warnings" not in await resp.json()


async def test_a_batch_item_says_its_cut_comment(client: Client) -> None:
    trades = [registration(95, comment="c" * 300), registration(96, comment="short")]
    resp = await client.post("/dtms/trades", json={"trades": trades})
    body = await resp.json()
    assert resp.status == 200, body
    first, second = body["results"]
    assert first["warnings"] == [NOTE]
    assert "warnings" not in second


async def test_the_document_declares_the_warnings(client: Client) -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    doc = await (await client.get("/openapi.json")).json()
    schema = doc["components"]["schemas"]["Registered"]
    assert schema["properties"]["warnings"]["items"] == {"type": "string"}
    resp = await client.post("/dtms/trade/enable", json=registration(97, comment="c" * 300))
    validator = jsonschema_rs.validator_for(
        {"$ref": "#/components/schemas/Registered", "components": doc["components"]}
    )
    assert validator.is_valid(await resp.json())
