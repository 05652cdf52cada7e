"""The client's failures stay in its documented family (docs/client.md): a value it
cannot send is a TypeError naming the field, before anything is sent; a JSON answer
without what a DTMS server sends is a DtmsError naming the URL; a client that cannot
make calls here raises DtmsClientUnusable, a DtmsError and a RuntimeError at once."""

from __future__ import annotations

import asyncio
import gc
import warnings
from datetime import date
from fractions import Fraction
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support.dtms_server_world import registration

from dtms_plugin.client import AsyncDtmsClient, DtmsClient, DtmsClientUnusable, DtmsError

from .conftest import Served


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("comment", {1, 2}, "comment: a value of type set cannot be sent as JSON"),
        ("magic", b"12", "magic: a value of type bytes cannot be sent as JSON"),
        ("opened_at", date(2024, 1, 1), "opened_at: a date without a time of day"),
        (
            "extra",
            {"when": [1, object()]},
            r"extra\.when\[1\]: a value of type object cannot be sent",
        ),
    ],
)
async def test_a_value_json_cannot_carry_is_refused_naming_its_field(
    served: Served, field: str, value: object, said: str
) -> None:
    """It was a TypeError from deep inside aiohttp's encoder naming no field."""
    async with AsyncDtmsClient(served.url) as client:
        with pytest.raises(TypeError, match=f"^{said}"):
            await client.register(registration(70, **{field: value}))
        assert await client.state(70) is None  # nothing was sent


async def test_numbers_of_other_kinds_are_sent_as_numbers(served: Served) -> None:
    async with AsyncDtmsClient(served.url) as client:
        result = await client.register(registration(71, volume=Fraction(1, 2), magic=7))
    assert result.outcome == "registered"
    assert result.body["trade_info"]["volume"] == 0.5


async def test_a_json_answer_without_what_dtms_sends_is_an_error(aiohttp_server: Any) -> None:
    """Another service's JSON: trades() and actions() raised a bare KeyError, states()
    said every ticket unknown and is_defensive(t) False."""

    async def anything(request: web.Request) -> web.Response:
        return web.json_response({"success": True, "service": "not dtms"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", anything)
    server: TestServer = await aiohttp_server(app)
    url = str(server.make_url("")).rstrip("/")
    async with AsyncDtmsClient(url) as client:
        # state(1) returned it as the trade; status() returned it as the engine's status
        calls = [(client.trades(), "trades"), (client.actions(), "actions"),
                 (client.states([1]), "trades"), (client.is_defensive(1), "defensive"),
                 (client.state(1), "state"), (client.status(), "dtms_status")]  # fmt: skip
        for call, key in calls:
            with pytest.raises(DtmsError, match=f"{url}/dtms/.* answered without '{key}'"):
                await call


def test_a_closed_client_raises_a_dtms_error_that_is_a_runtime_error(served: Served) -> None:
    """After close() it was a RuntimeError only: ``except DtmsError`` let it through."""
    client = DtmsClient(served.url)
    client.close()
    for call in (lambda: client.is_defensive(1), lambda: client.register(registration(1))):
        with pytest.raises(DtmsError, match="used after close") as e:
            call()
        assert isinstance(e.value, RuntimeError) and isinstance(e.value, DtmsClientUnusable)


def test_a_client_in_a_second_event_loop_raises_a_dtms_error(dead_url: str) -> None:
    """register() there must raise, not answer "refused" as if a server had said no."""
    left_open = AsyncDtmsClient(dead_url)
    with pytest.raises(DtmsError):
        asyncio.run(left_open.status())  # the first loop: the session is made in it
    with pytest.raises(DtmsClientUnusable, match="bound to the event loop"):
        asyncio.run(left_open.register(registration(5)))
    with pytest.raises(DtmsClientUnusable, match="bound to the event loop"):
        asyncio.run(left_open.register_many([registration(5)]))
    del left_open  # its session, never closed, belongs to a loop gone: aiohttp says so
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


async def test_a_close_reason_the_server_would_refuse_is_refused_before_sending(
    served: Served,
) -> None:
    """A reason over 64 characters was the server's 400: the close was not recorded,
    and docs/client.md said only "reason (text, default closed)"."""
    async with AsyncDtmsClient(served.url) as client:
        assert (await client.register(registration(80))).ok
        for reason in ("x" * 65, "   "):
            with pytest.raises(ValueError, match=r"^reason: expected 1 to 64 characters"):
                await client.report_closed(80, reason, 5.0)
        assert (await client.state(80) or {}).get("state") == "HEALTHY"  # nothing sent
        closed = await client.report_closed(80, "y" * 64, 5.0)
    assert closed is not None and closed["state"] == "CLOSED"
