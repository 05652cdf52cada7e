"""The schemas of the DTMS API's OpenAPI document (:mod:`.openapi`): request bodies and
every JSON answer. Every answer but the document itself carries ``success`` (true below
400), the key the original DTMS server's clients test before reading the rest.
"""

from __future__ import annotations

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
        "required": ["error", "success"],
        "properties": {
            "success": {"type": "boolean", "enum": [False]},
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
        "required": [
            "summary",
            "ticket",
            "registered",
            "already_registered",
            "state",
            "trade_info",
        ],
        "properties": {
            "summary": {
                "type": "string",
                "description": "'DTMS protection enabled for ticket T' or"
                " 'Trade T already registered with DTMS'",
            },
            "trade_info": {"$ref": "#/components/schemas/TradeInfo"},
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
            "summary",
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
            "summary": {
                "type": "string",
                "description": "'Trade T is in STATE state with score S' (n/a: no score yet)",
            },
            "trade_info": {"$ref": "#/components/schemas/TradeInfo"},
            "already_closed": {
                "type": "boolean",
                "description": "a close reported again: the first report's outcome stands",
            },
        },
    },
    "TradeInfo": {
        "type": "object",
        "description": "the trade's details; state, current_score, warnings and"
        " actions_taken under the original server's names",
        "required": [
            "state",
            "current_score",
            "warnings",
            "actions_taken",
            "deadlines",
            "hedge_ticket",
            "journal",
        ],
        "properties": {
            "state": _STATE,
            "current_score": _NUM_OR_NULL,
            "warnings": {"type": "array"},
            "actions_taken": {
                "type": "array",
                "description": "the engine's done actions, oldest first",
                "items": {
                    "type": "object",
                    "required": ["kind", "at"],
                    "properties": {"kind": _STR_OR_NULL, "at": _STR_OR_NULL},
                },
            },
            "symbol": {"type": "string"},
            "direction": {"type": "string", "enum": ["buy", "sell"]},
            "entry_price": {"type": "number"},
            "volume": {"type": "number"},
            "stop_loss": _NUM_OR_NULL,
            "take_profit": _NUM_OR_NULL,
            "r": _NUM_OR_NULL,
            "closed_at": _STR_OR_NULL,
            "close_reason": {"type": "string"},
            "realised_profit": _NUM_OR_NULL,
            "deadlines": {"type": "object"},
            "hedge_ticket": {"type": ["integer", "null"]},
            "journal": {"type": "array"},
            "ticket": {"type": "integer"},
            "type": {
                "type": ["string", "null"],
                "enum": ["BUY", "SELL", None],
                "description": "the original's name: the direction in capitals",
            },
            "open_price": _NUM_OR_NULL,
            "current_price": {
                "type": ["number", "null"],
                "description": "the price at the engine's last evaluation",
            },
            "sl": _NUM_OR_NULL,
            "tp": _NUM_OR_NULL,
            "profit": {
                "type": ["number", "null"],
                "description": "the realised profit of a closed trade; null while open",
            },
            "state_entry_time": _STR_OR_NULL,
            "protection_active": {"type": "boolean"},
            "performance": {
                "type": "object",
                "properties": {"pnl_r": _NUM_OR_NULL},
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
            "total": {"type": "integer", "description": "a page's: every trade the server keeps"},
            "offset": {"type": "integer", "description": "a page's: trades before it"},
            "limit": {"type": "integer", "description": "a page's: the most it holds"},
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
        "required": [
            "status",
            "dtms_initialized",
            "dtms_available",
            "timestamp",
            "engine_running",
            "problems",
            "monitor",
        ],
        "properties": {
            "status": {
                "type": "string",
                "enum": ["healthy", "degraded", "unhealthy"],
                "description": "healthy; degraded: the engine runs but problems says what is"
                " wrong; unhealthy: the engine is not running (the original's values)",
            },
            "dtms_initialized": {"type": "boolean"},
            "dtms_available": {"type": "boolean"},
            "timestamp": {"type": "string"},
            "engine_running": {"type": "boolean"},
            "problems": {"type": "array", "items": {"type": "string"}},
            "waiting": {
                "type": "array",
                "items": {"type": "string"},
                "description": "symbols whose open trades the last cycle could not"
                " evaluate, and why (no bars yet, stale bars): healthy still, but idle there",
            },
            "monitor": {"$ref": "#/components/schemas/Monitor"},
        },
    },
    "Status": {
        "type": "object",
        "required": [
            "engine",
            "monitor",
            "trades",
            "states",
            "account_mode",
            "summary",
            "dtms_status",
        ],
        "properties": {
            "summary": {"type": "string"},
            "dtms_status": {
                "type": "object",
                "description": "the original server's status, from the same figures",
                "required": [
                    "system_active",
                    "uptime",
                    "active_trades",
                    "trades_by_state",
                    "performance",
                    "last_check",
                ],
                "properties": {
                    "system_active": {"type": "boolean"},
                    "uptime": {"type": "string"},
                    "active_trades": {"type": "integer"},
                    "trades_by_state": {
                        "type": "object",
                        "additionalProperties": {"type": "integer"},
                    },
                    "performance": {"type": "object"},
                    "last_check": {"type": "string"},
                },
            },
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
            "scoring": {
                "description": "What the local engine scored without since it started: "
                "per signal, the scorings that lacked it, the hedges and re-adds its "
                "spread rail could not judge, and a note saying which and why.",
                "type": "object",
                "required": ["scorings", "missing_signals", "hedges_without_spread", "note"],
                "properties": {
                    "scorings": {"type": "integer"},
                    "missing_signals": {
                        "type": "object",
                        "additionalProperties": {"type": "integer"},
                    },
                    "hedges_without_spread": {"type": "integer"},
                    "note": _STR_OR_NULL,
                },
            },
        },
    },
    "Actions": {
        "type": "object",
        "required": ["ticket", "actions", "summary", "action_history", "total_actions"],
        "properties": {
            "summary": {"type": "string"},
            "action_history": {
                "type": "array",
                "description": "the entries of actions under the original's names",
                "items": {
                    "type": "object",
                    "required": [
                        "action_type",
                        "ticket",
                        "symbol",
                        "success",
                        "timestamp",
                        "details",
                    ],
                    "properties": {
                        "action_type": _STR_OR_NULL,
                        "ticket": {"type": ["integer", "null"]},
                        "symbol": _STR_OR_NULL,
                        "success": {"type": "boolean"},
                        "timestamp": _STR_OR_NULL,
                        "details": {"type": "object"},
                    },
                },
            },
            "total_actions": {
                "type": "integer",
                "description": "how many entries this answer holds",
            },
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
    "BatchRegistration": {
        "type": "object",
        "required": ["trades"],
        "properties": {
            "trades": {
                "type": "array",
                "minItems": 1,
                "maxItems": 200,
                # any item: one that is not a Registration is refused in its own result
                # (its 400), and the others are registered all the same
                "items": {"description": "a Registration (#/components/schemas/Registration)"},
            }
        },
    },
    "BatchResult": {
        "type": "object",
        "required": ["results", "counts"],
        "properties": {
            "results": {
                "type": "array",
                "description": "in the request's order: a refused item carries its 4xx"
                " status and the error body POST /dtms/trade/enable would answer; the"
                " others the body of a registration",
                "items": {
                    "type": "object",
                    "required": ["index", "outcome", "status", "success"],
                    "properties": {
                        "index": {"type": "integer"},
                        "outcome": {
                            "type": "string",
                            "enum": ["registered", "already_registered", "refused"],
                        },
                        "status": {"type": "integer"},
                        "success": {"type": "boolean"},
                        "ticket": {"type": ["integer", "string", "null"]},
                        "state": _STATE,
                        "error": {"type": "string"},
                        "field": {"type": "string"},
                    },
                },
            },
            "counts": {
                "type": "object",
                "required": ["registered", "already_registered", "refused"],
                "additionalProperties": {"type": "integer"},
            },
        },
    },
    "ClosedReport": {
        "type": "object",
        "properties": {
            "reason": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "pattern": "\\S",
                "description": "why it closed, e.g. sl, tp, exit, manual (default: closed)",
            },
            "profit": {
                "type": ["number", "null"],
                "minimum": -limits.MAX_NUMBER,
                "maximum": limits.MAX_NUMBER,
                "description": "realised profit in account currency (default 0)",
            },
            "close_price": {**_NUM_OR_NULL, "exclusiveMinimum": 0, "maximum": limits.MAX_NUMBER},
            "closed_at": {
                "type": ["string", "null"],
                "format": "date-time",
                "maxLength": limits.MAX_TIME_CHARS,
                "description": "ISO 8601 with a timezone; null: the server's clock",
            },
        },
    },
    "OpenApi": {"type": "object", "required": ["openapi", "paths"]},
}


#: The answers of the API (every schema a route answers with, but Error and the document):
#: each carries ``success``, true (below 400) or false (Health's 503).
ANSWERS = (
    "Registered",
    "Trade",
    "Batch",
    "BatchResult",
    "Unregistered",
    "Health",
    "Status",
    "Actions",
)


def _with_success() -> None:
    for name in ANSWERS:
        schema = SCHEMAS[name]
        schema["required"] = ["success", *schema["required"]]
        schema["properties"] = {"success": {"type": "boolean"}, **schema["properties"]}


_with_success()
