"""Input the original DTMS took and this server refused, on a real server on loopback:
numbers as text in exponent form (Python's text of a small float), ``type`` as MetaTrader's
number in text or its constant's name, ISO times without an offset (UTC, as every time of
the API), a close report with no body, and a monitor's cache buster on ``/health``."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration

from dtms_plugin.server.openapi import document

Client = TestClient[web.Request, web.Application]
_REGISTRATION = document()["components"]["schemas"]["Registration"]["properties"]


async def _registered(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    resp = await client.post("/dtms/trade/enable", json=body)
    answer = await resp.json()
    assert resp.status == 201, answer
    info: dict[str, Any] = answer["trade_info"]
    return info


async def test_numbers_as_text_in_exponent_form(client: Client) -> None:
    body = registration(11, entry="2.0005e3", take_profit="5.551115123125783e-17")
    info = await _registered(client, body)
    assert info["entry_price"] == 2000.5 and info["take_profit"] == 5.551115123125783e-17
    assert re.search(_REGISTRATION["take_profit"]["pattern"], "5.551115123125783e-17")
    refused = await client.post("/dtms/trade/enable", json=registration(12, entry="1e400"))
    assert (refused.status, (await refused.json())["field"]) == (400, "entry")


@pytest.mark.parametrize(
    ("sent", "direction"),
    [("0", "buy"), ("1", "sell"), ("POSITION_TYPE_BUY", "buy"), ("POSITION_TYPE_SELL", "sell")],
)
async def test_type_as_text_or_by_name(client: Client, sent: str, direction: str) -> None:
    body = {k: v for k, v in registration(21).items() if k != "direction"} | {"type": sent}
    if direction == "sell":
        body |= {"stop_loss": 2010.0, "take_profit": 1980.0}
    info = await _registered(client, body)
    assert info["direction"] == direction
    assert {"type": "string", "enum": ["0", "1", "POSITION_TYPE_BUY", "POSITION_TYPE_SELL"]} in (
        _REGISTRATION["type"]["anyOf"]
    )


async def test_an_iso_time_without_an_offset_is_utc(client: Client) -> None:
    info = await _registered(client, registration(31, opened_at="2024-03-04T09:30:00"))
    assert info["opened_at"] == "2024-03-04T09:30:00+00:00"
    naive = [t for t in _REGISTRATION["opened_at"]["anyOf"] if "UTC" in t.get("description", "")]
    assert re.search(naive[0]["pattern"], "2024-03-04T09:30:00")
    resp = await client.post("/dtms/trade/31/closed", json={"closed_at": "2024-03-04T10:00"})
    assert (await resp.json())["trade_info"]["closed_at"] == "2024-03-04T10:00:00+00:00"


@pytest.mark.parametrize("data", [b"", b"  \n"])
async def test_a_close_report_with_no_body_is_an_empty_one(client: Client, data: bytes) -> None:
    await _registered(client, registration(41))
    resp = await client.post(
        "/dtms/trade/41/closed", data=data, headers={"Content-Type": "application/json"}
    )
    body = await resp.json()
    assert resp.status == 200, body
    assert body["state"] == "CLOSED" and body["trade_info"]["close_reason"] == "closed"
    bare = await client.post("/dtms/trade/41/closed")  # no body, no content type
    assert bare.status == 200 and (await bare.json())["already_closed"] is True


async def test_health_ignores_a_monitors_cache_buster(client: Client) -> None:
    for url in ("/health?t=123", "/health?_=1700000000000&t=1&t=2"):
        resp = await client.get(url)
        assert resp.status == 200 and (await resp.json())["status"] == "healthy", url
