"""The original DTMS server's routes about its engine: ``GET /dtms/health``,
``GET /dtms/engine`` and ``POST /dtms/initialize``, under its paths and names.

Why they exist: the original's own scripts wait for ``/dtms/health`` to say ``ready``
before they register trades, and call ``/dtms/initialize`` when it does not; a 404 read
as "the server is not up" kept them waiting forever (docs/architecture.md, "The DTMS
API"). Here the engine starts with the server (``dtms serve``) and never waits to be
initialised, so initialising is answered, not done: a success while the engine runs,
the same every time; a 503 saying why when it does not (a restart starts it).

These routes want the token as every route but ``/health`` does: they count the trades
managed, which ``/health`` (public, for probes without a token) does not tell.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from hookspecs import DefensiveState

from .errors import error_body
from .keys import SERVICE_KEY
from .middleware import ApiError
from .original import checked_at
from .query import check_names
from .service import DtmsService

_CLOSED = DefensiveState.CLOSED.value


def engine_figures(service: DtmsService) -> dict[str, Any]:
    """What the three routes tell, read once (the records' listing: off the event loop):
    whether the engine and its monitoring loop run, the open trades it manages, when it
    last evaluated and scored each (:func:`.original.checked_at`) and, when it does not
    run, why."""
    _, health = service.health()
    running = bool(health["engine_running"])
    listing = service.store.listing()
    active = [ticket for ticket, entry in listing.items() if entry.state != _CLOSED]
    problems = list(health["problems"])
    checks = service.checks
    return {
        "running": running,
        "active": len(active),
        "last_fast_check": checked_at(active, dict(checks.evaluated) if checks else {}),
        "last_deep_check": checked_at(active, dict(checks.scored) if checks else {}),
        "why": "; ".join(problems) or "the DTMS engine is not running",
        "problems": problems,
    }


def _not_running(summary: str, why: str, **keys: Any) -> ApiError:
    """The 503 of a route whose engine does not run: the original's ``summary`` and the
    one error shape (``error``, ``message``), with the route's own keys."""
    message = f"{why}; dtms serve starts the engine at start-up (restart it; /health says why)"
    return ApiError(503, error_body("service unavailable", message, summary=summary, **keys))


async def dtms_health(request: web.Request) -> web.Response:
    """``ready`` while the engine runs and takes registrations (a 503 otherwise), with
    the original's ``dtms_initialized``, ``monitoring_active`` and ``active_trades``."""
    check_names(request.query)
    figures = await asyncio.to_thread(engine_figures, request.app[SERVICE_KEY])
    running = figures["running"]
    body = {
        "dtms_initialized": running,
        "monitoring_active": running,
        "active_trades": figures["active"] if running else 0,
        "ready": running,
        "problems": figures["problems"],
        "timestamp": datetime.now(UTC).isoformat(),
    }
    if not running:
        raise _not_running("DTMS is not ready", figures["why"], **body)
    return web.json_response({**body, "success": True})


async def dtms_engine(request: web.Request) -> web.Response:
    """``engine_info`` as the original's: ``last_fast_check`` and ``last_deep_check``
    map each open trade's ticket to the Unix time (seconds, the engine's clock) of its
    latest evaluation and scoring, null before its first since the server started. The
    original's status page makes a card of each key and shows ``value * 1000`` as a
    date: one ISO text there made a card of each of its characters."""
    check_names(request.query)
    figures = await asyncio.to_thread(engine_figures, request.app[SERVICE_KEY])
    if not figures["running"]:
        raise _not_running("DTMS engine is not available", figures["why"], engine_info=None)
    info = {
        "monitoring_active": True,
        "active_trades_count": figures["active"],
        "last_fast_check": figures["last_fast_check"],
        "last_deep_check": figures["last_deep_check"],
    }
    summary = "DTMS engine is available"
    return web.json_response({"summary": summary, "engine_info": info, "success": True})


async def initialize(request: web.Request) -> web.Response:
    """Nothing to initialise: the engine started with the server. A success (the same on
    every call) while it runs, so a script that initialises before registering goes on;
    a 503 when it does not, never a success over an engine that is down. The body, if
    any, is not read (the original took none)."""
    figures = await asyncio.to_thread(engine_figures, request.app[SERVICE_KEY])
    status = {"system_active": figures["running"], "already_initialized": figures["running"]}
    if not figures["running"]:
        raise _not_running("DTMS engine is not running", figures["why"], dtms_status=status)
    summary = (
        "DTMS is initialized and monitoring: dtms serve starts its engine at start-up,"
        " so there was nothing to do"
    )
    return web.json_response({"summary": summary, "dtms_status": status, "success": True})


def add_original_routes(app: web.Application) -> None:
    """The three routes, on the original's paths (GET answers HEAD too)."""
    app.router.add_get("/dtms/health", dtms_health)
    app.router.add_get("/dtms/engine", dtms_engine)
    app.router.add_post("/dtms/initialize", initialize)
