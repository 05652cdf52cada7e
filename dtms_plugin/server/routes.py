"""The DTMS API routes (docs/architecture.md §9), on the original DTMS paths and shapes.

Handlers only translate: parse the request (a 400 names the bad field), call the service,
shape the JSON. Every route is registered by :func:`add_routes`, which the OpenAPI test
compares with the document, so a route cannot be added without documenting it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from .batch import MAX_BATCH_REGISTRATIONS, batch_items, register_many
from .closing import CLOSE_KEYS, parse_closed
from .comments import with_cut_note
from .dashboard import trades_answer
from .errors import error_body
from .keys import SERVICE_KEY, SETTINGS_KEY
from .middleware import ApiError, read_json
from .openapi import document
from .original_routes import add_original_routes
from .query import actions_query, check_names
from .settings import ServerSettings
from .unknown_keys import with_ignored
from .validation import known_keys, parse_registration, parse_ticket_text
from .views import registration_body

#: ``/dtms/trade/{ticket}`` for every ticket but ``enable``: that path is the POST-only
#: registration route, so ``GET /dtms/trade/enable`` is a 405 with ``Allow: POST``, not a
#: 400 about a ticket named "enable".
TICKET_PATH = "/dtms/trade/{ticket:(?!enable$)[^/]+}"
#: ``POST``: a client reports its position closed
CLOSE_PATH = "/dtms/trade/{ticket:[^/]+}/closed"


def answer(body: dict[str, Any], status: int = 200, *, success: bool = True) -> web.Response:
    """Every JSON answer carries ``success`` (true below 400, unless ``success`` says
    otherwise), as the original server's did: its clients test that key before reading
    the rest."""
    return web.json_response({**body, "success": success and status < 400}, status=status)


def not_found(ticket: int, unregistered_at: str | None = None) -> ApiError:
    """The 404 of a ticket this server keeps no trade of (a client reads it as "not
    managed"); of one unregistered (``DELETE``), when: the same status and error, which
    the original's clients read, and a message that does not deny what its actions and
    a host's refused registration show (docs/client.md)."""
    if unregistered_at is None:
        message = f"no trade with ticket {ticket} is kept here"
        return ApiError(404, error_body("trade not found", message, ticket=ticket))
    message = (
        f"trade {ticket} was unregistered at {unregistered_at}: DTMS no longer manages it,"
        f" and keeps no trade of it (its actions: /dtms/actions?ticket={ticket})"
    )
    body = error_body("trade not found", message, ticket=ticket, unregistered_at=unregistered_at)
    return ApiError(404, body)


def _ticket_param(request: web.Request) -> int:
    return parse_ticket_text(request.match_info["ticket"])


async def health(request: web.Request) -> web.Response:
    # the one GET route that ignores its query: monitors add a cache buster (?t=123), and
    # a probe that fails on it reads as the server down (query.py)
    # every store read off the event loop: a Redis slow to answer (paused, far) must
    # not hold up every other request, the dashboard's page too (docs/scaling.md)
    healthy, body = await asyncio.to_thread(request.app[SERVICE_KEY].health)
    return answer(body, 200 if healthy else 503)


async def enable_trade(request: web.Request) -> web.Response:
    sent = await _body(request)
    registration = parse_registration(sent)
    service = request.app[SERVICE_KEY]
    created, body = await service.register(registration)
    view = await asyncio.to_thread(service.trade, registration.ticket)
    shown = with_ignored(registration_body(body, view), sent, known_keys(registration))
    shown = with_cut_note(shown, sent)  # a comment kept cut, said (docs/client.md)
    # 201, or 200 for the original's clients, which test for a 200 ([plugin.dtms]
    # created_status, docs/client.md): already_registered tells the two apart
    return answer(shown, service.settings.dtms.created_status if created else 200)


async def enable_many(request: web.Request) -> web.Response:
    try:
        sent = await _body(request)
    except web.HTTPRequestEntityTooLarge:  # say the batch's two limits, and the way
        limit = request.app[SETTINGS_KEY].max_body_bytes
        message = (
            f"the body is larger than {limit:,} bytes: a batch takes at most "
            f"{MAX_BATCH_REGISTRATIONS} trades and {limit:,} bytes; send them in several requests"
        )
        raise ApiError(413, error_body("request body too large", message, field="body")) from None
    items = batch_items(sent)
    body = await register_many(request.app[SERVICE_KEY], items)
    # a 200 still (each item has its own status), but never "success" over a refusal: a
    # client of the original DTMS that tests only success would take it for done
    return answer(body, success=body["counts"]["refused"] == 0)


async def closed_trade(request: web.Request) -> web.Response:
    ticket = _ticket_param(request)
    # every field of a close is optional: no body is {} (the original's clients send none)
    sent = await _body(request, empty={})
    report = parse_closed(ticket, sent)
    view = await request.app[SERVICE_KEY].report_closed(report)
    if view is None:
        raise not_found(ticket)
    status = 202 if view.get("left_for_owner") else 200  # docs/scaling.md
    return answer(with_ignored(view, sent, CLOSE_KEYS), status)


async def get_trade(request: web.Request) -> web.Response:
    check_names(request.query)
    ticket = _ticket_param(request)
    service = request.app[SERVICE_KEY]
    view = await asyncio.to_thread(service.trade, ticket)
    if view is None:
        raise not_found(ticket, await asyncio.to_thread(service.unregistered_at, ticket))
    return answer(view)


async def _body(request: web.Request, empty: Any = None) -> Any:
    """The JSON body, at most the server's ``max_body_bytes`` (the app may be mounted in
    the host's, whose own limit is larger); ``empty``: what no body reads as (None: 400)."""
    limit = request.app[SETTINGS_KEY].max_body_bytes
    return await read_json(request, limit=limit, empty=empty)


async def get_trades(request: web.Request) -> web.Response:
    service = request.app[SERVICE_KEY]

    def read() -> dict[str, Any]:  # every record's listing (or record): off the event loop
        return trades_answer(
            service.store,
            request.query,
            account_defensive=service.account_defensive(),
            account_mode=service.account_mode(),
            max_tickets=service.settings.max_batch_tickets,
        )

    # a page of full trades is megabytes of JSON: made off the event loop too, so other
    # clients are not held up while it is written
    return web.Response(
        body=await asyncio.to_thread(lambda: encoded(read())),
        content_type="application/json",
        charset="utf-8",
    )


def encoded(body: dict[str, Any], status: int = 200) -> bytes:
    """:func:`answer`'s JSON, as bytes: for a large answer made in a worker thread."""
    return json.dumps({**body, "success": status < 400}).encode("utf-8")


async def delete_trade(request: web.Request) -> web.Response:
    ticket = _ticket_param(request)
    done = await request.app[SERVICE_KEY].unregister(ticket)
    if done is False:
        raise not_found(ticket)
    if done == "closed":  # kept as history until retention (docs/client.md)
        message = f"trade {ticket} is CLOSED: its record is its history, kept until retention"
        raise ApiError(409, error_body("trade closed", message, field="ticket", ticket=ticket))
    if done is None:  # another replica owns it: left for it (docs/scaling.md)
        return answer({"ticket": ticket, "unregistered": True, "left_for_owner": True}, 202)
    return answer({"ticket": ticket, "unregistered": True})


async def status(request: web.Request) -> web.Response:
    check_names(request.query)
    return answer(await asyncio.to_thread(request.app[SERVICE_KEY].status))


async def actions(request: web.Request) -> web.Response:
    ticket, limit = actions_query(request.query)
    # up to ``limit`` entries and a record read per ticket among them: off the event loop
    return answer(await asyncio.to_thread(request.app[SERVICE_KEY].actions, ticket, limit))


async def openapi(request: web.Request) -> web.Response:
    # the document itself, not an answer: OpenAPI allows no extra top-level keys
    check_names(request.query)
    settings = request.app[SETTINGS_KEY]
    token = settings.resolve_token() is not None
    symbols = documented_symbols(settings)
    maxima = await _volume_maxima(request, symbols) if symbols else {}
    return web.json_response(document(symbols=symbols, token=token, volume_max=maxima))


async def _volume_maxima(request: web.Request, symbols: list[str]) -> dict[str, float]:
    """Each listed symbol's maximum volume at the broker (asked on the engine thread, the
    broker's), for the document to state; none when the engine is not running."""
    service = request.app[SERVICE_KEY]
    host = service.host
    if host is None:
        return {}
    broker = host.broker

    async def read() -> dict[str, float]:
        infos = {symbol: broker.symbol_info(symbol) for symbol in symbols}
        return {s: i.volume_max for s, i in infos.items() if i is not None and i.volume_max > 0}

    try:
        return await service.engine.run(read())
    except Exception:  # the engine stopped, the broker cannot say: the document without
        return {}


def documented_symbols(settings: ServerSettings) -> list[str] | None:
    """The symbols a registration may name, when the server knows them all: the paper
    broker of ``dtms serve`` trades exactly the ``[host] symbols`` (its feed has no
    others), so the document lists them and a client or a fuzzer knows which symbols are
    valid. MetaTrader trades whatever the terminal offers: no list, the broker decides."""
    if settings.symbols is None or settings.broker != "paper":
        return None
    return [str(s) for s in settings.symbols]


def add_routes(app: web.Application) -> None:
    """All API routes. ``GET /`` and ``GET /metrics`` are added by their own modules.
    Every GET route answers HEAD too, as RFC 9110 asks of a general-purpose server: the
    same status and headers, no body (uptime monitors and proxies probe with HEAD)."""
    app.router.add_get("/health", health)
    app.router.add_post("/dtms/trade/enable", enable_trade)
    app.router.add_get(TICKET_PATH, get_trade)
    app.router.add_delete(TICKET_PATH, delete_trade)
    app.router.add_get("/dtms/trades", get_trades)
    app.router.add_post("/dtms/trades", enable_many)
    app.router.add_post(CLOSE_PATH, closed_trade)
    app.router.add_get("/dtms/status", status)
    app.router.add_get("/dtms/actions", actions)
    app.router.add_get("/openapi.json", openapi)
    add_original_routes(app)  # /dtms/health, /dtms/engine, /dtms/initialize
