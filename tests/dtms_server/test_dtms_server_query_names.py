"""Every GET route refuses a query parameter it does not take, as ``GET /dtms/trades``
did alone: a 400 naming it (``field``), in the one error shape, on ``dtms serve`` and on a
trading host's routes. ``/dtms/actions?since=…`` answered the whole history as if the
filter were applied, and ``/dtms/status?x=1`` a 200. The OpenAPI document lists exactly
the parameters each route takes. The dashboard's page and assets are no API: a browser's
query on them is ignored. Real requests to a real server on loopback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration

from dtms_plugin.local import LocalStrategy
from dtms_plugin.server.openapi import document
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from dtms_plugin.web import routes

Client = TestClient[web.Request, web.Application]
TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _get_paths() -> list[str]:
    """Every documented GET route, as a URL (ticket 7), and ``/metrics``."""
    paths = [p.replace("{ticket}", "7") for p, ops in document()["paths"].items() if "get" in ops]
    return [*paths, "/metrics"]


async def _refused(client: Client, url: str, name: str, headers: dict[str, str]) -> None:
    resp = await client.get(url, headers=headers)
    body = await resp.json()
    assert resp.status == 400, (url, resp.status, body)
    assert (body["error"], body["field"], body["success"]) == ("invalid field", name, False)
    assert body["message"].startswith(f"{name}: unknown query parameter"), body
    head = await client.head(url, headers=headers)
    assert head.status == 400, url


async def test_every_get_route_refuses_a_parameter_it_does_not_take(make_client: Any) -> None:
    client: Client = await make_client(token=TOKEN, dashboard=True)
    assert (await client.post("/dtms/trade/enable", json=registration(7), headers=AUTH)).ok
    for path in _get_paths():
        if path != "/health":  # a monitor's cache buster is ignored there
            await _refused(client, f"{path}?bogus=1", "bogus", AUTH)
    for url in ("/health?t=123", "/health?x=1&x=2"):
        assert (await client.get(url)).status == 200, url
        assert (await client.head(url)).status == 200, url


async def test_the_testers_cases(client: Client) -> None:
    await _refused(client, "/dtms/actions?since=bad", "since", {})
    await _refused(client, "/dtms/actions?ticket=&limit=5&since=2024-01-01", "since", {})
    await _refused(client, "/dtms/status?x=1", "x", {})
    said = await (await client.get("/dtms/status?x=1")).json()
    assert "this route takes no parameter" in said["message"], said
    said = await (await client.get("/dtms/actions?since=1")).json()
    assert "this route takes ticket, limit" in said["message"], said


async def test_an_empty_value_is_still_a_parameter_not_given(client: Client) -> None:
    """docs/client.md: ``?x=`` is no parameter, on every route (a form's empty field)."""
    for url in ("/dtms/status?x=", "/health?x", "/dtms/actions?ticket=&since=", "/openapi.json?a="):
        assert (await client.get(url)).status == 200, url


def _documented_names(path: str) -> set[str]:
    get = document()["paths"][path]["get"]
    return {p["name"] for p in get.get("parameters", []) if p["in"] == "query"}


async def test_the_document_lists_the_parameters_the_server_reads(client: Client) -> None:
    """What each route's 400 says it takes is what the document lists, and the document
    lists that 400."""
    for path, ops in document()["paths"].items():
        if "get" not in ops or path == "/health":  # it ignores its query
            continue
        url = path.replace("{ticket}", "7")
        said = (await (await client.get(f"{url}?bogus=1")).json())["message"]
        takes = said.split("this route takes ", 1)[1]
        named = set() if takes == "no parameter" else set(takes.split(", "))
        assert named == _documented_names(path), (path, said)
        description = ops["get"]["responses"]["400"]["description"]
        assert "parameter this route does not take" in description, path


async def test_each_documented_parameter_is_taken(client: Client) -> None:
    assert (await client.post("/dtms/trade/enable", json=registration(1))).status == 201
    for path, ops in document()["paths"].items():
        for parameter in ops.get("get", {}).get("parameters", []):
            if parameter["in"] != "query":
                continue
            value = parameter.get("example", parameter["schema"].get("default", "1"))
            url = path.replace("{ticket}", "1")
            resp = await client.get(url, params={parameter["name"]: str(value)})
            assert resp.status == 200, (url, parameter["name"], await resp.text())


@pytest.mark.parametrize("path", ["/?utm_source=mail", "/static/dashboard.js?v=2"])
async def test_the_page_and_its_assets_ignore_a_browsers_query(make_client: Any, path: str) -> None:
    client: Client = await make_client(token=TOKEN, dashboard=True)
    resp = await client.get(path)
    assert resp.status == 200 and resp.content_type in ("text/html", "text/javascript")


async def test_a_hosts_routes_refuse_them_alike(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    settings = DtmsSettings(state_dir=str(tmp_path / "state"))
    with Store(tmp_path / "dtms") as store:
        store.put_record(7, {"ticket": 7, "state": "HEALTHY", "symbol": "XAUUSD"})
        app = web.Application()
        app.add_routes(routes(LocalStrategy(settings, store), settings))
        client = await aiohttp_client(app)
        # the reads a host serves: those of its own document, and /metrics
        served = (await (await client.get("/openapi.json")).json())["paths"]
        for path in _get_paths():
            if path == "/health":  # a monitor's cache buster is ignored there, as on serve
                continue
            if path == "/metrics" or path.replace("/7", "/{ticket}") in served:
                await _refused(client, f"{path}?bogus=1", "bogus", {})
        await _refused(client, "/dtms/actions?since=bad", "since", {})
        for url in ("/health?t=1", "/health?x=1&x=2"):
            assert (await client.get(url)).status == 200, url
        assert (await client.get("/?utm_source=mail")).status == 200
        assert (await client.get("/dtms/status?x=")).status == 200
