"""Edits every route of the DTMS API's OpenAPI document gets (:func:`.openapi.document`):
HEAD beside GET, empty query parameters read as absent, no security without a token."""

from __future__ import annotations

from typing import Any


def add_heads(paths: dict[str, Any]) -> None:
    """HEAD beside every GET (RFC 9110; uptime monitors probe with it): the same
    parameters, security and statuses, and no body (the routes answer HEAD as GET)."""
    for ops in paths.values():
        get = ops.get("get")
        if get is None:
            continue
        head: dict[str, Any] = {"summary": f"As GET, without a body: {get['summary']}"}
        head.update({k: get[k] for k in ("parameters", "security") if k in get})
        head["responses"] = {
            status: {"description": response["description"]}
            for status, response in get["responses"].items()
        }
        ops["head"] = head


def empty_is_absent(paths: dict[str, Any]) -> None:
    """Every optional query parameter may be sent empty (``?ticket=&limit=``): the server
    reads it as not given (:mod:`.query`), and says so here for clients and fuzzers."""
    for ops in paths.values():
        for op in ops.values():
            for parameter in op.get("parameters", []):
                if parameter["in"] == "query" and not parameter.get("required"):
                    parameter["allowEmptyValue"] = True
                    described = parameter.get("description")
                    if described and "Empty" in described:  # tickets=: says its own
                        continue
                    empty = "Empty: as if not given."
                    parameter["description"] = f"{described}. {empty}" if described else empty


def without_token(doc: dict[str, Any]) -> None:
    """A server without a token asks for none: no security requirement and no 401 in
    its document, else a client (or a fuzzer) is told every route wants a bearer token
    the server never checks, and reads the 200 it gets without one as a hole."""
    del doc["security"], doc["components"]["securitySchemes"]
    for ops in doc["paths"].values():
        for op in ops.values():
            op.pop("security", None)
            op["responses"].pop("401", None)
