"""Web pages of other sites that the operator lets read and call ``dtms serve``:
``[plugin.dtms] cors_origins`` (docs/client.md, "Browser pages").

Why opt-in: the original DTMS answered every origin (``Access-Control-Allow-Origin: *``),
so the browser pages written for it (a dashboard served by another program on
``http://localhost:8000``) could fetch ``/dtms/status``. Answering every origin would let
any page the trader opens read the trades, and, on a server without a token, change them
(the ``Origin`` check of :mod:`.middleware` refuses such writes). So no origin is allowed
unless listed; a listed one gets the CORS headers on every answer, its preflight
(``OPTIONS``) is answered before the token is asked (browsers send none with it), and its
writes pass the ``Origin`` check. A token, when set, is still required of its requests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: What a listed page may send: the API's methods and the headers its requests carry.
METHODS = "GET, HEAD, POST, DELETE"
HEADERS = "Authorization, Content-Type"
#: How long a browser may keep a preflight's answer.
MAX_AGE_SECONDS = 600
#: Where a listed page's request keeps its CORS headers, for an answer written before
#: this middleware sees it (the error middleware's answer to a body it cannot read).
REQUEST_KEY = web.RequestKey("dtms_cors_headers", dict)


def origin_key(origin: str) -> str:
    """An origin as compared: lower case, no trailing slash."""
    return origin.strip().rstrip("/").lower()


def cors_middleware(origins: Iterable[str]) -> Middleware:
    """The CORS headers for the listed ``origins``, and their preflights answered (204);
    a pass-through for every other request, as before."""
    allowed = frozenset(origin_key(o) for o in origins)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is None or origin_key(origin) not in allowed:
            response = await handler(request)
            if allowed:  # a cache must not give a listed page this answer without them
                vary_origin(response)
            return response
        headers = {"Access-Control-Allow-Origin": origin}
        request[REQUEST_KEY] = headers
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            preflight = {
                "Access-Control-Allow-Methods": METHODS,
                "Access-Control-Allow-Headers": HEADERS,
                "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
            }
            response = web.Response(status=204, headers={**headers, **preflight})
        else:
            response = await handler(request)
            response.headers.update(headers)
        vary_origin(response)
        return response

    return middleware


def vary_origin(response: web.StreamResponse) -> None:
    """``Vary: Origin`` added to what the answer varies by already."""
    vary = response.headers.get("Vary", "")
    if "origin" not in vary.lower():
        response.headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
