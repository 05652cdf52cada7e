"""Every error answer has the one shape docs/client.md promises: ``error``, ``message``,
``success: false``, and ``field`` naming the bad field of a 400, 409 or 413. Each
status a real server on loopback answers, from the app's own errors to aiohttp's (no
route, another method, a body too large), and those of a trading host's routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import dead_engine_client, registration, service_of

from dtms_plugin.local import LocalStrategy
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from dtms_plugin.web import routes

Client = TestClient[web.Request, web.Application]
TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def assert_error_shape(status: int, body: Any) -> None:
    assert isinstance(body, dict), body
    assert body["success"] is False, body
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["message"], str) and body["message"], body
    if status in (400, 409, 413):
        assert isinstance(body["field"], str) and body["field"], body


async def _closed_trade(client: Client, ticket: int, headers: dict[str, str] | None = None) -> None:
    enabled = await client.post("/dtms/trade/enable", json=registration(ticket), headers=headers)
    assert enabled.status == 201
    closed = await client.post(
        f"/dtms/trade/{ticket}/closed", json={"reason": "tp"}, headers=headers
    )
    assert closed.status == 200


@pytest.mark.parametrize(
    ("method", "path", "kw", "status", "field"),
    [
        ("GET", "/dtms/trade/abc", {}, 400, "ticket"),
        ("POST", "/dtms/trade/enable", {"data": b"{"}, 400, "body"),
        ("POST", "/dtms/trade/enable", {"json": registration(5, volume=-1)}, 400, "volume"),
        ("GET", "/dtms/trades?bogus=1", {}, 400, "bogus"),
        ("GET", "/dtms/status", {"headers": {}}, 401, None),
        ("GET", "/dtms/trade/5", {"headers": {**AUTH, "Authorization": "Bearer x"}}, 401, None),
        ("DELETE", "/dtms/trade/5", {"headers": {**AUTH, "Origin": "http://a.example"}}, 403, None),
        ("GET", "/nope", {}, 404, None),
        ("GET", "/dtms/trade/999", {}, 404, None),
        ("DELETE", "/dtms/trade/999", {}, 404, None),
        ("POST", "/dtms/trade/999/closed", {"json": {}}, 404, None),
        ("PUT", "/dtms/trades", {}, 405, None),
        ("GET", "/dtms/trade/enable", {}, 405, None),
        ("DELETE", "/dtms/trade/41", {}, 409, "ticket"),
        (
            "POST",
            "/dtms/trade/enable",
            {"json": registration(43, direction="sell")},
            409,
            "direction",
        ),
        ("POST", "/dtms/trade/enable", {"json": registration(6, comment="x" * 4096)}, 413, "body"),
    ],
)
async def test_each_error_of_the_server_has_the_documented_shape(
    make_client: Any, method: str, path: str, kw: dict[str, Any], status: int, field: str | None
) -> None:
    client: Client = await make_client(token=TOKEN, max_body_bytes=1024)
    kw = {"headers": AUTH, **kw}
    if status == 409:  # a CLOSED trade (refused an unregistration), a live bought one
        await _closed_trade(client, 41, AUTH)
        await client.post("/dtms/trade/enable", json=registration(43), headers=AUTH)
    resp = await client.request(method, path, **kw)
    assert resp.status == status, await resp.text()
    body = await resp.json()
    assert_error_shape(status, body)
    if field is not None:
        assert body["field"] == field


async def test_a_closed_trade_refused_unregistration_says_why(client: Client) -> None:
    await _closed_trade(client, 42)
    resp = await client.delete("/dtms/trade/42")
    body = await resp.json()
    assert (resp.status, body["error"], body["field"], body["ticket"]) == (
        409, "trade closed", "ticket", 42
    )  # fmt: skip
    assert "CLOSED" in body["message"]


async def test_a_405_and_a_404_say_what_was_asked(client: Client) -> None:
    resp = await client.put("/dtms/trades")
    body = await resp.json()
    assert "GET" in body["allowed"] and "POST" in body["allowed"]
    assert "PUT /dtms/trades" in body["message"]
    missing = await (await client.get("/nope")).json()
    assert missing["path"] == "/nope" and "/nope" in missing["message"]


async def test_a_503_and_a_500_have_the_shape_too(make_client: Any) -> None:
    client: Client = await dead_engine_client(make_client)
    resp = await client.post("/dtms/trade/enable", json=registration(7))
    assert resp.status == 503
    assert_error_shape(503, await resp.json())

    def boom(ticket: int) -> None:
        raise RuntimeError("secret internals")

    service_of(client).trade = boom
    crashed = await client.get("/dtms/trade/7")
    assert crashed.status == 500
    assert_error_shape(500, await crashed.json())


async def test_a_hosts_routes_answer_errors_in_the_same_shape(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    settings = DtmsSettings(state_dir=str(tmp_path / "state"))
    with Store(tmp_path / "dtms") as store:
        app = web.Application()
        app.add_routes(routes(LocalStrategy(settings, store), settings))
        client = await aiohttp_client(app)
        for method, path, status in [
            ("GET", "/dtms/trade/9", 404),
            ("GET", "/dtms/trade/x", 400),
            ("POST", "/dtms/trade/enable", 501),
            ("DELETE", "/dtms/trade/9", 501),
            ("GET", "/dtms/actions?limit=x", 400),
        ]:
            resp = await client.request(method, path)
            assert resp.status == status, (method, path)
            assert_error_shape(status, await resp.json())
