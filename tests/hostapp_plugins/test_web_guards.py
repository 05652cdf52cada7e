"""The host's own guards around every plugin's routes (hostapp/web_guards.py).

A plugin's handler that fails answered aiohttp's plain 500 and was said as a bare
"Error handling request" with a traceback under ``aiohttp.server``, naming neither the
plugin nor the route (a ``SystemExit`` there ended the server); it is now a JSON 500
that names nothing of the server, and one ERROR line naming the plugin and the route,
once per episode, counted. On the loopback, a request for another ``Host`` (DNS
rebinding) is a 403 for every route, a plugin's as DTMS's: only DTMS's were checked."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from support.plugin_dist import install

from hookspecs import hookimpl
from hostapp.testing import make_host
from hostapp.web import serving, web_app


class Pages:
    @hookimpl
    def web_routes(self) -> list[Any]:
        async def boom(request: web.Request) -> web.Response:
            raise RuntimeError("page broke")

        async def fine(request: web.Request) -> web.Response:
            return web.json_response({"ok": True})

        async def exits(request: web.Request) -> web.Response:
            raise SystemExit(4)

        async def nothing(request: web.Request) -> Any:
            return {"not": "a response"}

        return [
            web.get("/boom/{n}", boom),
            web.get("/fine", fine),
            web.get("/exits", exits),
            web.get("/nothing", nothing),
        ]


FAILED = {
    "error": "internal error",
    "message": "the server failed to answer this request; its log says why",
    "success": False,
}


async def test_a_failing_handler_is_a_json_500_said_in_its_plugins_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = make_host(None, None, None)  # type: ignore[arg-type]
    host.plugins.register("pages", Pages())
    caplog.set_level(logging.INFO)
    async with serving(host.plugins, host, 0) as (url, _), aiohttp.ClientSession() as s:
        for path in ("boom/1", "boom/2", "exits", "nothing", "boom/3"):
            async with s.get(url + path) as r:
                assert (r.status, await r.json()) == (500, FAILED), path
        async with s.get(url + "fine") as r:  # the server goes on, SystemExit or not
            assert r.status == 200
    said = [r for r in caplog.records if r.name == "hostapp.plugins"]
    assert [r.getMessage() for r in said] == [
        "plugin pages: GET /boom/{n} failed: RuntimeError: page broke",
        "plugin pages: GET /exits failed: SystemExit: 4",
        "plugin pages: GET /nothing failed: TypeError: the handler returned dict, not a response",
    ]
    assert said[0].exc_info is not None and said[1].exc_info is not None  # for the log file
    assert not [r for r in caplog.records if r.name.startswith("aiohttp")]
    totals = host.plugins.failed_calls.by_plugin()  # the run's summary counts them
    assert totals == {"pages": {"GET /boom/{n}": 3, "GET /exits": 1, "GET /nothing": 1}}
    said_more = [r.getMessage() for r in caplog.records if "more failure" in r.getMessage()]
    assert said_more == ["plugin pages: GET /boom/{n} until the run ended: 2 more failures in "
                         "2 calls since its first failure"]  # fmt: skip
    assert host.plugins.is_enabled("pages")  # a page never trips the plugin's breaker


class Probe:
    @hookimpl
    def web_routes(self) -> list[Any]:
        async def page(request: web.Request) -> web.Response:
            return web.json_response({"probe": True})

        return [web.get("/probe", page)]


@pytest.mark.parametrize(
    ("bind", "checked"), [("127.0.0.1", True), ("::1", True), ("0.0.0.0", False)]
)
async def test_on_the_loopback_every_route_answers_only_to_its_own_names(
    bind: str, checked: bool
) -> None:
    host = make_host(None, None, None)  # type: ignore[arg-type]
    host.plugins.register("probe", Probe())
    app, _ = web_app(host.plugins, host, bind)
    async with TestClient(TestServer(app)) as client:
        refused = await client.get("/probe", headers={"Host": "evil.example:8001"})
        assert refused.status == (403 if checked else 200)
        if checked:
            assert (await refused.json())["error"] == "host not allowed"
        for name in ("127.0.0.1:8001", "localhost", "[::1]:8001"):
            assert (await client.get("/probe", headers={"Host": name})).status == 200, name
        nowhere = await client.get("/nowhere", headers={"Host": "evil.example"})
        assert nowhere.status == (403 if checked else 404)


class OwnApp:
    """A plugin serving a whole app of its own, whose middleware decides the names it
    answers to (as dtms serve's does: any name once it has a token)."""

    @hookimpl
    def web_routes(self) -> list[Any]:
        @web.middleware
        async def own_rule(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.headers.get("Authorization") != "Bearer s3cret":
                return web.json_response({"error": "unauthorized"}, status=401)
            return await handler(request)

        async def page(request: web.Request) -> web.Response:
            return web.json_response({"own": True})

        app = web.Application(middlewares=[own_rule])
        app.router.add_get("/own", page)
        return [app]


async def test_a_plugins_own_app_keeps_its_own_rule_for_host_names() -> None:
    """A reverse proxy that passes on its public Host (Caddy's and Traefik's do) reaches
    a token-guarded app on the loopback; a plain route beside it is still checked."""
    host = make_host(None, None, None)  # type: ignore[arg-type]
    host.plugins.register("own", OwnApp())
    host.plugins.register("probe", Probe())
    app, _ = web_app(host.plugins, host, "127.0.0.1")
    proxied = {"Host": "dtms.example.com", "Authorization": "Bearer s3cret"}
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/own", headers=proxied)).status == 200
        assert (await client.get("/own", headers={"Host": "evil.example"})).status == 401
        assert (await client.get("/probe", headers=proxied)).status == 403


PAGES = """
from aiohttp import web
from hookspecs import hookimpl

class Pages:
    @hookimpl
    def web_routes(self):
        async def boom(request):
            raise RuntimeError("page broke")

        async def fine(request):
            return web.json_response({"ok": True})

        return [web.get("/boom", boom), web.get("/fine", fine)]

class Crashes:
    @hookimpl
    def web_routes(self):
        raise RuntimeError("no routes today")

    @hookimpl
    def on_cycle(self):
        raise RuntimeError("no cycle either")

    @hookimpl
    def shutdown(self):
        raise RuntimeError("nor a shutdown")
"""


def test_hostapp_serve_says_a_failing_handler_in_one_line_and_checks_the_host(
    tmp_path: Path,
) -> None:
    """``hostapp serve`` printed aiohttp's traceback on the terminal, and a plugin's
    failing hooks' tracebacks too (docs/plugins.md: "the terminal gets the line alone"),
    and answered ``Host: evil.example`` on a plugin's route with a 200."""
    env = install(tmp_path, PAGES, {"pages": "Pages", "crashes": "Crashes"})
    (tmp_path / "plugins.toml").write_text('[host]\nsymbols = ["XAUUSD"]\n')
    child = subprocess.Popen(
        [sys.executable, "-m", "hostapp.cli", "serve", "--port", "0", "--monitor-seconds", "0.1"],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    watchdog = threading.Timer(60, child.kill)  # a child that never says what is awaited
    watchdog.start()
    try:
        assert child.stderr is not None
        seen = []
        for line in child.stderr:
            seen.append(line)
            if line.startswith("hostapp: serving on "):
                break
        url = seen[-1].split("serving on ", 1)[1].strip()
        statuses = [_status(url + path) for path in ("/boom", "/boom", "/fine")]
        assert statuses == [500, 500, 200]
        assert _status(url + "/fine", host="evil.example") == 403
        assert _status(url + "/dtms/status", host="evil.example") == 403
        for line in child.stderr:  # the monitoring loop's first cycles
            seen.append(line)
            if "plugin crashes switched off: breaker tripped" in line:  # retried in 5 min
                break
        child.send_signal(signal.SIGINT)
        _, rest = child.communicate(timeout=60)
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0, rest
    err = "".join(seen) + rest
    assert "Traceback" not in err and "aiohttp.server" not in err, err
    (line,) = [ln for ln in err.splitlines() if "GET /boom failed: " in ln]
    assert line.endswith(
        "ERROR hostapp.plugins: plugin pages: GET /boom failed: RuntimeError: page broke "
        "(its traceback with --log-level DEBUG)"
    )
    assert "plugin pages: GET /boom until the run ended: 1 more failure in 1 call since" in err
    for hook, why in (("web_routes", "no routes today"), ("on_cycle", "no cycle either"),
                      ("shutdown", "nor a shutdown")):  # fmt: skip
        said = f"plugin crashes: {hook} failed: RuntimeError: {why} (its traceback with"
        assert sum(said in ln for ln in err.splitlines()) == 1, (hook, err)


def _status(url: str, host: str | None = None) -> int:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code)


def test_a_failing_page_of_a_tripped_plugin_keeps_why_it_was_switched_off() -> None:
    host = make_host(None, None, None)  # type: ignore[arg-type]
    host.plugins.register("pages", Pages())
    for _ in range(5):
        host.plugins.failed("pages", "web_routes", RuntimeError("no"))
    host.plugins.route_failed("pages", "GET /boom/{n}", RuntimeError("page broke"))
    (row,) = host.plugins.listing()
    assert row.status == "tripped" and (row.error or "").startswith("breaker tripped after 5")
