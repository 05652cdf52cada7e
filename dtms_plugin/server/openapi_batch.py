"""The batch registration's schemas of the DTMS API's OpenAPI document
(``POST /dtms/trades``: :mod:`.batch`), part of :data:`.openapi_schemas.SCHEMAS`."""

from __future__ import annotations

from typing import Any

from .openapi_status import ACCOUNT_MODE
from .openapi_types import IGNORED, IGNORED_COUNT, REGISTRATION_WARNINGS
from .openapi_types import STATE as _STATE

BATCH_SCHEMAS: dict[str, Any] = {
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
                **ACCOUNT_MODE,
                "type": ["object", "null"],
                "description": "the AccountMode of /dtms/status while it is on (every trade"
                " defensive); null while it is off, as remote hosts of every version read it",
                "properties": {
                    "defensive": {"type": "boolean", "enum": [True]},
                    "until": {"type": "string", "description": "ISO 8601, engine clock"},
                    "reason": {"type": "string"},
                },
            },
            "total": {"type": "integer", "description": "a page's: every trade the server keeps"},
            "offset": {"type": "integer", "description": "a page's: trades before it"},
            "limit": {"type": "integer", "description": "a page's: the most it holds"},
            "more": {"type": "boolean", "description": "a page's: trades follow it"},
            "after": {"type": "integer", "description": "a page by after: its after"},
            "next_after": {
                "type": ["integer", "null"],
                "description": "a page by after: the next page's after (null: none follows)",
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
            "success": {
                "type": "boolean",
                "description": "true when every item was registered or already was; false"
                " when any was refused (the answer is a 200 still: each item has its own"
                " status and outcome)",
            },
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
                        "status": {
                            "type": "integer",
                            "description": "as POST /dtms/trade/enable would answer: 201"
                            " registered (200 with [plugin.dtms] created_status = 200), 200"
                            " already registered, a 4xx refused",
                        },
                        "success": {"type": "boolean"},
                        "ticket": {"type": ["integer", "string", "null"]},
                        "state": _STATE,
                        "error": {"type": "string"},
                        "field": {"type": "string"},
                        "ignored": IGNORED,
                        "ignored_count": IGNORED_COUNT,
                        "warnings": REGISTRATION_WARNINGS,
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
}
