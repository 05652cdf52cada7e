"""Hostile input never reaches a 500: each is a 400 naming the field, and the OpenAPI
document says exactly what the server enforces (docs/architecture.md §9)."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_schema import errors
from support.dtms_server_world import registration

from dtms_plugin.server import ServerSettings, create_app
from dtms_plugin.server.openapi import document
from hookspecs import MAX_REQUEST_LINE_BYTES
from hostapp.web import app_runner

Client = TestClient[web.Request, web.Application]
JSON = {"Content-Type": "application/json"}


async def _post(client: Client, text: str, headers: dict[str, str] = JSON) -> tuple[int, Any]:
    resp = await client.post("/dtms/trade/enable", data=text.encode(), headers=headers)
    return resp.status, await resp.json()


def _body(**fields: str) -> str:
    """A registration as JSON text, with some values spliced in as raw JSON."""
    text = json.dumps(registration(7))
    for name, raw in fields.items():
        text = re.sub(rf'"{name}": [^,}}]+', f'"{name}": {raw}', text)
        if f'"{name}"' not in text:
            text = text[:-1] + f', "{name}": {raw}}}'
    return text


@pytest.mark.parametrize("depth", [33, 1000, 30_000])
async def test_deep_nesting_is_400_naming_body(client: Client, depth: int) -> None:
    status, body = await _post(client, '{"ticket": ' + "[" * depth + "]" * depth + "}")
    assert status == 400
    assert body["field"] == "body"
    assert "nested" in body["message"]


async def test_brackets_inside_strings_do_not_count_as_nesting(client: Client) -> None:
    # 200 brackets: far past the depth of 32, within a comment's 256 characters
    status, _ = await _post(client, _body(comment=json.dumps("[" * 200 + '\\"{')))
    assert status == 201


@pytest.mark.parametrize("charset", ["x-no-such-codec", "rot13", "base64", "zlib"])
async def test_an_unknown_or_non_text_charset_is_400_naming_content_type(
    client: Client, charset: str
) -> None:
    headers = {"Content-Type": f"application/json; charset={charset}"}
    status, body = await _post(client, _body(), headers)
    assert status == 400
    assert body["field"] == "Content-Type"


async def test_utf16_json_is_read(client: Client) -> None:
    resp = await client.post(
        "/dtms/trade/enable",
        data=_body().encode("utf-16"),
        headers={"Content-Type": "application/json; charset=utf-16"},
    )
    assert resp.status == 201


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("entry", "1" + "0" * 400),
        ("entry", "1e400"),
        ("volume", "1" + "0" * 20),
        ("stop_loss", "-" + "9" * 5000),
        ("ticket", "1" + "0" * 5000),
        ("ticket", str(2**64)),
        ("ticket", '"' + "9" * 5000 + '"'),
        ("magic", "1" + "0" * 5000),
        ("magic", str(2**64)),
        ("take_profit", "1" + "0" * 4400 + ".5"),
    ],
)
async def test_huge_numbers_are_400_naming_the_field(client: Client, field: str, raw: str) -> None:
    status, body = await _post(client, _body(**{field: raw}))
    assert status == 400, body
    assert body["field"] == field
    assert len(body["message"]) < 200  # the value is not echoed whole


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "x" * 10_000]
)
async def test_opened_at_out_of_range_is_400_naming_it(client: Client, when: str) -> None:
    status, body = await _post(client, _body(opened_at=json.dumps(when)))
    assert status == 400
    assert body["field"] == "opened_at"


async def test_integral_floats_are_integers_as_json_schema_says(client: Client) -> None:
    status, body = await _post(client, _body(ticket="7.0", magic="3.0"))
    assert status == 201, body
    assert body["ticket"] == 7


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT", "PATCH"])
async def test_enable_with_another_method_is_405_allowing_post(client: Client, method: str) -> None:
    resp = await client.request(method, "/dtms/trade/enable")
    assert resp.status == 405
    assert resp.headers["Allow"] == "POST"
    body = await resp.json()
    doc = document()
    assert errors(body, doc["paths"]["/dtms/trade/enable"]["post"]["responses"]["405"]
                  ["content"]["application/json"]["schema"], doc) == []  # fmt: skip


async def test_413_is_documented_and_matches(make_client: Any) -> None:
    client = await make_client(max_body_bytes=1024)
    resp = await client.post("/dtms/trade/enable", json=registration(7, comment="x" * 4096))
    assert resp.status == 413
    doc = document()
    response = doc["paths"]["/dtms/trade/enable"]["post"]["responses"]["413"]
    assert errors(await resp.json(), response["content"]["application/json"]["schema"], doc) == []


def _param_definition(path: str, name: str) -> dict[str, Any]:
    op = document()["paths"][path]["get"]
    found: dict[str, Any] = next(p for p in op["parameters"] if p["name"] == name)
    return found


def _param(path: str, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = _param_definition(path, name)["schema"]
    return schema


async def test_the_path_ticket_bounds_are_the_documented_ones(client: Client) -> None:
    top = _param("/dtms/trade/{ticket}", "ticket")["maximum"]
    assert (await client.get(f"/dtms/trade/{top}")).status == 404  # valid, unknown
    assert (await client.get(f"/dtms/trade/{top + 1}")).status == 400
    assert (await client.get(f"/dtms/trade/{'9' * 5000}")).status == 400
    assert _param("/dtms/trade/{ticket}", "ticket")["minimum"] == 1


async def test_limit_above_1000_is_accepted_and_the_document_says_so(client: Client) -> None:
    schema = _param("/dtms/actions", "limit")
    assert "maximum" not in schema and schema["minimum"] == 1
    for limit in ("1001", "9" * 5000):
        assert (await client.get(f"/dtms/actions?limit={limit}")).status == 200
    assert (await client.get("/dtms/actions?limit=0")).status == 400


@pytest.mark.parametrize(
    ("tickets", "valid"),
    [("", True), (",", False), ("1,,2", True), (" 3 ,", True), ("0", False), ("a", False),
     ("1," + "9" * 20, False), ("1," + str(2**64 - 1), True), ("1,2,3", True), ("1 2", True),
     ("1 x", False)],
)  # fmt: skip
async def test_the_tickets_list_is_valid_exactly_when_the_document_says(
    client: Client, tickets: str, valid: bool
) -> None:
    parameter = _param_definition("/dtms/trades", "tickets")
    documented = bool(re.search(parameter["schema"]["pattern"], tickets)) or (
        tickets == "" and parameter["allowEmptyValue"]  # empty: not given, every trade
    )
    assert documented is valid
    resp = await client.get("/dtms/trades", params={"tickets": tickets})
    assert resp.status == (200 if valid else 400)


@pytest.mark.parametrize(
    ("magic", "valid"),
    [("0", True), ("-0", True), ("+240617", True), (str(2**64 - 1), True),
     (str(2**64), False), (" 00" + str(2**64 - 1), True), (str(-(2**63)), True),
     (str(-(2**63) - 1), False), ("9" * 19, True), ("9" * 20, False), ("1 2", False),
     ("", False), ("1.0", False)],
)  # fmt: skip
async def test_a_magic_string_is_valid_exactly_when_the_document_says(
    client: Client, magic: str, valid: bool
) -> None:
    """MetaTrader's magic numbers reach 20 digits: the document's pattern bounds a magic
    string as the parser does, so neither refuses what the other takes."""
    pattern = document()["components"]["schemas"]["Registration"]["properties"]["magic"]
    assert bool(re.search(pattern["pattern"], magic)) is valid
    resp = await client.post("/dtms/trade/enable", json=registration(812, magic=magic))
    assert resp.status == (201 if valid else 400), await resp.text()
    if valid:  # given back, so the next case registers ticket 812 anew
        assert (await client.delete("/dtms/trade/812")).status == 200


def test_the_registration_schema_states_every_bound() -> None:
    props = document()["components"]["schemas"]["Registration"]["properties"]
    assert props["ticket"]["minimum"] == 1 and props["ticket"]["maximum"] == 2**64 - 1
    side = props["direction"]["anyOf"][0]["pattern"]  # or null beside type
    assert re.search(side, " SeLL ")
    assert not re.search(side, "long")
    assert not re.search(props["symbol"]["pattern"], "   ")
    assert (
        props["entry"]["exclusiveMinimum"] == 0 and props["volume"]["anyOf"][0]["maximum"] == 1e12
    )
    assert document(symbols=["XAUUSD"])["components"]["schemas"]["Registration"]["properties"][
        "symbol"
    ]["enum"] == ["XAUUSD"]


async def _raw(port: int, request: bytes) -> tuple[bytes, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    return head, payload


async def test_the_request_line_limit_is_the_documented_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """aiohttp answers an over-long request line before any middleware; the host's runner
    (the one dtms serve runs) makes it JSON, logs the client's mistake in one line (one
    per episode), and reads lines up to MAX_REQUEST_LINE_BYTES, which the document
    names: it said 8190 bytes while a 50 KB list of tickets was answered."""
    app = create_app(ServerSettings(token=""))
    app.cleanup_ctx.clear()  # no store, broker or engine: the requests never reach them
    runner = app_runner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    host = b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    try:
        tickets = ",".join(str(10**17 + n) for n in range(5000)).encode()  # the most asked
        target = b"/dtms/trades?tickets=" + tickets
        assert len(b"GET " + target + host.split(b"\r\n")[0]) < MAX_REQUEST_LINE_BYTES
        head, _ = await _raw(port, b"GET " + target + host)
        assert head.split(b"\r\n")[0].split()[1] != b"400"  # read: 503 here, no engine
        with caplog.at_level("INFO", logger="hostapp.web"):
            over = b"GET /" + b"a" * MAX_REQUEST_LINE_BYTES + host
            head, payload = await _raw(port, over)
    finally:
        await runner.cleanup()
    assert head.split(b"\r\n")[0].split()[1] == b"400"
    assert b"application/json" in head
    body = json.loads(payload)
    assert body["error"] == "bad request" and str(MAX_REQUEST_LINE_BYTES) in body["message"]
    assert f"over {MAX_REQUEST_LINE_BYTES} bytes" in document()["info"]["description"]
    (logged,) = [r for r in caplog.records if "refused" in r.getMessage()]
    assert logged.levelname == "WARNING" and logged.exc_info is None
    assert logged.getMessage().startswith(
        "requests refused before any app saw them (HTTP 400) from 127.0.0.1: "
    )


@pytest.mark.parametrize("query", ["ticket=%201", "limit=%20", "ticket=1%20"])
async def test_a_spaced_query_integer_is_400_as_documented(client: Client, query: str) -> None:
    """An empty value is a parameter not given (test_dtms_server_empty_query.py); one of
    spaces, or with spaces around the digits, is no integer."""
    resp = await client.get(f"/dtms/actions?{query}")
    assert resp.status == 400
    assert (await resp.json())["field"] == query.split("=")[0]
