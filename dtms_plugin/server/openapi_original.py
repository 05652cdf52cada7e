"""The original DTMS server's routes about its engine, in the OpenAPI document
(:mod:`.openapi`; served by :mod:`.original_routes`)."""

from __future__ import annotations

from typing import Any

from .openapi_responses import ERRORS, NO_PARAMETER, json_response

#: the routes' errors but the 503, which each describes itself
_OTHER_ERRORS = {k: v for k, v in ERRORS.items() if k != "503"}

ORIGINAL_PATHS: dict[str, Any] = {
    "/dtms/health": {
        "get": {
            "summary": "The original server's readiness check: ready while the engine runs"
            " (token as every route but /health: it counts the trades)",
            "responses": {
                "200": json_response("DtmsHealth", "ready"),
                "503": json_response(
                    "Error",
                    "not ready: the engine is not running (with the DtmsHealth keys, ready false)",
                ),
                "400": NO_PARAMETER,
                **_OTHER_ERRORS,
            },
        }
    },
    "/dtms/engine": {
        "get": {
            "summary": "The original server's engine information",
            "responses": {
                "200": json_response("EngineInfo", "the engine runs"),
                "503": json_response("Error", "the engine is not running (engine_info: null)"),
                "400": NO_PARAMETER,
                **_OTHER_ERRORS,
            },
        }
    },
    "/dtms/initialize": {
        "post": {
            "summary": "The original server's initialisation: dtms serve starts its engine at"
            " start-up, so this only answers whether it runs (the same on every call;"
            " no body is read)",
            "responses": {
                "200": json_response("Initialized", "the engine runs: nothing to initialise"),
                "503": json_response(
                    "Error", "the engine is not running: a restart starts it (dtms_status)"
                ),
                **_OTHER_ERRORS,
            },
        }
    },
}
