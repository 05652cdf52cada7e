"""The responses the OpenAPI document's paths are described with (:mod:`.openapi`,
:mod:`.openapi_original`): a schema by reference, and the errors every route shares."""

from __future__ import annotations

from typing import Any


def ref(name: str) -> dict[str, Any]:
    """A schema of the document's components, by name."""
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(name: str, description: str) -> dict[str, Any]:
    """A JSON answer whose body is the schema ``name``."""
    return {"description": description, "content": {"application/json": {"schema": ref(name)}}}


ERRORS: dict[str, Any] = {
    "401": json_response("Error", "missing or wrong bearer token"),
    "403": json_response(
        "Error",
        "without a token: a Host this server does not answer to; for a write, also a web"
        " page of another site (its Origin)",
    ),
    "405": json_response("Error", "another method: the Allow header names this path's methods"),
    "503": json_response("Error", "the engine or the store is unavailable"),
}
#: Every GET route refuses a query parameter it does not take (dtms_plugin/server/query.py)
UNKNOWN_PARAMETER = "a query parameter this route does not take (field: its name)"
NO_PARAMETER = json_response("FieldError", UNKNOWN_PARAMETER)
#: What a route that reads a JSON body answers, besides its 400s, for a body it cannot read
BODY_REFUSED: dict[str, Any] = {
    "413": json_response("FieldError", "the body is larger than the server accepts (64 KiB)"),
    "415": json_response(
        "FieldError",
        "a Content-Encoding this server does not decode (field: Content-Encoding); send the"
        " body as identity, gzip or deflate",
    ),
}
