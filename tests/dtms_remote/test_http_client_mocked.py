"""Quick unit tests of RemoteApi's request building and answer parsing, with aioresponses
(through the aiohttp 3.14 compatibility shim). Network behaviour is tested on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from support.aioresponses_compat import compat_aioresponses
from yarl import URL

from dtms_plugin.http_client import TRANSIENT_ERRORS, RemoteApi, Reply, describe

BASE = "http://dtms.test:8001"


@pytest.fixture
async def client() -> AsyncIterator[RemoteApi]:
    c = RemoteApi(BASE + "/", token="tok", register_timeout=5.0, query_timeout=2.0)
    await c.open()
    yield c
    await c.close()


async def test_enable_posts_json_with_bearer_token(client: RemoteApi) -> None:
    with compat_aioresponses() as mocked:
        mocked.post(f"{BASE}/dtms/trade/enable", status=201, payload={"status": "registered"})
        reply = await client.enable({"ticket": 7, "symbol": "XAUUSD"})
        ((_, call),) = [(k, v) for k, v in mocked.requests.items()]
    body = '{"status": "registered"}'
    assert reply == Reply(201, {"status": "registered"}, body, "application/json")
    assert reply.ok
    assert call[0].kwargs["json"] == {"ticket": 7, "symbol": "XAUUSD"}
    session_headers = client._session.headers if client._session else {}
    assert session_headers["Authorization"] == "Bearer tok"


async def test_batch_query_joins_tickets(client: RemoteApi) -> None:
    with compat_aioresponses() as mocked:
        mocked.get(
            f"{BASE}/dtms/trades?tickets=1,2,30",
            payload={"trades": {"1": {"state": "HEDGED"}}, "unknown": [2, 30]},
        )
        reply = await client.trades([1, 2, 30])
        (key,) = mocked.requests
    assert key == ("GET", URL(f"{BASE}/dtms/trades?tickets=1,2,30"))
    assert reply.body["unknown"] == [2, 30]


async def test_error_message_comes_from_the_body(client: RemoteApi) -> None:
    with compat_aioresponses() as mocked:
        mocked.get(f"{BASE}/dtms/trade/8", status=404, payload={"error": "unknown", "ticket": 8})
        mocked.delete(
            f"{BASE}/dtms/trade/9",
            status=500,
            body="<html>\n oops\n</html>",
            content_type="text/html",
        )
        missing = await client.trade(8)
        broken = await client.unregister(9)
    assert (missing.status, missing.message, missing.ok) == (404, "unknown", False)
    assert (broken.body, broken.message) == (None, "text/html: '<html> oops </html>'")  # one line


async def test_connection_errors_propagate_for_the_caller_to_classify(client: RemoteApi) -> None:
    with compat_aioresponses() as mocked:
        mocked.post(f"{BASE}/dtms/trade/enable", exception=aiohttp.ServerDisconnectedError())
        with pytest.raises(TRANSIENT_ERRORS):
            await client.enable({"ticket": 1})


def test_describe_names_silent_exceptions() -> None:
    assert describe(TimeoutError()) == "TimeoutError"
    assert describe(ValueError("bad")) == "ValueError: bad"


async def test_client_refuses_use_when_closed() -> None:
    c = RemoteApi(BASE, token=None, register_timeout=1.0, query_timeout=1.0)
    with pytest.raises(RuntimeError, match="before open"):
        await c.trade(1)
