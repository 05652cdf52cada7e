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
            return await handler(request)
        headers = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            preflight = {
                "Access-Control-Allow-Methods": METHODS,
                "Access-Control-Allow-Headers": HEADERS,
                "Access-Control-Max-Age": str(MAX_AGE_SECONDS),
            }
            return web.Response(status=204, headers={**headers, **preflight})
        response = await handler(request)
        response.headers.update(headers)
        return response

    return middleware
