"""JSON bodies for the errors aiohttp answers itself, before any middleware runs.

A request line over the limit, a header aiohttp cannot parse or a bad method never reach
an app: aiohttp's protocol handler answers them with a plain-text page. The host serves
the routes of plugins whose clients are programs (the DTMS API: every error a JSON
object, docs/architecture.md §9), so :func:`hostapp.web.serving` runs the app with
:class:`.web_connections.GuardedAppRunner`, whose connections answer those errors as
``{"error": "bad request", "field": ..., "message": ..., "success": false}`` with the
same status (``success`` because the original DTMS's clients test it), the message on one
line and the field named where aiohttp's error says which (:func:`refusal`).

aiohttp offers no public hook for these bodies: the host's runner
(:mod:`.web_connections`) builds its connections as :class:`JsonErrorRequestHandler`,
which overrides ``handle_error`` and changes nothing else.

The app's router answers a path no plugin routes (404) and another method on a routed path
(405) itself, before any plugin's guard could: :func:`unrouted_json`, the app's own
middleware, gives those the same JSON shape, with the path, or the methods it takes.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import (
    BadStatusLine,
    ContentEncodingError,
    InvalidHeader,
    InvalidURLError,
    PayloadEncodingError,
)
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest


class JsonErrorRequestHandler(RequestHandler):
    """A connection whose protocol errors are answered as JSON."""

    __slots__ = ()

    def bad_request(self, client: str, status: int, message: str) -> None:
        """Say a request aiohttp refused before any app saw it (one line)."""
        self.logger.warning("bad request (HTTP %d) from %s: %s", status, client, message)

    def log_exception(self, *args: Any, **kw: Any) -> None:
        """A body that cannot be read (gzip that does not decode), met when aiohttp reads
        what the handler left of it after the answer, is the client's fault: said as a
        bad request (once per episode where the server counts them), not as an
        "Unhandled exception" with a traceback per request."""
        exc = kw.get("exc_info")
        if isinstance(exc, BODY_ERRORS):
            peer = self.transport.get_extra_info("peername") if self.transport else None
            client = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
            self.bad_request(client, 400, f"a body that cannot be read: {one_line(str(exc))}")
            return
        super().log_exception(*args, **kw)

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if status >= 500:  # aiohttp's own log (a traceback) and "already sent" check
            super().handle_error(request, status, exc, message)
            body: dict[str, Any] = {"error": "internal error", "message": "see the server log"}
        else:  # the client's fault: no traceback (aiohttp logs one)
            status, body = refusal(status, exc, message)
            self.bad_request(request.remote or "", status, body["message"])
            if request.writer.output_size > 0:  # some of an answer went already
                raise ConnectionError("an answer was sent already; the connection is broken")
        response = web.json_response({**body, "success": False}, status=status)
        response.force_close()
        return response


#: What reading a request's body raises when the client sent one that cannot be read (a
#: Content-Encoding that does not decode, a body cut short).
BODY_ERRORS: tuple[type[BaseException], ...] = (web.RequestPayloadError, PayloadEncodingError)


def one_line(text: str) -> str:
    """aiohttp's parser message on one line: its lines joined, the caret line under the
    offending bytes dropped (``Invalid method encountered:\n\n  b'FOO / HTTP/1.1'\n  ^``
    is ``Invalid method encountered: b'FOO / HTTP/1.1'``)."""
    kept = [line.strip() for line in text.splitlines() if line.strip().strip("^~")]
    return " ".join(kept)[:300]


def refusal(
    status: int, exc: BaseException | None, message: str | None
) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of a request aiohttp refused before any app saw it:
    the field at fault named where aiohttp's error says it (``request line``,
    ``headers``, ``Content-Encoding``), its message on one line. A ``Content-Encoding``
    aiohttp knows but cannot decode here (``br`` without the Brotli library) is a 415,
    as an encoding no app reads is (docs/client.md, "Errors"): which library is missing
    is the server's business, not the client's."""
    text = one_line(message or str(exc or ""))
    body: dict[str, Any]
    if isinstance(exc, ContentEncodingError) and "install" in text:
        named = re.search(r"\((\w+)\)", text)
        encoding = f"{named.group(1)!r}" if named else "this encoding"
        return 415, {
            "error": "unsupported media type",
            "field": "Content-Encoding",
            "message": f"Content-Encoding: {encoding} is not decoded by this server;"
            " send the body as identity, gzip or deflate",
        }
    try:
        phrase = HTTPStatus(status).phrase.lower()
    except ValueError:
        phrase = "error"
    body = {"error": phrase, "message": text or phrase}
    if isinstance(exc, (BadStatusLine, InvalidURLError)):  # a bad method, version, target
        body["field"] = "request line"
    elif isinstance(exc, PayloadEncodingError):
        body["field"] = "Content-Encoding" if isinstance(exc, ContentEncodingError) else "body"
    elif isinstance(exc, InvalidHeader) or "header" in text.lower():  # the C parser's
        body["field"] = "headers"  # errors of llhttp are plain BadHttpMessages
    return status, body


@web.middleware
async def unrouted_json(request: web.Request, handler: Any) -> web.StreamResponse:
    """A request no plugin's route took (a 404 or 405 of the router, or a missing file
    of a plugin's static folder), answered as JSON: the host serves programs' APIs, whose
    clients read a plain-text page as no answer at all. Plugins' own answers, their
    error bodies and a handler's own ``HTTPNotFound(text=...)`` included, pass untouched."""
    info = request.match_info
    unrouted = info.http_exception is not None
    static = isinstance(getattr(info.route, "resource", None), web.StaticResource)
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if not (unrouted or static) or exc.status not in (404, 405):
            raise
        where = f"{request.method} {request.path[:200]}"
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        if exc.status == 404:
            body: dict[str, Any] = {
                "error": "not found",
                "message": f"nothing is served at {where}",
                "path": request.path[:200],
            }
        else:
            allowed = sorted(m.strip() for m in headers.get("Allow", "").split(",") if m.strip())
            body = {
                "error": "method not allowed",
                "message": f"{where}: this path takes {', '.join(allowed) or 'no method'}",
                "method": request.method,
                "allowed": allowed,
            }
        return web.json_response({**body, "success": False}, status=exc.status, headers=headers)
