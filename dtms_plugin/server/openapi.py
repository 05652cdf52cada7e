"""The OpenAPI 3.1 document of the DTMS API, served at ``/openapi.json``.

Written by hand (the API is small) and kept true by a test: every route of the app is in
here with its methods, every path in here is a route, and real responses validate against
the response schemas below.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from . import limits

_NUM_OR_NULL: dict[str, Any] = {"type": ["number", "null"]}
_STR_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
_STATE: dict[str, Any] = {
    "type": "string",
    "enum": ["HEALTHY", "WARNING_L1", "WARNING_L2", "HEDGED", "RECOVERING", "CLOSED"],
}

_PRICE: dict[str, Any] = {
    "type": "number",
    "exclusiveMinimum": 0,
    "maximum": limits.MAX_NUMBER,
}
_LEVEL: dict[str, Any] = {
    "type": ["number", "null"],
    "minimum": 0,
    "maximum": limits.MAX_NUMBER,
    "description": "null or 0: none",
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string"},
            "message": {"type": "string"},
            "field": {"type": "string"},
            "ticket": {"type": "integer"},
        },
    },
    "Registration": {
        "type": "object",
        "required": ["ticket", "symbol", "direction", "volume"],
        # the entry price under one of its two names (both, equal, is tolerated for old
        # clients but not documented)
        "oneOf": [{"required": ["entry"]}, {"required": ["entry_price"]}],
        "properties": {
            "ticket": {
                "type": ["integer", "string"],
                "minimum": 1,
                "maximum": limits.MAX_TICKET,
                "pattern": limits.TICKET_PATTERN,
                "description": "an integer > 0 or a string of digits",
            },
            "symbol": {
                "type": "string",
                "pattern": limits.SYMBOL_PATTERN,
                "description": "a symbol the broker trades (else 400, field symbol)",
            },
            "direction": {
                "type": "string",
                "pattern": limits.DIRECTION_PATTERN,
                "description": "buy or sell, any case",
            },
            "entry": {**_PRICE, "description": "entry price; alias entry_price"},
            "entry_price": _PRICE,
            "volume": _PRICE,
            "stop_loss": _LEVEL,
            "take_profit": _LEVEL,
            "opened_at": {
                "type": ["string", "null"],
                "format": "date-time",
                "maxLength": limits.MAX_TIME_CHARS,
                "description": "ISO 8601 with a timezone; null: the server's clock",
            },
            "magic": {"type": "integer", "minimum": limits.MIN_MAGIC, "maximum": limits.MAX_MAGIC},
            "comment": {"type": "string"},
        },
    },
    "Registered": {
        "type": "object",
        "required": ["ticket", "registered", "already_registered", "state"],
        "properties": {
            "ticket": {"type": "integer"},
            "registered": {"type": "boolean"},
            "already_registered": {"type": "boolean"},
            "state": _STATE,
        },
    },
    "TradeSummary": {
        "type": "object",
        "required": ["ticket", "state", "defensive", "score", "updated_at"],
        "properties": {
            "ticket": {"type": "integer"},
            "state": _STATE,
            "defensive": {"type": "boolean"},
            "score": _NUM_OR_NULL,
            "updated_at": _STR_OR_NULL,
        },
    },
    "Trade": {
        "type": "object",
        "required": [
            "ticket",
            "state",
            "defensive",
            "score",
            "warnings",
            "last_action",
            "updated_at",
            "trade_info",
        ],
        "properties": {
            "ticket": {"type": "integer"},
            "state": _STATE,
            "defensive": {"type": "boolean"},
            "score": _NUM_OR_NULL,
            "warnings": {"type": "array"},
            "last_action": {"type": ["object", "null"]},
            "updated_at": _STR_OR_NULL,
            "trade_info": {
                "type": "object",
                "required": ["deadlines", "hedge_ticket", "journal"],
                "properties": {
                    "symbol": {"type": "string"},
                    "direction": {"type": "string", "enum": ["buy", "sell"]},
                    "entry_price": {"type": "number"},
                    "volume": {"type": "number"},
                    "stop_loss": _NUM_OR_NULL,
                    "take_profit": _NUM_OR_NULL,
                    "r": _NUM_OR_NULL,
                    "deadlines": {"type": "object"},
                    "hedge_ticket": {"type": ["integer", "null"]},
                    "journal": {"type": "array"},
                },
            },
        },
    },
    "Batch": {
        "type": "object",
        "required": ["trades", "unknown", "account_mode"],
        "properties": {
            "trades": {
                "type": "object",
                "additionalProperties": {"$ref": "#/components/schemas/TradeSummary"},
            },
            "unknown": {"type": "array", "items": {"type": "integer"}},
            "account_mode": {
                "type": ["object", "null"],
                "description": "account defensive mode while active: every trade defensive",
                "required": ["until", "reason"],
                "properties": {"until": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
    "Unregistered": {
        "type": "object",
        "required": ["ticket", "unregistered"],
        "properties": {"ticket": {"type": "integer"}, "unregistered": {"type": "boolean"}},
    },
    "Monitor": {
        "type": "object",
        "required": ["running", "cycles", "failures", "consecutive_failures", "last_error"],
        "properties": {
            "running": {"type": "boolean"},
            "cycles": {"type": "integer"},
            "failures": {"type": "integer"},
            "consecutive_failures": {"type": "integer"},
            "last_error": _STR_OR_NULL,
            "last_cycle_at": _STR_OR_NULL,
            "stopped_reason": _STR_OR_NULL,
            "interval_seconds": {"type": "number"},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "engine_running", "problems", "monitor"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "engine_running": {"type": "boolean"},
            "problems": {"type": "array", "items": {"type": "string"}},
            "monitor": {"$ref": "#/components/schemas/Monitor"},
        },
    },
    "Status": {
        "type": "object",
        "required": ["engine", "monitor", "trades", "states", "account_mode"],
        "properties": {
            "engine": {
                "type": "object",
                "required": ["running", "healthy", "strategy", "broker"],
                "properties": {
                    "running": {"type": "boolean"},
                    "healthy": {"type": "boolean"},
                    "strategy": _STR_OR_NULL,
                    "broker": {"type": "string"},
                    "started_at": {"type": "string"},
                    "engine_time": _STR_OR_NULL,
                },
            },
            "monitor": {"$ref": "#/components/schemas/Monitor"},
            "trades": {"type": "integer"},
            "states": {
                "type": "object",
                "required": list(_STATE["enum"]),
                "additionalProperties": {"type": "integer"},
            },
            "account_mode": {
                "type": "object",
                "required": ["defensive", "until", "reason"],
                "properties": {
                    "defensive": {"type": "boolean"},
                    "until": _STR_OR_NULL,
                    "reason": _STR_OR_NULL,
                },
            },
        },
    },
    "Actions": {
        "type": "object",
        "required": ["ticket", "actions"],
        "properties": {
            "ticket": {"type": ["integer", "null"]},
            "actions": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["type", "ticket", "at"],
                    "properties": {
                        "type": {
                            "type": "string",
                            "enum": ["action", "state_change", "unregistered"],
                        },
                        "ticket": {"type": "integer"},
                        "at": {"type": "string"},
                        "kind": {"type": "string"},
                        "ok": {"type": "boolean"},
                        "code": {"type": "string"},
                    },
                },
            },
        },
    },
    "OpenApi": {"type": "object", "required": ["openapi", "paths"]},
}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


_ERRORS = {
    "401": _json("Error", "missing or wrong bearer token"),
    "405": _json("Error", "another method: the Allow header names this path's methods"),
    "503": _json("Error", "the engine or the store is unavailable"),
}
_TICKET = {"type": "integer", "minimum": 1, "maximum": limits.MAX_TICKET}
_TICKET_PATH = {"name": "ticket", "in": "path", "required": True, "schema": _TICKET}

PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "summary": "Liveness and engine summary (no token needed)",
            "security": [],
            "responses": {
                "200": _json("Health", "the engine and its monitoring loop run"),
                "503": _json("Health", "the engine is not running, stuck, or failing"),
                "405": _ERRORS["405"],
            },
        }
    },
    "/dtms/trade/enable": {
        "post": {
            "summary": "Register a trade with the engine (idempotent by ticket)",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("Registration")}},
            },
            "responses": {
                "201": _json("Registered", "registered now"),
                "200": _json("Registered", "already registered (already_registered: true)"),
                "400": _json(
                    "Error",
                    "invalid JSON, nested too deep, an unsupported charset, or a field is"
                    " wrong (named in field)",
                ),
                "409": _json(
                    "Error",
                    "the ticket is a live trade with another direction or symbol (named in field)",
                ),
                "413": _json("Error", "the body is larger than the server accepts (64 KiB)"),
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
                "400": _json("Error", "the ticket is not a positive integer"),
                "404": _json("Error", "unknown ticket"),
                **_ERRORS,
            },
        },
        "delete": {
            "summary": "Stop managing a trade (its position is left alone)",
            "parameters": [_TICKET_PATH],
            "responses": {
                "200": _json("Unregistered", "unregistered"),
                "400": _json("Error", "the ticket is not a positive integer"),
                "404": _json("Error", "unknown ticket"),
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
                    "description": "comma-separated tickets, e.g. 1,2,3. Omitted: every"
                    " managed trade, each in the full Trade shape plus pnl_r (unrealised P&L"
                    " in R at the last evaluation), score_detail (sub-scores, when the engine"
                    " stored them) and last_reason (of the newest transition): the dashboard",
                    "schema": {"type": "string", "pattern": limits.TICKET_LIST_PATTERN},
                }
            ],
            "responses": {
                "200": _json(
                    "Batch",
                    "known trades by ticket; unknown tickets listed (all trades without tickets)",
                ),
                "400": _json("Error", "bad ticket list (field: tickets)"),
                **_ERRORS,
            },
        }
    },
    "/dtms/status": {
        "get": {
            "summary": "Engine status and trade counts per state",
            "responses": {"200": _json("Status", "status"), **_ERRORS},
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
                    "description": "how many of the newest entries; more than 1000 reads as 1000",
                    "schema": {"type": "integer", "minimum": 1, "default": 100},
                },
            ],
            "responses": {
                "200": _json("Actions", "the newest entries"),
                "400": _json("Error", "bad ticket or limit"),
                **_ERRORS,
            },
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This document",
            "responses": {
                "200": _json("OpenApi", "OpenAPI 3.1"),
                "401": _ERRORS["401"],
                "405": _ERRORS["405"],
            },
        }
    },
}


def document(symbols: Sequence[str] | None = None) -> dict[str, Any]:
    """A fresh copy of the document (callers may add paths, e.g. the dashboard).

    ``symbols``: when the server knows every symbol its broker trades, the registration
    schema lists them, so that the document says exactly which registrations succeed."""
    doc: dict[str, Any] = copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "DTMS API",
                "version": "1.0.0",
                "description": "Defensive Trade Management System server (dtms serve). "
                "Errors are JSON objects with an error string; a 400 names the field, and a"
                " request aiohttp cannot parse (a request line over 8190 bytes) is a JSON 400"
                " too. "
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
    if symbols is not None:
        registration = doc["components"]["schemas"]["Registration"]["properties"]
        registration["symbol"]["enum"] = list(symbols)
    return doc
