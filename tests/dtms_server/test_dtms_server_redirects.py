"""The trailing-slash redirect (``/health/`` → 308 ``/health``) on a real server, with
request lines sent byte for byte (a client library would normalise them): it never sends
a browser to another site, and it keeps the query as the client wrote it."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

Client = TestClient[web.Request, web.Application]


async def raw_get(client: Client, target: str) -> tuple[int, dict[str, str]]:
    """``GET target`` as these very bytes; the status and the headers of the answer."""
    assert client.server.port is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    try:
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        head = (await reader.read()).split(b"\r\n\r\n", 1)[0].decode("latin-1")
    finally:
        writer.close()
    status_line, *lines = head.split("\r\n")
    assert status_line.startswith("HTTP/1.1 "), head
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers


@pytest.mark.parametrize(
    "target",
    ["/%2fevil.example/health/", "/%2F%2Fevil.example/health/", "//evil.example/health/",
     "/%5cevil.example/health/", "/\\evil.example/health/"],
)  # fmt: skip
async def test_a_path_that_would_leave_the_site_is_not_redirected(
    make_client: object, target: str
) -> None:
    """``Location: //evil.example/health`` is evil.example's address to a browser; the
    token is not asked first, so any link could send the trader there."""
    client = await make_client(token="t0ken")  # type: ignore[operator]
    status, headers = await raw_get(client, target)
    assert status in (401, 404) and "Location" not in headers, (target, status, headers)


async def test_the_query_is_kept_as_sent_and_nothing_fails(
    make_client: object, caplog: pytest.LogCaptureFixture
) -> None:
    """A decoded ``%0d%0a`` cannot go into a header (the answer failed, a traceback),
    and a decoded ``%26`` would split one value in two."""
    client = await make_client(token="t0ken")  # type: ignore[operator]
    with caplog.at_level(logging.ERROR):
        status, headers = await raw_get(client, "/health/?a=b%0d%0aX:y&c=%26&d=%2f")
        assert (status, headers.get("Location")) == (308, "/health?a=b%0d%0aX:y&c=%26&d=%2f")
        status, headers = await raw_get(client, "/dtms/status//?x=1")
        assert (status, headers.get("Location")) == (308, "/dtms/status?x=1")
    assert "X" not in headers and not caplog.records, caplog.text
