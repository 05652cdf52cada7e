"""The small schemas the OpenAPI document's schemas are built of (:mod:`.openapi_schemas`,
:mod:`.openapi_status`)."""

from __future__ import annotations

from typing import Any

from . import limits

NUM_OR_NULL: dict[str, Any] = {"type": ["number", "null"]}
STR_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}
STATE: dict[str, Any] = {
    "type": "string",
    "enum": ["HEALTHY", "WARNING_L1", "WARNING_L2", "HEDGED", "RECOVERING", "CLOSED"],
}

PRICE: dict[str, Any] = {
    "type": "number",
    "exclusiveMinimum": 0,
    "maximum": limits.MAX_NUMBER,
}
LEVEL: dict[str, Any] = {
    "type": ["number", "null"],
    "minimum": 0,
    "maximum": limits.MAX_NUMBER,
    "description": "null or 0: none",
}
