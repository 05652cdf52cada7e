"""A trading host's server (``hostapp run --live --serve``) answers a path nobody routes,
and another method on one of DTMS's paths, in the one JSON error shape: its bare app
answered ``404: Not Found`` and ``405: Method Not Allowed`` in plain text, where
``dtms serve`` answered JSON. The host's app answers them itself (hostapp/web_errors.py);
the dashboard page, its assets and another plugin's routes are served as before. The
host's own app on a real port, with the real plugin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from support.dtms_local_rig import Rig

from dtms_plugin.client import AsyncDtmsClient, DtmsError
from dtms_plugin.plugin import DtmsPlugin
from hookspecs import hookimpl
from hostapp.testing import make_host
from hostapp.web import serving


class Handed:
    """A plugin that hands the host what another object's ``web_routes`` gave."""

    def __init__(self, routes: list[Any]) -> None:
        self._routes = routes

    @hookimpl
    def web_routes(self) -> list[Any]:
        return self._routes


async def _hello(request: web.Request) -> web.Response:
    return web.json_response({"from": "pages"})


@asynccontextmanager
async def host_server(tmp_path: Path) -> AsyncIterator[tuple[str, aiohttp.ClientSession]]:
    """The URL of a host's app serving the started DTMS plugin (local strategy) and a
    plugin of plain routes, and a session."""
    rig = Rig(tmp_path / "dtms", strategy="local")
    plugin = DtmsPlugin()
    plugin.configure(host=rig.host)
    await plugin.startup(host=rig.host)
    try:
        host = make_host(None, None, None)  # type: ignore[arg-type]
        host.plugins.register("dtms", Handed(plugin.web_routes(host=rig.host)))
        host.plugins.register("pages", Handed([web.get("/hello", _hello)]))
        async with serving(host.plugins, host, 0) as (url, names):
            assert sorted(names) == ["dtms", "pages"]
            async with aiohttp.ClientSession() as session:
                yield url.rstrip("/"), session
    finally:
        await plugin.shutdown(host=rig.host)


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
async def test_a_path_nobody_routes_is_a_json_404(tmp_path: Path, method: str) -> None:
    async with host_server(tmp_path) as (url, s), s.request(method, url + "/nope") as r:
        assert (r.status, r.content_type) == (404, "application/json"), await r.text()
        body = await r.json()
        assert (body["error"], body["path"], body["success"]) == ("not found", "/nope", False)
        assert body["message"] == f"nothing is served at {method} /nope"


async def test_head_of_a_path_nobody_routes_is_a_404_without_a_body(tmp_path: Path) -> None:
    async with host_server(tmp_path) as (url, s), s.head(url + "/static/nope.css") as r:
        assert (r.status, r.content_type) == (404, "application/json")
        assert await r.read() == b""


async def test_another_method_on_a_dtms_path_is_a_json_405_with_allow(tmp_path: Path) -> None:
    async with host_server(tmp_path) as (url, s), s.put(url + "/dtms/status") as r:
        assert (r.status, r.content_type) == (405, "application/json"), await r.text()
        assert r.headers["Allow"] == "GET,HEAD"
        body = await r.json()
        assert (body["error"], body["allowed"], body["success"]) == (
            "method not allowed",
            ["GET", "HEAD"],
            False,
        )


async def test_the_page_its_assets_and_other_plugins_routes_are_served(tmp_path: Path) -> None:
    async with host_server(tmp_path) as (url, s):
        for path, kind in [
            ("/", "text/html"),
            ("/static/dashboard.css", "text/css"),
            ("/static/dashboard.js", "text/javascript"),
            ("/dtms/status", "application/json"),
            ("/hello", "application/json"),
        ]:
            async with s.get(url + path) as r:
                assert (r.status, r.content_type) == (200, kind), path
        async with s.get(url + "/static/nope.css") as r:  # a page that is not: JSON
            assert (r.status, (await r.json())["error"]) == (404, "not found")
        async with s.post(url + "/dtms/trade/enable", json={}) as r:  # still told where to go
            assert (r.status, (await r.json())["error"]) == (501, "not served here")


async def _expired(request: web.Request) -> web.Response:
    raise web.HTTPNotFound(text="report 42 has expired")


async def test_a_plugins_own_404_passes_untouched(tmp_path: Path) -> None:
    """Only what no route took is the host's to answer: a plugin handler's own 404, the
    usual aiohttp idiom, keeps its words."""
    host = make_host(None, None, None)  # type: ignore[arg-type]
    host.plugins.register("pages", Handed([web.get("/report/42", _expired)]))
    async with (
        serving(host.plugins, host, 0) as (url, _),
        aiohttp.ClientSession() as s,
        s.get(url.rstrip("/") + "/report/42") as r,
    ):
        assert (r.status, await r.text()) == (404, "report 42 has expired")


async def test_a_close_reported_to_the_host_is_the_registrations_501(tmp_path: Path) -> None:
    """``POST /dtms/trade/{ticket}/closed`` was a 404 "nothing is served" here, while a
    registration and an unregistration were the documented 501 naming ``dtms serve``
    (docs/client.md): the public client's report_closed raises it, never a lost close."""
    async with host_server(tmp_path) as (url, s):
        async with s.post(url + "/dtms/trade/8000/closed", json={"profit": 25}) as r:
            body = await r.json()
            assert (r.status, body["error"], body["success"]) == (501, "not served here", False)
            assert "report the close of" in body["message"] and "dtms serve" in body["message"]
        async with AsyncDtmsClient(url, token="") as dtms:
            with pytest.raises(DtmsError) as raised:
                await dtms.report_closed(8000, reason="tp", profit=25.0)
        assert raised.value.status == 501
