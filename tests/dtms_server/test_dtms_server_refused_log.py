"""Requests refused for the client's fault are said at INFO once per episode of one kind
from one client, then counted (dtms_plugin/server/refused.py): before, a client sending a
wrong token or bad JSON in a loop wrote nothing at INFO, and one line each would let it
fill the log. A real server; the count's line is asked of the episodes directly (it comes
a minute later)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from dtms_plugin.server.refused import Refusals

Client = TestClient[web.Request, web.Application]
MakeClient = Callable[..., Awaitable[Client]]


def _said(caplog: pytest.LogCaptureFixture, word: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.INFO and r.name == "dtms_plugin.server" and word in r.getMessage()
    ]


async def test_a_flood_of_refused_requests_is_one_info_line_per_kind(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = await make_client(token="s3cret")
    caplog.set_level(logging.INFO, logger="dtms_plugin.server")
    wrong = {"Authorization": "Bearer nope"}
    good = {"Authorization": "Bearer s3cret", "Content-Type": "application/json"}
    for _ in range(30):
        assert (await client.get("/dtms/status", headers=wrong)).status == 401
        resp = await client.post("/dtms/trade/enable", data=b"{bad", headers=good)
        assert resp.status == 400
        assert (await client.put("/dtms/status", headers=good)).status == 405
    unauthorized = _said(caplog, "HTTP 401 to GET /dtms/status from 127.0.0.1")
    assert len(unauthorized) == 1 and "invalid token" in unauthorized[0], unauthorized
    bad = _said(caplog, "HTTP 400 to POST /dtms/trade/enable from 127.0.0.1")
    assert len(bad) == 1 and "invalid JSON" in bad[0], bad
    assert len(_said(caplog, "HTTP 405")) == 1
    assert _said(caplog, "HTTP 200") == []


def test_an_episodes_count_is_said_then_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    later: list[Any] = []

    class Loop:
        def call_later(self, delay: float, callback: Any, *args: Any) -> None:
            later.append((callback, args))

    refusals = Refusals(logging.getLogger("t.refused"), loop=Loop())
    with caplog.at_level(logging.INFO, "t.refused"):
        for n in range(10):
            refusals.refused("HTTP 401 to GET /dtms/status", "10.0.0.9", f"#{n}")
        callback, args = later.pop()
        callback(*args)
        assert "9 more in the last 60 s (the last: #9)" in caplog.records[-1].getMessage()
        callback, args = later.pop()
        callback(*args)  # a quiet window: over
        assert later == [] and refusals.open == {}


async def test_the_counts_of_the_last_window_are_said_when_the_server_stops(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The later refusals of an episode are said a minute on: a server stopped before
    that lost them."""
    client = await make_client(token="s3cret")
    caplog.set_level(logging.INFO, logger="dtms_plugin.server")
    for _ in range(4):
        assert (
            await client.get("/dtms/status", headers={"Authorization": "Bearer x"})
        ).status == 401
    await client.close()  # the app's cleanup: the server stops
    stopped = _said(caplog, "until the server stopped")
    assert len(stopped) == 1 and "3 more until the server stopped" in stopped[0], stopped
