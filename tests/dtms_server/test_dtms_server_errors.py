"""Errors are JSON and name what was wrong: bad JSON, each bad field, 404, 405, 413, 500."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration, service_of

Client = TestClient[web.Request, web.Application]


async def test_invalid_json_is_400(client: Client) -> None:
    resp = await client.post(
        "/dtms/trade/enable", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert resp.status == 400
    body = await resp.json()
    assert body["error"] == "invalid JSON"
    assert body["field"] == "body"


@pytest.mark.parametrize("payload", [b"", b"[1, 2]", b'"text"', b"\xff\xfe"])
async def test_a_body_that_is_not_an_object_is_400_naming_body(
    client: Client, payload: bytes
) -> None:
    resp = await client.post("/dtms/trade/enable", data=payload)
    assert resp.status == 400
    assert (await resp.json())["field"] == "body"


_MISSING = object()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ticket", _MISSING),
        ("ticket", 0),
        ("ticket", -3),
        ("ticket", "7a"),
        ("ticket", 7.5),
        ("ticket", True),
        ("ticket", None),
        ("symbol", ""),
        ("symbol", "  "),
        ("symbol", 5),
        ("symbol", _MISSING),
        ("direction", "long"),
        ("direction", None),
        ("entry", 0),
        ("entry", -1.0),
        ("entry", "2000x"),
        ("entry", _MISSING),
        ("volume", -0.1),
        ("volume", ""),
        ("volume", float("inf")),
        ("stop_loss", -5.0),
        ("stop_loss", "x"),
        ("take_profit", -1),
        ("opened_at", "yesterday"),
        ("opened_at", -1),
        ("magic", "7.5"),
        ("comment", 5),
    ],
)
async def test_each_bad_field_is_named(client: Client, field: str, value: Any) -> None:
    body = registration(7)
    if value is _MISSING:
        body.pop(field, None)
    else:
        body[field] = value
    import json

    resp = await client.post(
        "/dtms/trade/enable",
        data=json.dumps(body),  # allow_nan: inf goes out as Infinity, which Python reads
        headers={"Content-Type": "application/json"},
    )
    assert resp.status == 400
    error = await resp.json()
    assert error["error"] == "invalid field"
    assert error["field"] == field
    assert error["message"].startswith(f"{field}:")
    assert (await client.get("/dtms/trade/7")).status == 404  # nothing was registered


async def test_conflicting_entry_and_entry_price_is_400(client: Client) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(7, entry_price=1999.0))
    assert resp.status == 400
    assert (await resp.json())["field"] == "entry_price"


async def test_matching_entry_and_entry_price_is_accepted(client: Client) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(7, entry_price=2000.0))
    assert resp.status == 201


@pytest.mark.parametrize("path", ["/dtms/trade/abc", "/dtms/trade/0", "/dtms/trade/-1"])
async def test_a_bad_ticket_in_the_path_is_400(client: Client, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 400
    assert (await resp.json())["field"] == "ticket"


async def test_unknown_path_is_404_json(client: Client) -> None:
    resp = await client.get("/nope")
    assert resp.status == 404
    body = await resp.json()
    assert (body["error"], body["path"], body["success"]) == ("not found", "/nope", False)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/dtms/trade/7", ["DELETE", "GET", "HEAD"]),
        ("PUT", "/dtms/trades", ["GET", "HEAD", "POST"]),
        ("GET", "/dtms/trade/7/closed", ["POST"]),
        ("DELETE", "/health", ["GET", "HEAD"]),
    ],
)
async def test_wrong_method_is_405_json_with_allow(
    client: Client, method: str, path: str, allowed: list[str]
) -> None:
    resp = await client.request(method, path)
    assert resp.status == 405
    body = await resp.json()
    assert body["error"] == "method not allowed"
    assert body["allowed"] == allowed
    assert sorted(m.strip() for m in resp.headers["Allow"].split(",")) == allowed


async def test_post_enable_with_get_only_routes_is_405(client: Client) -> None:
    resp = await client.put("/dtms/trade/enable", json=registration(7))
    assert resp.status == 405
    # the path belongs to the registration route alone: GET and DELETE are the methods of
    # /dtms/trade/{ticket}, which "enable" is not
    assert (await resp.json())["allowed"] == ["POST"]


async def test_body_too_large_is_413_json(make_client: Any) -> None:
    client = await make_client(max_body_bytes=1024)
    resp = await client.post("/dtms/trade/enable", json=registration(7, comment="x" * 4096))
    assert resp.status == 413
    assert (await resp.json())["error"] == "request body too large"


async def test_a_batch_too_large_names_both_of_its_limits(make_client: Any) -> None:
    """500 small registrations (69 KB) got aiohttp's words alone: nothing said that a
    batch also takes at most 200 trades, nor what to do."""
    client = await make_client(max_body_bytes=4096)
    trades = [registration(1000 + i) for i in range(100)]
    resp = await client.post("/dtms/trades", json={"trades": trades})
    assert resp.status == 413
    body = await resp.json()
    assert body["error"] == "request body too large" and body["field"] == "body"
    assert body["message"] == (  # one sentence, not aiohttp's "… exceeded.: a batch …"
        "the body is larger than 4,096 bytes: a batch takes at most 200 trades and 4,096 bytes;"
        " send them in several requests"
    )


async def test_an_unexpected_error_is_500_json_without_details(client: Client) -> None:
    service = service_of(client)

    def boom(ticket: int) -> None:
        raise RuntimeError("secret internals")

    service.trade = boom
    resp = await client.get("/dtms/trade/7")
    assert resp.status == 500
    body = await resp.json()
    assert body["error"] == "internal error"
    assert "secret" not in await resp.text()


async def test_no_wildcard_cors_anywhere(client: Client) -> None:
    responses = [
        await client.get("/health"),
        await client.get("/dtms/status", headers={"Origin": "http://evil.example"}),
        await client.options("/dtms/status", headers={"Origin": "http://evil.example"}),
        await client.get("/nope"),
    ]
    for resp in responses:
        assert "Access-Control-Allow-Origin" not in resp.headers
