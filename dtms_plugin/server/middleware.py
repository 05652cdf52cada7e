"""Middlewares: every error is JSON, and every route but ``/health`` wants the token.

Why JSON everywhere: the API's clients are programs. A 404 from the router, a 405, a body
too large or a crash must all be bodies a client can parse and show, naming what was wrong
(the field of a 400), never aiohttp's plain-text pages.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any
from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.typedefs import Middleware

from hookspecs import DataError, answered_names

from ..store import StoreError
from . import body as request_body
from .cors import REQUEST_KEY as CORS_REQUEST_KEY
from .cors import origin_key
from .errors import Conflict, EngineUnavailable, RegistrationRejected, error_body
from .unavailable import answered, unavailable
from .validation import FieldError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

log = logging.getLogger("dtms_plugin.server")

#: Paths served without a token: a load balancer's liveness probe has none; the dashboard
#: page and its assets hold no data (the data they fetch sends the token).
PUBLIC_PATHS: frozenset[str] = frozenset(
    {"/health", "/", "/static/dashboard.css", "/static/dashboard.js"}
)


class ApiError(Exception):
    """Raised by handlers for a JSON error response with ``status``."""

    def __init__(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(body.get("message") or body.get("error"))
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})


def json_error(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> web.Response:
    """An error answer. ``body`` is made by :func:`.errors.error_body`; one made some
    other way still leaves in its shape (``error``, ``message``, ``success: false``), so
    no answer of this server lacks a key docs/client.md promises."""
    shaped = {k: v for k, v in body.items() if k not in ("error", "message", "success")}
    error = str(body.get("error") or "error")
    text = body.get("message")
    return web.json_response(
        error_body(error, str(text) if text else error, **shaped), status=status, headers=headers
    )


def _field_of(exc: DataError) -> str:
    """hookspecs errors start with the field's name (``"volume: must be > 0"``)."""
    return str(exc).split(":", 1)[0].strip() or "body"


_HTTP_ERRORS = {
    404: "not found",
    405: "method not allowed",
    413: "request body too large",
    415: "unsupported media type",
}


def client_error(exc: Exception) -> tuple[int, dict[str, Any]]:
    """``(status, body)`` of an error that is the request's fault (4xx), the same for a
    whole request and for one item of a batch. Anything else is re-raised."""
    if isinstance(exc, ApiError) and exc.status < 500:
        return exc.status, exc.body
    if isinstance(exc, request_body.UnsupportedEncoding):
        return 415, error_body("unsupported media type", str(exc), field=exc.field)
    if isinstance(exc, request_body.InvalidJson):
        return 400, error_body("invalid JSON", str(exc), field=exc.field)
    if isinstance(exc, FieldError):
        return 400, error_body("invalid field", str(exc), field=exc.field)
    if isinstance(exc, HttpProcessingError):  # aiohttp's own errors, reading the body
        return exc.code or 400, error_body("bad request", exc.message or "bad body", field="body")
    if isinstance(exc, DataError):
        return 400, error_body("invalid field", str(exc), field=_field_of(exc))
    if isinstance(exc, Conflict):
        return 409, error_body(exc.error, str(exc), field=exc.field, **exc.details)
    if isinstance(exc, RegistrationRejected):
        return 422, error_body("not registered", str(exc))
    raise exc


def http_error(request: web.Request, exc: web.HTTPException) -> web.Response:
    """aiohttp's own error answers (no route, another method, a body too large) in the
    one shape of :func:`.errors.error_body`, never its plain-text pages."""
    headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
    error = _HTTP_ERRORS.get(exc.status, exc.reason.lower())
    where = f"{request.method} {request.path[:200]}"
    if exc.status == 404:
        body = error_body(error, f"nothing is served at {where}", path=request.path)
    elif exc.status == 405:
        allowed = sorted(m.strip() for m in exc.headers.get("Allow", "").split(",") if m.strip())
        message = f"{where}: this path takes {', '.join(allowed) or 'no method'}"
        body = error_body(error, message, method=request.method, allowed=allowed)
    elif exc.status == 413:  # aiohttp's text says the limit and the size sent
        body = error_body(error, exc.text or error, field="body")
    else:
        body = error_body(error, exc.text or error)
    return json_error(exc.status, body, headers)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return answered(request, await handler(request))
    except ApiError as exc:
        return json_error(exc.status, exc.body, exc.headers)
    except (EngineUnavailable, StoreError) as exc:
        unavailable(request, exc)  # once per route and episode, with its count
        return json_error(503, error_body("service unavailable", str(exc)))
    except (
        request_body.InvalidJson, FieldError, HttpProcessingError, DataError,
        Conflict, RegistrationRejected,
    ) as exc:  # fmt: skip
        response = json_error(*client_error(exc))
        if isinstance(exc, request_body.UnreadBody):
            # the body's unread rest must not be read as the next request, nor drained
            # after the answer (it fails again): answer, then close the connection
            response.force_close()
            response.headers.update(request.get(CORS_REQUEST_KEY, {}))  # sent now
            await response.prepare(request)
            await response.write_eof()
            request.protocol.force_close()
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return http_error(request, exc)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return json_error(500, error_body("internal error", "see the server log"))


#: what changes state: a browser sends these cross-site without asking the server first
#: when their body is text or a form (a "simple" request)
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def same_origin_middleware(listed: frozenset[str] = frozenset()) -> Middleware:
    """A 403 for a write a web page of another site sent (its ``Origin`` is not this
    server's, nor one of the ``listed`` ones: ``[plugin.dtms] cors_origins``, as
    :func:`~.cors.origin_key` compares them): a browser sends a POST with a text body
    cross-site without asking, and a server on 127.0.0.1 without a token would take it
    as a client's, so any page the trader opens could report a trade closed (DTMS lets
    it go) or register one. Programs send no ``Origin``; the dashboard's requests come
    from this very origin."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and request.method in _WRITES:
            own = f"{request.scheme}://{request.host}"
            key = origin_key(origin)
            if key != own.lower() and key not in listed:
                message = f"a web page of {origin[:100]} may not change trades here"
                raise ApiError(403, error_body("cross-origin request refused", message))
        return await handler(request)

    return middleware


def host_name_middleware(token: str | None, bound: str) -> Middleware:
    """Without a token, a 403 for a request that names another host than this server's
    (``Host``): a page whose domain was rebound to 127.0.0.1 is same-origin to the browser,
    so only the name it asks by tells it apart (the names: :func:`hookspecs.answered_names`,
    the rule the host's web app applies to every route on the loopback, whatever the
    token). With a token, a pass-through (the page has no token to send)."""
    # bound to every address without a token (--insecure-no-token, said at start-up): any
    # name the network knows it by is meant (None)
    allowed = answered_names(bound)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if token is None and allowed is not None:
            try:
                name = (request.url.host or "").lower()  # the Host header's name, no port
            except ValueError:  # a Host header that is no host name at all
                name = ""
            if name not in allowed:
                message = (
                    f"this server answers as {', '.join(sorted(allowed))}"
                    " (a token lets it answer any name, off the loopback)"
                )
                raise ApiError(403, error_body("host not allowed", message))
        return await handler(request)

    return middleware


def browser_guards(token: str | None, bound: str, origins: Iterable[str] = ()) -> list[Middleware]:
    """What keeps another site's web pages out of an app that serves DTMS's routes on
    ``bound``: a page whose name was rebound to this server (the ``Host`` check) and a
    page that writes cross-site (the ``Origin`` check). ``dtms serve``'s app and the
    routes DTMS adds to a trading host's app (``dtms_plugin.web``) both run these."""
    listed = frozenset(origin_key(o) for o in origins)
    return [host_name_middleware(token, bound), same_origin_middleware(listed)]


def auth_middleware(token: str | None) -> Middleware:
    """Bearer auth when ``token`` is set; a pass-through when it is not."""
    expected = token.encode("utf-8", "surrogateescape") if token else None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if expected is None or request.path in PUBLIC_PATHS:
            return await handler(request)
        header = request.headers.get("Authorization", "")
        scheme, _, presented = header.partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            presented.strip().encode("utf-8", "surrogateescape"), expected
        )
        if not ok:
            error = "invalid token" if header else "missing token"
            challenge = 'Bearer realm="dtms"'
            if header:
                challenge += ', error="invalid_token"'
            message = f"{error}: send Authorization: Bearer <token>"
            raise ApiError(
                401, error_body("unauthorized", message), {"WWW-Authenticate": challenge}
            )
        return await handler(request)

    return middleware


async def read_json(request: web.Request, *, limit: int | None = None, empty: Any = None) -> Any:
    """The request body as JSON, or a 400 that says why not (:mod:`.body`); a 413 over
    ``limit`` bytes; ``empty``: what an empty body reads as (None: a 400)."""
    return await request_body.read_json(request, limit=limit, empty=empty)


#: What a ``Location`` built from the request's raw path and query keeps as it is: the
#: characters of RFC 3986 (the request's own escapes included); any other is escaped
_LOCATION_SAFE = "-._~:/?#[]@!$&'()*+,;=%"


@web.middleware
async def trailing_slash_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``/dtms/status/`` → ``/dtms/status`` (a 308: method and body kept), as the original
    server (FastAPI) redirected: only a path that ends in a slash, is not routed, and is
    routed without it. aiohttp's own normalizer drops the last character of any path.

    The ``Location`` is the raw path and query as the client sent them, never the decoded
    ones: ``/%2fevil.example/health/`` decoded would give ``//evil.example/health``,
    another site's address to a browser (and this runs before the token is asked); a
    decoded ``%0d%0a`` cannot go into a header, a decoded ``%26`` splits a value. A target
    that would start with ``//`` or ``/\\`` is never redirected to (the request goes on,
    to its 404)."""
    raw = request.rel_url.raw_path
    if raw.endswith("/") and raw != "/" and request.match_info.http_exception is not None:
        bare = raw.rstrip("/")
        if bare.startswith("/") and not bare.startswith(("//", "/\\")):
            target = request.rel_url.with_path(bare, encoded=True)
            found = await request.app.router.resolve(request.clone(rel_url=target))
            if found.http_exception is None:
                query = request.rel_url.raw_query_string
                location = quote(bare + (f"?{query}" if query else ""), safe=_LOCATION_SAFE)
                return web.json_response(  # JSON as every answer, with the place to go
                    {"error": "moved", "message": f"use {location}", "location": location,
                     "success": False},
                    status=308,
                    headers={"Location": location},
                )  # fmt: skip
    return await handler(request)
