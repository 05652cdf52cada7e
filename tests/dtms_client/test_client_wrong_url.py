"""A URL where no DTMS server answers the question is an error, never "not managed":
a proxy's ``/api`` prefix (the server's 404 for the path, not its ``trade not found``), a
page that is not DTMS JSON, a URL no request can use (docs/client.md). Only no answer at
all keeps the rules of a server that is down."""

from __future__ import annotations

import logging
from http.server import DEFAULT_ERROR_MESSAGE
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.dtms_server_world import registration

from dtms_plugin.client import AsyncDtmsClient, DtmsClient, DtmsError, DtmsUnreachable

from .conftest import Served


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_a_path_prefix_is_an_error_not_an_unmanaged_trade(served: Served) -> None:
    """With ``/api`` after the port, is_defensive said False, state None, unregister
    False, and report_closed None while the close was never recorded."""
    sleeps = Sleeps()
    async with (
        AsyncDtmsClient(served.url) as good,
        AsyncDtmsClient(served.url + "/api", sleep=sleeps) as wrong,
    ):
        assert (await good.register(registration(5))).outcome == "registered"
        for call in (
            wrong.is_defensive(5),
            wrong.state(5),
            wrong.report_closed(5, "tp", 25.0),
            wrong.unregister(5),
        ):
            with pytest.raises(DtmsError, match="without the DTMS server's 'trade not found'") as e:
                await call
            assert e.value.status == 404 and "/api/dtms/trade/5" in str(e.value)
            assert not isinstance(e.value, DtmsUnreachable)
        refused = await wrong.register(registration(6))
        assert (refused.outcome, refused.status) == ("refused", 404)
        assert sleeps.waits == []  # asked once each: no retry, no fallback
        kept = await good.state(5)
        assert kept is not None and kept["state"] != "CLOSED"  # the close was not taken
        # the server's own "trade not found" is still "not managed"
        assert await good.is_defensive(99) is False
        assert await good.state(99) is None
        assert await good.report_closed(99, "tp") is None
        assert await good.unregister(99) is False


async def _page(aiohttp_server: Any, status: int) -> str:
    """Whatever answers every path with an HTML page (a proxy, a wrong port)."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html>welcome</html>", content_type="text/html",
                            status=status)  # fmt: skip

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    server: TestServer = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


#: What Python's http.server answers a POST with (its DEFAULT_ERROR_MESSAGE): a page of
#: many lines, which the client put whole into ``message`` and its ERROR log line.
HTTP_SERVER_501 = DEFAULT_ERROR_MESSAGE % {
    "code": 501,
    "message": "Unsupported method ('POST')",
    "explain": "Server does not support this operation",
}


@pytest.mark.parametrize("status", [200, 404, 501])
async def test_a_web_servers_page_is_one_line_naming_the_url_and_what_came_back(
    aiohttp_server: Any, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    """``refused`` keeps the HTTP status, and its message and log line say, in one short
    line, that no DTMS server answers at the URL, with the status and the content type
    (docs/client.md, "What each call does")."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=HTTP_SERVER_501, content_type="text/html", status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    server: TestServer = await aiohttp_server(app)
    url = str(server.make_url("")).rstrip("/")
    caplog.set_level(logging.INFO, logger="dtms_plugin.client")
    async with AsyncDtmsClient(url, sleep=Sleeps()) as client:
        result = await client.register(registration(7))
        with pytest.raises(DtmsError) as raised:
            await client.is_defensive(7)
    said = f"not a DTMS server at {url}/dtms/trade/enable (HTTP {status}, text/html: '<!DOCTYPE"
    assert (result.outcome, result.status) == ("refused", status)
    assert result.message.startswith(said)
    assert "\n" not in result.message and len(result.message) < len(url) + 160
    shown = f"not a DTMS server at {url}/dtms/trade/7 (HTTP {status}, text/html: '<!DOCTYPE"
    assert str(raised.value).startswith(shown) and raised.value.status == status
    (line,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert line == f"DTMS registration of ticket 7 refused: {result.message}"


@pytest.mark.parametrize("status", [200, 404])
async def test_a_page_that_is_not_dtms_is_an_error(aiohttp_server: Any, status: int) -> None:
    """is_defensive caught the error, waited 0.5 s and answered False, as for a server
    that is down; a 404 page read as "not managed"."""
    sleeps = Sleeps()
    async with AsyncDtmsClient(await _page(aiohttp_server, status), sleep=sleeps) as client:
        for call in (client.is_defensive(7), client.state(7), client.unregister(7),
                     client.report_closed(7, "tp")):  # fmt: skip
            with pytest.raises(DtmsError, match="<html>welcome</html>") as e:
                await call
            assert not isinstance(e.value, DtmsUnreachable)
        result = await client.register(registration(7))
    assert (result.outcome, result.status) == ("refused", status)
    assert "<html>welcome</html>" in result.message
    assert sleeps.waits == []


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://127.0.0.1:99999", "Port out of range 0-65535"),
        ("http://[::1", "Invalid IPv6 URL"),
        ("http://127.0.0.1:0", "port 0: no server listens on it"),
        ("http://exa mple.com:8001", "'exa mple.com' is not a host name or address"),
        ("http://a..b:8001", "'a..b' is not a host name or address"),
    ],
)
def test_a_url_no_request_can_use_is_refused_when_the_client_is_made(url: str, said: str) -> None:
    """A port past 65535 or an IPv6 address without its bracket was taken, and every call
    then raised "the request could not be made: InvalidUrlClientError" (and ``dtms`` exit
    1): refused at once, as a URL without ``http://`` is, naming it."""
    for make in (AsyncDtmsClient, DtmsClient):
        with pytest.raises(ValueError) as refused:
            make(url)
        assert str(refused.value) == f"url: {url!r} is not a usable URL: {said}"


async def test_https_to_a_plain_http_server_is_said_once_as_a_tls_problem(
    served: Served,
) -> None:
    """It read as "server not running" and was retried four times over 7 s."""
    sleeps = Sleeps()
    url = served.url.replace("http://", "https://")
    async with AsyncDtmsClient(url, sleep=sleeps) as client:
        result = await client.register(registration(9))
        with pytest.raises(DtmsError, match="TLS with the server failed") as e:
            await client.is_defensive(9)
        assert not isinstance(e.value, DtmsUnreachable)
    assert result.outcome == "refused" and "https:// URL for a plain-HTTP server" in result.message
    assert sleeps.waits == []
