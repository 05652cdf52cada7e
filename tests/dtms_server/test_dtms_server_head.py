"""HEAD is answered wherever GET is (RFC 9110: uptime monitors and proxies probe with
it), with GET's status and headers and no body: on ``dtms serve``'s API and dashboard
routes, and on a trading host's routes. It was a 405 everywhere but ``/health``. Real
requests to a real server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import hosts_routes, registration

from dtms_plugin.server.openapi import document

Client = TestClient[web.Request, web.Application]
TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

PATHS = [
    "/health",
    "/dtms/trade/5",
    "/dtms/trade/999",
    "/dtms/trade/x",
    "/dtms/trades",
    "/dtms/trades?tickets=5,6",
    "/dtms/status",
    "/dtms/actions?ticket=5",
    "/openapi.json",
    "/",
    "/static/dashboard.js",
    "/metrics",
]


async def _same_as_get(client: Client, path: str, headers: dict[str, str]) -> int:
    get = await client.get(path, headers=headers)
    await get.read()
    head = await client.head(path, headers=headers)
    assert head.status == get.status, path
    names = ["Content-Type", "Content-Length", "WWW-Authenticate", "X-Frame-Options"]
    if path == "/metrics" and head.status == 200:  # its counters count the GET before
        names.remove("Content-Length")
        assert int(head.headers["Content-Length"]) > 0
    for name in names:
        assert head.headers.get(name) == get.headers.get(name), (path, name)
    assert await head.read() == b"", path
    return head.status


@pytest.mark.parametrize("path", PATHS)
async def test_head_answers_as_get_without_a_body(make_client: Any, path: str) -> None:
    client: Client = await make_client(token=TOKEN, dashboard=True)
    await client.post("/dtms/trade/enable", json=registration(5), headers=AUTH)
    assert await _same_as_get(client, path, AUTH) != 405
    if path not in ("/health", "/", "/static/dashboard.js"):  # public ones
        assert await _same_as_get(client, path, {}) == 401


async def test_head_on_a_raw_connection_gets_headers_only(make_client: Any) -> None:
    """What a monitor sends: the status line and headers come back, not one body byte
    (the connection is then reused for the next request)."""
    client: Client = await make_client(token="")
    url = client.make_url("/dtms/status")
    reader, writer = await asyncio.open_connection(url.host, url.port)
    try:
        host = f"Host: 127.0.0.1:{url.port}\r\n".encode()
        writer.write(b"HEAD /dtms/status HTTP/1.1\r\n" + host + b"\r\n")
        writer.write(b"GET /health HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n")
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    first, _, rest = raw.partition(b"\r\n\r\n")
    assert first.startswith(b"HTTP/1.1 200")
    assert b"content-length:" in first.lower()
    assert rest.startswith(b"HTTP/1.1 200")  # the next answer, right after HEAD's headers


def test_the_document_has_head_beside_every_get_without_a_body() -> None:
    for path, ops in document()["paths"].items():
        if "get" in ops:
            head = ops["head"]
            assert set(head["responses"]) == set(ops["get"]["responses"]), path
            assert all("content" not in r for r in head["responses"].values()), path


async def test_a_hosts_routes_answer_head_as_get(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    async with hosts_routes(aiohttp_client, tmp_path) as (client, _):
        for path in ("/dtms/trade/1", "/dtms/trades", "/dtms/status", "/dtms/actions", "/"):
            assert await _same_as_get(client, path, {}) == 200
        assert await _same_as_get(client, "/dtms/trade/9", {}) == 404
