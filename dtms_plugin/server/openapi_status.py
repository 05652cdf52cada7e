"""The schemas of the DTMS API's answers about the server itself (:mod:`.openapi`):
``/health``, ``/dtms/status`` and ``/dtms/actions``, the original server's names included.
"""

from __future__ import annotations

from typing import Any

from .openapi_types import STATE as _STATE
from .openapi_types import STR_OR_NULL as _STR_OR_NULL
from .status_settings import SETTINGS_IN_FORCE

#: The account defensive mode wherever an answer shows it (``views.account_mode_view``):
#: ``/dtms/status`` always, ``GET /dtms/trades`` while it is on (null while it is off).
ACCOUNT_MODE: dict[str, Any] = {
    "type": "object",
    "description": "the account defensive mode: while on (after a daily loss past its limit,"
    " say), every open trade is defensive and new entries are vetoed; until and reason are"
    " the mode's while it is on, null while it is off",
    "required": ["defensive", "until", "reason"],
    "properties": {
        "defensive": {"type": "boolean"},
        "until": {**_STR_OR_NULL, "description": "ISO 8601, on the engine's clock"},
        "reason": _STR_OR_NULL,
    },
}

#: ``/health``'s and ``/dtms/status``'s trades skipped for their own error (local_isolation)
FAILING_TRADES: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "description": "trades whose own step of the cycle failed (each named, with the error and"
    " how many times in a row): skipped, their records kept as they were, every other trade"
    " managed; healthy still, as one trade's problem",
}

#: ``/health``'s and ``/dtms/status``'s (``engine``) list of what the engine waits for
WAITING: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "description": "what the engine waits for, healthy still but idle there: the account's"
    " clock standing (a paper account file no trading host drives: nothing is closed, moved"
    " or found gone until one does), and the symbols whose open trades the last cycle could"
    " not evaluate, and why (no bars yet, stale bars)",
}

#: ``engine_info.last_fast_check`` and ``last_deep_check``: ticket -> Unix time or null
_CHECKED_AT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": ["number", "null"]},
}

#: ``dtms_status.performance``: the original's counts (since the server started) and this
#: server's own cycles
_PERFORMANCE: dict[str, Any] = {
    "type": "object",
    "required": [
        "cycles",
        "failed_cycles",
        "fast_checks_total",
        "deep_checks_total",
        "actions_executed",
        "state_transitions",
        "fast_checks_per_hour",
        "deep_checks_per_hour",
    ],
    "properties": {
        "cycles": {"type": "integer", "minimum": 0},
        "failed_cycles": {"type": "integer", "minimum": 0},
        "fast_checks_total": {
            "type": "integer",
            "minimum": 0,
            "description": "evaluations of open trades (each cycle evaluates each)",
        },
        "deep_checks_total": {
            "type": "integer",
            "minimum": 0,
            "description": "scorings (on a new closed fast bar, or an adverse move)",
        },
        "actions_executed": {
            "type": "integer",
            "minimum": 0,
            "description": "actions the broker answered, failed ones included",
        },
        "state_transitions": {"type": "integer", "minimum": 0},
        "fast_checks_per_hour": {"type": "number", "minimum": 0},
        "deep_checks_per_hour": {"type": "number", "minimum": 0},
    },
}

STATUS_SCHEMAS: dict[str, Any] = {
    "DtmsHealth": {
        "type": "object",
        "description": "the original server's readiness answer (its scripts wait for ready)",
        "required": [
            "dtms_initialized",
            "monitoring_active",
            "active_trades",
            "ready",
            "problems",
            "timestamp",
        ],
        "properties": {
            "dtms_initialized": {"type": "boolean"},
            "monitoring_active": {"type": "boolean"},
            "active_trades": {"type": "integer", "description": "trades not CLOSED"},
            "ready": {"type": "boolean", "description": "the engine runs and registers"},
            "problems": {
                "type": "array",
                "items": {"type": "string"},
                "description": "as /health's: what is wrong, if anything",
            },
            "timestamp": {"type": "string"},
        },
    },
    "EngineInfo": {
        "type": "object",
        "required": ["summary", "engine_info"],
        "properties": {
            "summary": {"type": "string"},
            "engine_info": {
                "type": "object",
                "required": [
                    "monitoring_active",
                    "active_trades_count",
                    "last_fast_check",
                    "last_deep_check",
                ],
                "properties": {
                    "monitoring_active": {"type": "boolean"},
                    "active_trades_count": {"type": "integer"},
                    "last_fast_check": {
                        **_CHECKED_AT,
                        "description": "each open trade's ticket: the Unix time in seconds"
                        " (the engine's clock) of its latest evaluation (each cycle), null"
                        " before its first since the server started",
                    },
                    "last_deep_check": {
                        **_CHECKED_AT,
                        "description": "as last_fast_check, of its latest scoring (a new"
                        " closed fast bar, or an adverse move)",
                    },
                },
            },
        },
    },
    "Initialized": {
        "type": "object",
        "required": ["summary", "dtms_status"],
        "properties": {
            "summary": {"type": "string"},
            "dtms_status": {
                "type": "object",
                "required": ["system_active", "already_initialized"],
                "properties": {
                    "system_active": {"type": "boolean", "enum": [True]},
                    "already_initialized": {"type": "boolean", "enum": [True]},
                },
            },
        },
    },
    "AccountMode": ACCOUNT_MODE,
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
            "damaged": {
                "description": "Keys of the shared store found unreadable (edited by hand, "
                "the wrong type), each treated as absent: they hide only themselves.",
                "type": "array",
                "items": {"type": "string"},
            },
            "waiting": WAITING,
            "failing_trades": FAILING_TRADES,
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
                    "performance": _PERFORMANCE,
                    "last_check": {"type": "string"},
                },
            },
            "engine": {
                "type": "object",
                "required": ["running", "healthy", "strategy", "broker"],
                "properties": {
                    "running": {"type": "boolean"},
                    "healthy": {"type": "boolean"},
                    "problems": {"type": "array", "items": {"type": "string"}},
                    "failing_trades": FAILING_TRADES,
                    "waiting": {**WAITING, "description": "as /health's waiting"},
                    "strategy": _STR_OR_NULL,
                    "broker": {"type": "string"},
                    "started_at": {"type": "string"},
                    "engine_time": _STR_OR_NULL,
                },
            },
            "monitor": {"$ref": "#/components/schemas/Monitor"},
            "trades": {"type": "integer"},
            "archived": {
                "type": "integer",
                "description": "closed trades of reused tickets, kept aside (not in trades)",
            },
            "states": {
                "type": "object",
                "required": list(_STATE["enum"]),
                "additionalProperties": {"type": "integer"},
            },
            "account_mode": {"$ref": "#/components/schemas/AccountMode"},
            "settings": SETTINGS_IN_FORCE,
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
                "minimum": 0,
                "description": "how many entries the history keeps (of the ticket, when"
                " one is asked about), of which this answer holds the newest: the"
                " original's count of its whole history",
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
                        "opened_at": {
                            "type": "string",
                            "description": "the opening of the trade the entry is about (a"
                            " ticket handed out again holds an earlier trade's entries too)",
                        },
                        "from": _STATE,
                        "to": _STATE,
                        "reason": {"type": "string"},
                        "details": {
                            "type": "object",
                            "description": "a state change's score breakdown (total,"
                            " subscores, weights, ...), empty when no score decided it",
                        },
                        "key": {"type": "string", "description": "an action's idempotency key"},
                        "params": {"type": "object"},
                        "source": {"type": "string", "description": "the planning plugin"},
                        "message": {"type": "string"},
                        "new_ticket": {"type": ["integer", "null"]},
                        "filled_volume": {"type": ["number", "null"]},
                        "netting": {
                            "type": ["string", "null"],
                            "enum": ["added", "reduced", "closed", "reversed", None],
                        },
                    },
                },
            },
        },
    },
}
