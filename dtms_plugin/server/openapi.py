"""The OpenAPI 3.1 document of the DTMS API, served at ``/openapi.json``.

Written by hand (the API is small) and kept true by a test: every route of the app is in
here with its methods, every path in here is a route, and real responses validate against
the response schemas below.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from hookspecs import MAX_REQUEST_LINE_BYTES, DefensiveState

from . import limits
from .openapi_edits import add_heads, empty_is_absent, without_token
from .openapi_original import ORIGINAL_PATHS
from .openapi_responses import BODY_REFUSED
from .openapi_responses import ERRORS as _ERRORS
from .openapi_responses import NO_PARAMETER as _NO_PARAMETER
from .openapi_responses import UNKNOWN_PARAMETER as _UNKNOWN_PARAMETER
from .openapi_responses import json_response as _json
from .openapi_responses import ref as _ref
from .openapi_schemas import SCHEMAS
from .openapi_types import PAPER_VOLUME, paper_volumes, volume
from .query import DEFAULT_ACTIONS_LIMIT

#: ``state`` and ``symbol`` of ``GET /dtms/trades``: one or more, comma-separated (the
#: server also reads the states in any case).
_STATES = "|".join(s.value for s in DefensiveState)
_STATE_LIST = f"^({_STATES})(,({_STATES}))*$"
_NAME_LIST = r"^\s*[^,\s][^,]*(,\s*[^,\s][^,]*)*$"
_TICKET = {"type": "integer", "minimum": 1, "maximum": limits.MAX_TICKET}
_TICKET_PATH = {"name": "ticket", "in": "path", "required": True, "schema": _TICKET}
PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "summary": "Liveness and engine summary (no token needed; a query, such as a"
            " monitor's cache buster ?t=123, is ignored)",
            "security": [],
            "responses": {
                "200": _json("Health", "the engine and its monitoring loop run"),
                "503": _json("Health", "the engine is not running, stuck, or failing"),
                "403": _ERRORS["403"],
                "405": _ERRORS["405"],
            },
        },
    },
    "/dtms/trade/enable": {
        "post": {
            "summary": "Register a trade with the engine (idempotent by ticket)",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("Registration")}},
            },
            "responses": {
                "201": _json("Registered", "registered now (already_registered: false)"),
                "200": _json(
                    "Registered",
                    "already registered (already_registered: true); or registered now"
                    " (already_registered: false) on a server whose [plugin.dtms]"
                    " created_status is 200, as the original DTMS answered",
                ),
                "400": _json(
                    "FieldError",
                    "invalid JSON, nested too deep, an unsupported charset, or a field is"
                    " wrong (named in field)",
                ),
                "409": _json(
                    "FieldError",
                    "the ticket is a live trade with another direction or symbol, or opened_at"
                    " is more than a day ahead of the server's clock (named in field), or the"
                    " ticket's trade is kept CLOSED with this entry and opening (error: trade"
                    " closed, field: ticket, with its closed_at, close_reason,"
                    " realised_profit and close_price), or with another entry or opening"
                    " while the broker lists no open position of it and its history shows"
                    " it closed (broker_closed_at too): DTMS no longer manages it; or the"
                    " broker's open position of the ticket is another symbol, or another"
                    " side on a hedging account (named in field); or no volume was sent"
                    " and the broker has no such position to take it from (field: volume)",
                ),
                **BODY_REFUSED,
                "422": _json("Error", "the engine declined the trade"),
                **_ERRORS,
            },
        }
    },
    "/dtms/trade/{ticket}": {
        "get": {
            "summary": "The DTMS state of one trade",
            "parameters": [_TICKET_PATH],
            "responses": {
                "200": _json("Trade", "state, defensive flag and details (trade_info)"),
                "400": _json(
                    "FieldError",
                    "the ticket is not a positive integer (field: ticket), or"
                    f" {_UNKNOWN_PARAMETER}",
                ),
                "404": _json("Error", "unknown ticket"),
                **_ERRORS,
            },
        },
        "delete": {
            "summary": "Stop managing a trade (its position is left alone)",
            "parameters": [_TICKET_PATH],
            "responses": {
                "202": _json(
                    "Unregistered",
                    "with Redis replicas, another replica owns the trade: left for it"
                    " (left_for_owner), which lets it go at its next cycle",
                ),
                "200": _json("Unregistered", "unregistered"),
                "400": _json("FieldError", "the ticket is not a positive integer"),
                "404": _json("Error", "unknown ticket"),
                "409": _json(
                    "FieldError",
                    "the trade is CLOSED: nothing manages it, and its record is kept as its"
                    " history until retention",
                ),
                **_ERRORS,
            },
        },
    },
    "/dtms/trades": {
        "get": {
            "summary": "The states of many trades in one request",
            "parameters": [
                {
                    "name": "tickets",
                    "in": "query",
                    "required": False,
                    "description": "tickets separated by commas or spaces, e.g. 1,2,3 or"
                    " 1+2+3. Omitted: a page of the managed trades (limit, offset), each in"
                    " the full Trade shape plus pnl_r (unrealised P&L in R at the last"
                    " evaluation), score_detail (sub-scores, when the engine stored them) and"
                    " last_reason (of the newest transition): the dashboard. Empty (tickets=,"
                    " a client's empty list): no ticket asked, an empty answer",
                    "schema": {"type": "string", "pattern": limits.TICKET_LIST_PATTERN},
                },
                {
                    "name": "tickets[]",
                    "in": "query",
                    "description": "as tickets, under the name axios gives a list (repeated:"
                    " tickets[]=1&tickets[]=2); given with tickets, the two lists are one."
                    " Empty: as tickets=",
                    "schema": {"type": "string", "pattern": limits.TICKET_LIST_PATTERN},
                },
                {
                    "name": "limit",
                    "in": "query",
                    "description": "without tickets: one page of this many trades (open"
                    " trades first, newest opened first, then closed ones, newest closed"
                    " first; ties: newest ticket first), with total,"
                    " offset, limit and more (whether trades follow it) in the answer; more"
                    " than 1000 reads as 1000. With tickets: the list is answered whole (a"
                    " limit that is no integer >= 1 is still a 400)",
                    "schema": {"type": "integer", "minimum": 1, "default": 100},
                },
                {
                    "name": "offset",
                    "in": "query",
                    "description": "without tickets: the page starts after this many trades"
                    f" (past the end: an empty page); more than {limits.MAX_TICKET} reads as"
                    f" {limits.MAX_TICKET}, as limit reads as 1000. With tickets: not used (a"
                    " bad one is still a 400)",
                    "schema": {"type": "integer", "minimum": 0, "default": 0},
                },
                {
                    "name": "after",
                    "in": "query",
                    "description": "without tickets: a page of the trades whose ticket is"
                    " above this one (0: the first page), lowest ticket first, with"
                    " next_after (the after of the next page; null: none follows); a trade"
                    " that closes, is deleted or registered between two pages moves no other"
                    " (offset counts rows of an order that moves: a trade can be on neither"
                    " page). With offset: that many tickets above it skipped",
                    "schema": {"type": "integer", "minimum": 0, "maximum": limits.MAX_TICKET},
                },
                {
                    "name": "state",
                    "in": "query",
                    "description": "only trades in one of these states (comma-separated or"
                    " repeated, any case); without tickets, total counts them; with tickets,"
                    " a listed trade in another state is left out (neither in trades nor in"
                    " unknown). An unknown state is a 400 naming state",
                    "schema": {"type": "string", "pattern": _STATE_LIST},
                    "example": "HEDGED,WARNING_L2",
                },
                {
                    "name": "symbol",
                    "in": "query",
                    "description": "only trades on one of these symbols (comma-separated or"
                    " repeated; a name as registration reads it: as sent, else in upper or"
                    " lower case); without tickets, total counts them; with"
                    " tickets, as state does",
                    "schema": {"type": "string", "pattern": _NAME_LIST},
                },
                {
                    "name": "journal",
                    "in": "query",
                    "description": "0: each trade without trade_info.journal and"
                    " actions_taken, most of a trade's bytes (the dashboard's view);"
                    " 1 (default): with them",
                    "schema": {"type": "string", "enum": ["0", "1"], "default": "1"},
                },
            ],
            "responses": {
                "200": _json(
                    "Batch",
                    "known trades by ticket; unknown tickets listed (all trades, or a page"
                    " of them, without tickets)",
                ),
                "400": _json(
                    "FieldError",
                    "bad ticket list (field: tickets), limit, offset, after, state, symbol"
                    " or journal; a parameter this route does not take,"
                    " or one of limit, offset, after and journal given twice (field: its"
                    " name)",
                ),
                **_ERRORS,
            },
        },
        "post": {
            "summary": "Register many trades in one request (a client's outbox); each item"
            " gets its own outcome, in order; idempotent by ticket",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("BatchRegistration")}},
            },
            "responses": {
                "200": _json(
                    "BatchResult",
                    "one result per item: registered, already or refused; success is false"
                    " when any item was refused",
                ),
                "400": _json("FieldError", "invalid JSON, or trades is not a list of 1..200 items"),
                **BODY_REFUSED,
                **_ERRORS,
            },
        },
    },
    "/dtms/trade/{ticket}/closed": {
        "post": {
            "summary": "Report that the trade's position closed: the trade is kept CLOSED"
            " with its reason and profit (its history), not erased; reporting it again"
            " changes nothing",
            "parameters": [_TICKET_PATH],
            "requestBody": {
                "required": False,
                "description": "no body (or only spaces): {}, every field its default",
                "content": {"application/json": {"schema": _ref("ClosedReport")}},
            },
            "responses": {
                "200": _json(
                    "Trade",
                    "the trade, CLOSED, with close_reason and realised_profit (reported"
                    " before: already_closed, the first report's outcome kept, and"
                    " not_applied lists the fields sent otherwise)",
                ),
                "400": _json("FieldError", "bad ticket or field (named in field)"),
                "404": _json("Error", "unknown ticket"),
                "202": _json(
                    "Trade",
                    "with Redis replicas, another replica owns the trade: the close is left for"
                    " it (left_for_owner) and applied at its next cycle, or first when the"
                    " ticket's next request reaches it (the first report stands)",
                ),
                "409": _json(
                    "FieldError",
                    "closed_at is before the trade opened, or more than a day ahead of the"
                    " server's clock (field: closed_at)",
                ),
                **BODY_REFUSED,
                **_ERRORS,
            },
        }
    },
    "/dtms/status": {
        "get": {
            "summary": "Engine status and trade counts per state",
            "responses": {"200": _json("Status", "status"), "400": _NO_PARAMETER, **_ERRORS},
        }
    },
    "/dtms/actions": {
        "get": {
            "summary": "Action and state-change history, oldest first",
            "parameters": [
                {"name": "ticket", "in": "query", "schema": _TICKET},
                {
                    "name": "limit",
                    "in": "query",
                    "description": "how many of the newest entries (the original server's"
                    " 10 when not given); more than 1000 reads as 1000",
                    "schema": {"type": "integer", "minimum": 1, "default": DEFAULT_ACTIONS_LIMIT},
                },
            ],
            "responses": {
                "200": _json("Actions", "the newest entries"),
                "400": _json(
                    "FieldError",
                    "bad ticket or limit, or one of them given twice; a parameter this route"
                    " does not take (field: its name)",
                ),
                **_ERRORS,
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "responses": {
                "200": _json("OpenApi", "OpenAPI 3.1"),
                "400": _NO_PARAMETER,
                "401": _ERRORS["401"],
                "405": _ERRORS["405"],
            },
        }
    },
    **ORIGINAL_PATHS,
}


def document(
    symbols: Sequence[str] | None = None,
    *,
    token: bool = True,
    volume_max: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """A fresh copy of the document (callers may add paths, e.g. the dashboard).

    ``symbols``: when the server knows every symbol its broker trades, the registration
    schema lists them, with each one's maximum volume (``volume_max``, the broker's),
    so that the document says exactly which registrations succeed.
    ``token``: whether the server wants a bearer token (DTMS_TOKEN is set); without one,
    the document declares no security and no 401."""
    doc: dict[str, Any] = copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "DTMS API",
                "version": "1.0.0",
                "description": "Defensive Trade Management System server (dtms serve). "
                "Errors are JSON objects with an error string and a message; a 400 names the"
                " field, and a request aiohttp cannot parse (a request line over"
                f" {MAX_REQUEST_LINE_BYTES} bytes, 128 KiB: room for 5,000 tickets) is a JSON"
                " 400 too. "
                "dtms serve also serves a dashboard page at / (public) and Prometheus "
                "metrics at /metrics (token required); neither is JSON, so neither is here.",
            },
            "paths": PATHS,
            "components": {
                "schemas": SCHEMAS,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            },
            "security": [{"bearer": []}],
        }
    )
    empty_is_absent(doc["paths"])
    add_heads(doc["paths"])
    if not token:
        without_token(doc)
    if symbols is not None:
        registration = doc["components"]["schemas"]["Registration"]["properties"]
        registration["symbol"]["enum"] = list(symbols)
        registration["volume"] = volume(PAPER_VOLUME, "lots, at least 0.01, at most the maximum")
        doc["components"]["schemas"]["Registration"]["allOf"] += paper_volumes(volume_max or {})
    return doc
