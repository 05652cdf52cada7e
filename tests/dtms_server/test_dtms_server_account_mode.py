"""The account defensive mode has one shape wherever an answer shows it:
``{"defensive", "until", "reason"}``, built by one function (``views.account_mode_view``).
The batch's ``account_mode`` lacked ``defensive`` (``/dtms/status``'s had it), and an
expired mode showed its old ``until`` on ``dtms serve``'s status but not on a host's.
The batch keeps ``null`` while the mode is off: remote hosts read it as "cleared". On a
real server on loopback, and on a trading host's routes; every answer checked against the
OpenAPI document."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_schema import errors
from support.dtms_server_world import World, hosts_routes, registration, service_of

from dtms_plugin.server.openapi import document

Client = TestClient[web.Request, web.Application]
OFF = {"defensive": False, "until": None, "reason": None}


async def _modes(client: Client) -> tuple[Any, Any]:
    """``account_mode`` of ``/dtms/status`` and of ``/dtms/trades?tickets=1``, each
    valid against its documented schema."""
    doc = document(token=False)
    schemas = doc["components"]["schemas"]
    answers = []
    for url, schema in [
        ("/dtms/status", schemas["Status"]["properties"]["account_mode"]),
        ("/dtms/trades?tickets=1", schemas["Batch"]["properties"]["account_mode"]),
    ]:
        resp = await client.get(url)
        assert resp.status == 200, url
        mode = (await resp.json())["account_mode"]
        assert errors(mode, schema, doc) == [], (url, mode)
        answers.append(mode)
    return answers[0], answers[1]


async def test_one_shape_on_the_status_and_in_the_batch(client: Client, world: World) -> None:
    assert (await client.post("/dtms/trade/enable", json=registration(1))).status == 201
    store = service_of(client).store
    assert await _modes(client) == (OFF, None)

    until = world.now() + timedelta(hours=1)
    store.put_account_mode(until, "daily loss limit")
    on = {"defensive": True, "until": until.isoformat(), "reason": "daily loss limit"}
    assert await _modes(client) == (on, on)

    store.put_account_mode(world.now(), "expired")  # until == now: over
    assert await _modes(client) == (OFF, None)  # its old until is no mode


def test_the_document_has_one_account_mode() -> None:
    schemas = document()["components"]["schemas"]
    mode = schemas["AccountMode"]
    assert schemas["Status"]["properties"]["account_mode"] == {
        "$ref": "#/components/schemas/AccountMode"
    }
    batch = schemas["Batch"]["properties"]["account_mode"]
    assert batch["required"] == mode["required"] == ["defensive", "until", "reason"]
    assert set(batch["properties"]) == set(mode["properties"])
    assert errors(None, batch, {}) == []  # null while off
    assert errors({"until": "2024-01-01T00:00:00+00:00", "reason": "x"}, batch, {}) != []


async def test_a_hosts_routes_show_the_same_shape(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    async with hosts_routes(aiohttp_client, tmp_path) as (client, store):
        assert await _modes(client) == (OFF, None)
        until = datetime.now(UTC) + timedelta(hours=1)  # no host clock here: the wall's
        store.put_account_mode(until, "daily loss limit")
        on = {"defensive": True, "until": until.isoformat(), "reason": "daily loss limit"}
        assert await _modes(client) == (on, on)
        trade = (await (await client.get("/dtms/trades?tickets=1")).json())["trades"]["1"]
        assert trade["defensive"] is True
