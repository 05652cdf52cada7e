"""The client against what a real deployment can put at its URL, and used as programs
use it: a proxy's HTML page answering 200 (not "registered"), error statuses from
``health``, a batch whose comments make it
too large for the server, a token read from a file with its newline, and ``close``
while other threads wait on calls or make new ones."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from aiohttp import web
from aiohttp.helpers import TimeoutHandle
from aiohttp.test_utils import TestServer

from dtms_plugin.client import AsyncDtmsClient, DtmsClient, DtmsError
from dtms_plugin.client.http import Connection

from .conftest import Served


def order(ticket: int, comment: str = "") -> dict[str, Any]:
    return {"ticket": ticket, "symbol": "XAUUSD", "direction": "buy", "entry": 2000.0,
            "volume": 0.1, "stop_loss": 1990.0, "comment": comment}  # fmt: skip


async def page_server(aiohttp_server: Any, status: int = 200) -> str:
    """Whatever answers every path with an HTML page (a proxy, a wrong port)."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html>proxy error</html>", content_type="text/html",
                             status=status)  # fmt: skip

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    server: TestServer = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def test_a_page_that_is_not_dtms_is_never_registered(aiohttp_server: Any) -> None:
    url = await page_server(aiohttp_server)
    async with AsyncDtmsClient(url) as client:
        result = await client.register(order(1))
        assert (result.ok, result.outcome, result.status) == (False, "refused", 200)
        assert result.message.startswith(f"not a DTMS server at {url}/dtms/trade/enable")
        for call in (client.state(1), client.status(), client.trades(), client.states([1])):
            with pytest.raises(DtmsError, match=f"^not a DTMS server at {url}/dtms/"):
                await call


async def test_health_raises_on_an_error_status(aiohttp_server: Any) -> None:
    async def health(request: web.Request) -> web.Response:
        return web.json_response({"error": "boom"}, status=500)

    app = web.Application()
    app.router.add_get("/health", health)
    server: TestServer = await aiohttp_server(app)
    async with AsyncDtmsClient(str(server.make_url(""))) as client:
        with pytest.raises(DtmsError, match="GET /health: 500 boom"):
            await client.health()


async def test_a_batch_too_large_for_the_server_goes_in_smaller_requests(
    served: Served,
) -> None:
    """200 registrations with 256-character comments (the longest the server takes) are
    over the server's 64 KiB in one request; each alone is fine, so none may be refused
    for the batch's size."""
    async with AsyncDtmsClient(served.url) as client:
        results = await client.register_many([order(t, "x" * 256) for t in range(100, 300)])
    assert {r.outcome for r in results} == {"registered"} and len(results) == 200


def test_a_token_with_a_trailing_newline_is_read_without_it(served: Served) -> None:
    assert AsyncDtmsClient(served.url, token="s3cret\n").connection._token == "s3cret"
    with pytest.raises(ValueError, match="token: holds a control character"):
        AsyncDtmsClient(served.url, token="s3c\nret")


def test_close_ends_a_call_another_thread_waits_on(dead_url: str) -> None:
    """A registration retrying against nothing (1, 2, 4 s) when another thread closes
    the client: it ends at once with an error instead of waiting forever."""
    client = DtmsClient(dead_url)
    outcome: list[object] = []

    def work() -> None:
        try:
            outcome.append(client.register(order(5)))
        except RuntimeError as exc:
            outcome.append(exc)

    worker = threading.Thread(target=work)
    worker.start()
    time.sleep(0.3)  # in its first back-off
    client.close()
    worker.join(timeout=5)
    assert not worker.is_alive()
    assert isinstance(outcome[0], RuntimeError) and "closed while" in str(outcome[0])


def _call_until(client: DtmsClient, stop: threading.Event, errors: list[str]) -> None:
    while not stop.is_set():
        try:
            client.register(order(5))
        except RuntimeError as exc:
            errors.append(type(exc).__name__)


def test_close_ends_every_thread_calling_meanwhile(dead_url: str) -> None:
    """Threads that call again the moment close() cancels their call (a bot's workers
    in a loop): a call handed over while close() was shutting down once started after
    the shutdown's cancelling, and the stopped loop left its caller waiting forever.
    Each now ends with DtmsClientUnusable, and close() itself returns."""
    for _ in range(3):
        client = DtmsClient(dead_url)
        stop = threading.Event()
        errors: list[str] = []
        workers = [
            threading.Thread(target=_call_until, args=(client, stop, errors), daemon=True)
            for _ in range(8)
        ]
        for worker in workers:
            worker.start()
        time.sleep(0.05)
        client.close()
        stop.set()
        for worker in workers:
            worker.join(timeout=5)
        assert [w for w in workers if w.is_alive()] == []
        assert set(errors) == {"DtmsClientUnusable"}


@pytest.mark.parametrize(
    "option", ["timeout", "register_timeout", "fresh_seconds", "last_known_seconds",
               "query_retry_seconds"],
)  # fmt: skip
@pytest.mark.parametrize("value", [-1, None, "2", float("nan"), float("inf"), True])
def test_an_option_that_is_no_number_of_seconds_is_refused_naming_it(
    option: str, value: object
) -> None:
    """A timeout of 0, -1 or None was no bound at all (is_defensive waited as long as the
    server did), and "2" failed later with a TypeError from inside aiohttp."""
    before = threading.active_count()
    with pytest.raises(ValueError, match=rf"^{option}: expected a number of seconds .*{value!r}"):
        DtmsClient("http://127.0.0.1:8001", **{option: value})
    assert threading.active_count() == before


def test_a_timeout_of_zero_is_refused_and_a_cache_span_of_zero_is_not() -> None:
    for option in ("timeout", "register_timeout"):
        with pytest.raises(ValueError, match=f"{option}: expected a number of seconds above 0"):
            AsyncDtmsClient("http://127.0.0.1:8001", **{option: 0})
    client = AsyncDtmsClient("http://127.0.0.1:8001", fresh_seconds=0, timeout=3)
    assert (client.fresh_seconds, client.timeout) == (0.0, 3.0)


def test_a_misspelt_option_of_the_sync_client_names_the_sync_client() -> None:
    """Its options were ``**options`` passed on: a type checker never saw them, and a typo
    was a TypeError naming ``AsyncDtmsClient``, a class the caller never used."""
    with pytest.raises(TypeError, match=r"^DtmsClient\.__init__\(\) got an unexpected .*'timeot'"):
        DtmsClient("http://127.0.0.1:8001", timeot=2)  # type: ignore[call-arg]
    with DtmsClient("http://127.0.0.1:8001", timeout=3, token="t") as client:
        assert client._client.timeout == 3.0  # each option still reaches the async client


@pytest.mark.parametrize("seconds", [5.0, 7.25])
async def test_a_bound_of_5_s_or_more_is_not_rounded_up_to_a_whole_second(seconds: float) -> None:
    """aiohttp rounds a bound of 5 s or more up to the next whole second of the loop's
    clock unless told not to: each 5 s try of a registration took 5 to 6 s, and
    ``unreachable`` came after 30 s where docs/client.md says 27 to 28.5. Read here from
    the deadline aiohttp itself sets for a request, without waiting for it."""
    limit = Connection("http://127.0.0.1:8001", token=None, timeout=seconds)._timeout
    loop = asyncio.get_running_loop()
    handle = TimeoutHandle(loop, limit.total, ceil_threshold=limit.ceil_threshold)
    before = loop.time()
    timer = handle.start()
    assert timer is not None
    assert timer.when() - before == pytest.approx(seconds, abs=0.005)
    handle.close()
