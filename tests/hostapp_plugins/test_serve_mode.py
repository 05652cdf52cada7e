"""``hostapp serve``: one web app mounts what the plugins contribute through ``web_routes``
(route definitions, or one application of a plugin's own at the root, whose middlewares
answer its paths and the paths nobody routes), and the command itself as a real process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from hookspecs import hookimpl
from hostapp.testing import make_host


class Pages:
    @hookimpl
    def web_routes(self) -> list[Any]:
        async def hello(request: web.Request) -> web.Response:
            return web.json_response({"from": "pages"})

        return [web.get("/hello", hello)]


class WholeApp:
    """A plugin with an app of its own: a middleware that answers errors as JSON."""

    @hookimpl
    def web_routes(self) -> list[Any]:
        @web.middleware
        async def as_json(request: web.Request, handler: Any) -> web.StreamResponse:
            try:
                return await handler(request)
            except web.HTTPException as exc:
                return web.json_response({"error": exc.reason}, status=exc.status)

        async def status(request: web.Request) -> web.Response:
            return web.json_response({"from": "app"})

        app = web.Application(middlewares=[as_json])
        app.router.add_get("/api/status", status)
        return [app]


async def test_route_definitions_and_a_whole_app_are_served_side_by_side() -> None:
    from hostapp.web import serving

    host = make_host(None, None, None)  # type: ignore[arg-type]
    host.plugins.register("pages", Pages())
    host.plugins.register("app", WholeApp())
    async with serving(host.plugins, host, 0) as (url, names), aiohttp.ClientSession() as s:
        assert names == ["app", "pages"]  # plugin order: by name
        async with s.get(url + "hello") as r:
            assert (r.status, await r.json()) == (200, {"from": "pages"})
        async with s.get(url + "api/status") as r:
            assert (r.status, await r.json()) == (200, {"from": "app"})
        async with s.post(url + "api/status") as r:  # the app's own 405, as JSON
            assert (r.status, await r.json()) == (405, {"error": "Method Not Allowed"})
        async with s.get(url + "nowhere") as r:  # nobody routes it: the app answers
            assert (r.status, await r.json()) == (404, {"error": "Not Found"})


class SecondApp:
    """Another plugin with a whole app of its own, mounted after the first."""

    @hookimpl
    def web_routes(self) -> list[Any]:
        async def ping(request: web.Request) -> web.Response:
            return web.json_response({"from": "second"})

        app = web.Application()
        app.router.add_get("/second/ping", ping)
        return [app]


async def test_a_second_whole_app_is_reached_past_the_first() -> None:
    """The first app answers the paths nobody routes, but not those a later app routes
    (as DTMS's app under ``hostapp serve`` did with every other plugin's app)."""
    from hostapp.web import serving

    host = make_host(None, None, None)  # type: ignore[arg-type]
    host.plugins.register("app", WholeApp())
    host.plugins.register("second", SecondApp())
    async with serving(host.plugins, host, 0) as (url, names), aiohttp.ClientSession() as s:
        assert names == ["app", "second"]
        async with s.get(url + "second/ping") as r:
            assert (r.status, await r.json()) == (200, {"from": "second"})
        async with s.get(url + "api/status") as r:
            assert (r.status, await r.json()) == (200, {"from": "app"})
        async with s.get(url + "nowhere") as r:  # still the first app's 404
            assert (r.status, await r.json()) == (404, {"error": "Not Found"})


class TakesTheRoot:
    """A whole app of its own that routes ``/`` and ``/health``, as DTMS's routes do."""

    @hookimpl
    def web_routes(self) -> list[Any]:
        async def mine(request: web.Request) -> web.Response:
            return web.json_response({"from": "app"})

        app = web.Application()
        app.router.add_get("/", mine)
        app.router.add_get("/health", mine)
        app.router.add_get("/own", mine)
        return [app]


class RootPages:
    """Route definitions of ``/`` and ``/health``."""

    @hookimpl
    def web_routes(self) -> list[Any]:
        async def root(request: web.Request) -> web.Response:
            return web.json_response({"from": "pages"})

        return [web.get("/", root), web.get("/health", root)]


async def test_a_whole_app_clashing_with_routes_is_not_served_in_either_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A plugin's own app was mounted without the clash check: listed first, it took
    over another plugin's ``/`` and ``/health`` without a word; listed after, its clashing
    routes were shadowed. Whichever comes second now serves none of its routes, and its
    ``web_routes`` failed, as with route definitions (the ``web_routes`` spec)."""
    from hostapp.web import serving

    for first, second in (("a_app", "b_pages"), ("a_pages", "b_app")):  # order: by name
        host = make_host(None, None, None)  # type: ignore[arg-type]
        for name in (first, second):
            host.plugins.register(name, TakesTheRoot() if name.endswith("app") else RootPages())
        async with serving(host.plugins, host, 0) as (url, names), aiohttp.ClientSession() as s:
            assert names == [first]
            async with s.get(url + "health") as r:
                assert (r.status, await r.json()) == (200, {"from": first[2:]})
            async with s.get(url + "own") as r:
                assert r.status == (200 if first == "a_app" else 404)
        row = {r.name: r for r in host.plugins.listing()}[second]
        assert row.error is not None and "already served: GET / (of " + first in row.error
    # one line each: no traceback (it printed a stray "hostapp.web.RoutesNotServed: …")
    clashes = [r for r in caplog.records if "already served" in r.getMessage()]
    assert len(clashes) == 2 and not any(r.exc_info for r in clashes)


def test_hostapp_serve_refuses_paper_with_an_empty_account_file_in_one_line(
    tmp_path: Path,
) -> None:
    config = tmp_path / "plugins.toml"
    config.write_text(
        '[host]\nbroker = "paper"\nsymbols = ["XAUUSD"]\n[host.paper]\naccount_file = ""\n'
        "[plugins]\ndisabled = []\n"
    )
    hostapp = Path(sys.executable).with_name("hostapp")
    done = subprocess.run(
        [str(hostapp), "serve", "--config", str(config), "--port", "0"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hostapp: cannot start: "), lines
    assert "[host.paper]: key 'account_file' is required" in lines[0]


def test_run_serve_says_what_is_served_and_no_dashboard_where_no_plugin_serves_the_root() -> None:
    """With DTMS off, ``run --live --serve`` said "dashboard at http://…/" and ``/`` was
    a 404; ``--help`` named DTMS's dashboard, not the plugins' routes."""
    from hostapp.cli import build_parser
    from hostapp.live_serve import what_is_served

    url = "http://127.0.0.1:8002/"
    said = what_is_served(url, ["probe"], ["/probe"])
    assert said == f"hostapp: serving the routes of probe at {url}: /probe (no plugin serves /)"
    assert "dashboard" not in said
    said = what_is_served(url, ["dtms"], ["/", "/dtms/trades", "/metrics"])
    assert said.endswith(": /, /dtms/trades, /metrics")
    run = build_parser()._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
    (serve,) = [a for a in run._actions if "--serve" in a.option_strings]
    assert "plugins' web routes" in " ".join(str(serve.help).split())
