"""Errors below the routes answer in the documented error shape (docs/client.md,
"Errors"): a body of a Content-Encoding the server does not decode is a 415 naming
``Content-Encoding`` (an unknown one was read as plain bytes; ``br`` was aiohttp's
HTTP/1.0 400 telling the client to install Brotli), and what aiohttp refuses before the
app sees it (a bad method, version or header) names the request line or the headers in a
message of one line (it was aiohttp's multi-line text with a caret under the byte)."""

from __future__ import annotations

import contextlib
import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.compression_utils import HAS_BROTLI
from aiohttp.test_utils import TestClient
from dtms_server.test_dtms_server_hostile_input import _raw
from support.dtms_server_world import registration

from dtms_plugin.server import ServerSettings, create_app
from hostapp.web import app_runner

Client = TestClient[web.Request, web.Application]


@pytest.mark.parametrize("encoding", ["foo", "x-gzip", "gzip, deflate", "compress"])
async def test_an_encoding_the_server_does_not_decode_is_415_naming_it(
    client: Client, encoding: str
) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
    body = json.dumps(registration(7)).encode()
    resp = await client.post("/dtms/trade/enable", data=body, headers=headers)
    answer = await resp.json()
    assert resp.status == 415, answer
    assert (answer["error"], answer["field"], answer["success"]) == (
        "unsupported media type",
        "Content-Encoding",
        False,
    )
    assert repr(encoding) in answer["message"]
    assert (await client.get("/dtms/trade/7")).status == 404  # nothing was registered


@pytest.mark.parametrize("encoding", ["gzip", "identity", "GZIP"])
async def test_the_encodings_it_decodes_are_read(client: Client, encoding: str) -> None:
    body = json.dumps(registration(8)).encode()
    data = gzip.compress(body) if encoding.lower() == "gzip" else body
    headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
    resp = await client.post("/dtms/trade/enable", data=data, headers=headers)
    assert resp.status in (200, 201), await resp.text()


@contextlib.asynccontextmanager
async def _served() -> AsyncIterator[int]:
    """The app behind the host's runner (the one dtms serve runs), on a real port."""
    app = create_app(ServerSettings(token=""))
    app.cleanup_ctx.clear()  # no store, broker or engine: the requests never reach them
    runner = app_runner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def _answer(port: int, request: bytes) -> tuple[int, dict[str, Any]]:
    head, payload = await _raw(port, request)
    assert b"application/json" in head, head + payload
    return int(head.split()[1]), json.loads(payload)


HOST = b"Host: 127.0.0.1\r\n"
REFUSED = {
    "a bad method": (b"FOO\x01 / HTTP/1.1\r\n" + HOST + b"\r\n", "request line"),
    "a bad version": (b"GET /health HTTP/9.x\r\n" + HOST + b"\r\n", "request line"),
    "a control character in the target": (b"GET /he\x01lth HTTP/1.1\r\n" + HOST + b"\r\n",
                                          "request line"),
    "a NUL in a header": (b"GET /health HTTP/1.1\r\n" + HOST + b"X-A: b\x00c\r\n\r\n",
                          "headers"),
}  # fmt: skip


@pytest.mark.parametrize("request_bytes, field", REFUSED.values(), ids=list(REFUSED))
async def test_a_request_refused_before_the_app_names_its_part_in_one_line(
    request_bytes: bytes, field: str
) -> None:
    async with _served() as port:
        status, answer = await _answer(port, request_bytes)
    assert status == 400, answer
    assert (answer["error"], answer["field"], answer["success"]) == ("bad request", field, False)
    assert "\n" not in answer["message"] and "^" not in answer["message"], answer


@pytest.mark.skipif(HAS_BROTLI, reason="with Brotli installed, aiohttp decodes br")
async def test_br_without_brotli_is_415_naming_content_encoding_not_the_library() -> None:
    request = (
        b"POST /dtms/trade/enable HTTP/1.1\r\n" + HOST + b"Content-Type: application/json\r\n"
        b"Content-Encoding: br\r\nContent-Length: 2\r\n\r\n{}"
    )
    async with _served() as port:
        status, answer = await _answer(port, request)
    assert status == 415, answer
    assert (answer["error"], answer["field"]) == ("unsupported media type", "Content-Encoding")
    assert "'br'" in answer["message"] and "install" not in answer["message"].lower(), answer
