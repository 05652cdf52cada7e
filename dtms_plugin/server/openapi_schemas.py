"""The schemas of the DTMS API's OpenAPI document (:mod:`.openapi`): request bodies and
every JSON answer. Every answer but the document itself carries ``success`` (true below
400), the key the original DTMS server's clients test before reading the rest.
"""

from __future__ import annotations

from typing import Any

from . import limits
from .openapi_batch import BATCH_SCHEMAS
from .openapi_status import STATUS_SCHEMAS
from .openapi_types import (
    CLOSE_NOT_APPLIED,
    COMMENT,
    HISTORY_MARK,
    IGNORED,
    IGNORED_COUNT,
    PROFIT,
    REGISTRATION_WARNINGS,
    UNKNOWN_KEYS,
    volume,
)
from .openapi_types import DIRECTION as _DIRECTION
from .openapi_types import LEVEL_OR_TEXT as _LEVEL
from .openapi_types import NUM_OR_NULL as _NUM_OR_NULL
from .openapi_types import PRICE_OR_TEXT as _PRICE
from .openapi_types import STATE as _STATE
from .openapi_types import STR_OR_NULL as _STR_OR_NULL
from .openapi_types import TIME_OR_EPOCH as _TIME
from .validation import TYPE_NAMES

_NULL: dict[str, Any] = {"type": "null"}
#: a price under one of the entry's names: null beside another name's value is none
_PRICE_OR_NULL: dict[str, Any] = {**_PRICE, "type": ["number", "string", "null"]}


def _given(name: str) -> dict[str, Any]:
    """``name`` is sent with a value (not null)."""
    return {"required": [name], "properties": {name: {"not": _NULL}}}


def _same_side(side: str) -> dict[str, Any]:
    """When ``direction`` names ``side``, ``type`` (if sent with a value) names it too:
    the server answers a 400 naming ``type`` when they differ (aliases.py)."""
    pattern = limits.side_pattern(side)
    code = 0 if side == "buy" else 1
    names = [name for name, named in TYPE_NAMES.items() if named == side]
    return {
        "if": {
            "required": ["direction"],
            "properties": {"direction": {"type": "string", "pattern": pattern}},
        },
        "then": {
            "properties": {
                "type": {
                    "anyOf": [
                        {"type": "string", "pattern": pattern},
                        {"type": "integer", "enum": [code]},
                        {"type": "string", "enum": names},
                        _NULL,
                    ]
                }
            }
        },
    }


SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "description": "every error answer (docs/client.md): a short error name, a message"
        " for a person, and field naming the bad field of a 400, 409 or 413",
        "required": ["error", "message", "success"],
        "properties": {
            "success": {"type": "boolean", "enum": [False]},
            "error": {"type": "string"},
            "message": {"type": "string"},
            "field": {"type": "string"},
            "ticket": {"type": "integer"},
            "unregistered_at": {
                "type": "string",
                "description": "a 404 of a ticket unregistered (DELETE): when",
            },
        },
    },
    "FieldError": {
        "description": "an Error that names the field at fault (a 400, 409 or 413)",
        "allOf": [{"$ref": "#/components/schemas/Error"}, {"required": ["field"]}],
    },
    "Registration": {
        "type": "object",
        "description": "a trade to defend."
        + UNKNOWN_KEYS.format(
            guarded="stop_loss (or sl), take_profit (or tp) or opened_at (or open_time, time)"
        ),
        "required": ["ticket", "symbol"],
        # the entry under one of its names with a value (null beside it is none: two
        # values that differ are a 400 naming both), the side under one at least, the
        # two names of the side naming the same one; the other fields' own names win
        # over an alias sent beside them
        "allOf": [
            {"oneOf": [_given(name) for name in ("entry", "entry_price", "open_price")]},
            {"anyOf": [_given("direction"), _given("type")]},
            *(_same_side(side) for side in ("buy", "sell")),
        ],
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
                "description": "a symbol the broker trades, in any case when the broker"
                " has one spelling of it (else 400, field symbol)",
            },
            "direction": {"anyOf": [_DIRECTION, _NULL]},
            "type": {
                "anyOf": [
                    _DIRECTION,
                    {"type": "integer", "enum": [0, 1]},
                    {"type": "string", "enum": list(TYPE_NAMES)},
                    _NULL,
                ],
                "description": "alias of direction (the original's name; MetaTrader's 0 buy,"
                " 1 sell, as numbers, text or POSITION_TYPE_BUY/SELL); sent with direction,"
                " both must name the same side, else a 400 naming type",
            },
            "entry": {
                **_PRICE_OR_NULL,
                "description": "entry price; aliases entry_price, open_price. When the"
                " broker lists an open position under the ticket on this symbol and side,"
                " its entry price and volume (and opening, when none is sent) are kept"
                " instead (docs/client.md)",
            },
            "entry_price": _PRICE_OR_NULL,
            "open_price": _PRICE_OR_NULL,
            "volume": volume(
                _PRICE, "lots, from the symbol's minimum to its maximum volume at the broker"
            ),
            "stop_loss": _LEVEL,
            "sl": {**_LEVEL, "description": "alias of stop_loss; stop_loss wins when both"},
            "take_profit": _LEVEL,
            "tp": {**_LEVEL, "description": "alias of take_profit; take_profit wins when both"},
            "opened_at": {
                **_TIME,
                "description": "ISO 8601 with a timezone, or Unix seconds (milliseconds"
                " from 1e11, microseconds from 1e14), from 1970; null: the server's clock;"
                " aliases open_time, time",
            },
            "open_time": _TIME,
            "time": _TIME,
            "magic": {
                "type": ["integer", "string"],
                "minimum": limits.MIN_MAGIC,
                "maximum": limits.MAX_MAGIC,
                "pattern": limits.MAGIC_PATTERN,
                "description": "an integer, or a string of one",
            },
            "comment": COMMENT,
            "automatic": {
                "type": "boolean",
                "description": "a trading host's own registration: of a position unregistered"
                " (DELETE), a 409 'trade unregistered'; without it, managed again",
            },
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
            "ignored": IGNORED,
            "ignored_count": IGNORED_COUNT,
            "warnings": REGISTRATION_WARNINGS,
            "not_applied": {
                "type": "object",
                "description": "a repeat registration's values that differ from those"
                " the trade was registered with: not applied",
                "additionalProperties": {
                    "type": "object",
                    "required": ["sent", "kept"],
                    "properties": {"sent": {"type": "number"}, "kept": _NUM_OR_NULL},
                },
            },
        },
    },
    "TradeSummary": {
        "type": "object",
        "required": ["ticket", "state", "defensive", "score", "updated_at", "history_mark"],
        "properties": {
            "ticket": {"type": "integer"},
            "state": _STATE,
            "defensive": {"type": "boolean"},
            "score": _NUM_OR_NULL,
            "updated_at": _STR_OR_NULL,
            "history_mark": HISTORY_MARK,
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
            "history_mark": HISTORY_MARK,
            "summary": {
                "type": "string",
                "description": "'Trade T is in STATE state with score S' (n/a: no score yet)",
            },
            "trade_info": {"$ref": "#/components/schemas/TradeInfo"},
            "already_closed": {
                "type": "boolean",
                "description": "a close reported again: the first report's outcome stands",
            },
            "not_applied": CLOSE_NOT_APPLIED,
            "left_for_owner": {
                "type": "boolean",
                "description": "the close was left for the replica that owns the trade",
            },
            "ignored": {**IGNORED, "description": "a close's: " + IGNORED["description"]},
            "ignored_count": IGNORED_COUNT,
            "archived": {
                "type": "array",
                "items": {"type": "object"},
                "description": "earlier trades of this ticket (a broker reused it), oldest"
                " first: opened_at, closed_at, close_reason, realised_profit...; absent: none",
            },
        },
    },
    "TradeInfo": {
        "type": "object",
        "description": "the trade's details; state, current_score, warnings and"
        " actions_taken under the original server's names; GET /dtms/trades with"
        " journal=0 leaves out journal and actions_taken (always there otherwise)",
        "required": ["state", "current_score", "warnings", "deadlines", "hedge_ticket"],
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
    "Unregistered": {
        "type": "object",
        "required": ["ticket", "unregistered"],
        "properties": {
            "ticket": {"type": "integer"},
            "unregistered": {"type": "boolean"},
            "left_for_owner": {"type": "boolean"},
        },
    },
    **STATUS_SCHEMAS,
    **BATCH_SCHEMAS,
    "ClosedReport": {
        "type": "object",
        # realised_profit is described, not declared: a JSON Schema cannot say that two
        # values must be equal, and declared, every schema-valid pair that differs (or,
        # declared one-of, every equal pair) would be answered other than it says
        "description": "a position's close. realised_profit (the profit's name in"
        " trade_info) is read as profit; sent with profit, the two must be equal (else a 400"
        " naming realised_profit)."
        + UNKNOWN_KEYS.format(guarded="profit (or realised_profit), closed_at or close_price"),
        "properties": {
            "reason": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "pattern": limits.PRINTED_CHAR,
                "description": "why it closed, e.g. sl, tp, exit, manual (default: closed);"
                " at least one character that is no space or control character",
            },
            "profit": PROFIT,
            "close_price": {**_PRICE, "type": ["number", "string", "null"]},
            "closed_at": {
                **_TIME,
                "description": "ISO 8601 with a timezone, or Unix seconds (milliseconds"
                " from 1e11, microseconds from 1e14); null: the server's clock",
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
    "DtmsHealth",
    "EngineInfo",
    "Initialized",
    "Status",
    "Actions",
)


def _with_success() -> None:
    for name in ANSWERS:
        schema = SCHEMAS[name]
        schema["required"] = ["success", *schema["required"]]
        schema["properties"] = {"success": {"type": "boolean"}, **schema["properties"]}


_with_success()
