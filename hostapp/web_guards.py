"""The host's own middlewares on its web app (:mod:`hostapp.web`), around every plugin's
routes: what no plugin can do for the others, since each guards only its own handlers.

* :func:`loopback_names`: on the loopback (the default bind), a request whose ``Host``
  names another machine is a 403, for every route: a page whose domain was rebound to
  127.0.0.1 (DNS rebinding) is the same origin as that domain to the browser, and could
  otherwise read what any plugin serves here. The names are
  :func:`hookspecs.answered_names`, DTMS's own rule off the loopback.
* :func:`plugin_failures`: a plugin's handler that raises (anything but the HTTP answer
  it chose) or returns no response is a JSON 500 naming nothing of the server's insides,
  and one ERROR line naming the plugin and the route, once per episode with a count
  (:meth:`hostapp.isolation.Isolation.route_failed`; its traceback to the log file, as
  for a hook). aiohttp said it as a bare "Error handling request" with a traceback under
  ``aiohttp.server``, naming neither, and a handler's ``SystemExit`` ended the server.
  A request the server's stop cuts off (its body still arriving, :class:`Stopping`) is
  a 503 asking for it again, no fault of the plugin: it was never handled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from hookspecs import answered_names, is_loopback

from .web_errors import BODY_ERRORS, one_line

if TYPE_CHECKING:
    from .pluginhost import PluginHost

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def loopback_names(bound: str, owners: Owners) -> Middleware | None:
    """The Host check of an app bound to ``bound``: None off the loopback (an address
    someone chose to expose, whose names the host cannot know; each plugin guards its
    routes there, as DTMS does without a token). A request routed into a plugin's own
    ``web.Application`` is left to that app's middlewares, which run around it: they know
    what the host cannot (``dtms serve``'s app answers any name once it has a token, so a
    reverse proxy that passes on its public ``Host``, as Caddy's and Traefik's do, reaches
    it; without a token it checks the names itself)."""
    allowed = answered_names(bound)
    if allowed is None or not is_loopback(bound):
        return None
    names = ", ".join(sorted(allowed))

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if owners.own_app(request):
            return await handler(request)
        try:
            name = (request.url.host or "").lower()  # the Host header's name, no port
        except ValueError:  # a Host header that is no host name at all
            name = ""
        if name not in allowed:
            body = {
                "error": "host not allowed",
                "message": f"this server answers as {names}: it listens on the loopback",
                "success": False,
            }
            return web.json_response(body, status=403)
        return await handler(request)

    return middleware


class Owners:
    """Which plugin serves a request: by the route it matched (route definitions) or by
    the application it was routed into (a plugin's own app)."""

    def __init__(self) -> None:
        self._routes: dict[int, str] = {}
        self._apps: dict[int, str] = {}
        self._kept: list[Any] = []  # what the ids stand for stays alive with the app

    def add_routes(self, name: str, routes: list[Any]) -> None:
        for route in routes:
            self._routes[id(route)] = name
        self._kept.extend(routes)

    def add_app(self, name: str, app: web.Application) -> None:
        self._apps[id(app)] = name
        self._kept.append(app)

    def own_app(self, request: web.Request) -> bool:
        """Was the request routed into a plugin's own application (its middlewares run)?"""
        return any(id(app) in self._apps for app in request.match_info.apps[1:])

    def of(self, request: web.Request) -> str | None:
        info = request.match_info
        for app in info.apps[1:]:  # the host's app first, then the plugin's own
            owner = self._apps.get(id(app))
            if owner is not None:
                return owner
        return self._routes.get(id(info.route))


def route_of(request: web.Request) -> str:
    """``GET /dtms/trade/{ticket}``: the route as it is declared, so that every ticket's
    failures are one episode, not one each."""
    resource = getattr(request.match_info.route, "resource", None)
    path = getattr(resource, "canonical", None) or request.path[:100]
    return f"{request.method} {path}"


#: What the client is told of a plugin's failure: that the server failed, nothing of how.
FAILED = {
    "error": "internal error",
    "message": "the server failed to answer this request; its log says why",
    "success": False,
}


#: What a client is told of a request the server's stop cut off before it was handled.
STOPPED = {
    "error": "server stopping",
    "message": "the server stopped before this request was handled: send it again",
    "success": False,
}


class Stopping:
    """Whether the server has begun to stop (:func:`hostapp.web.serving` sets it): its
    stop cancels the requests still under way, which a handler sees as a
    CancelledError that is neither its task's cancellation nor a fault of its own."""

    __slots__ = ("now",)

    def __init__(self) -> None:
        self.now = False


#: where the app keeps its :class:`Stopping`
STOPPING = web.AppKey("hostapp_stopping", Stopping)


def plugin_failures(owners: Owners, plugins: PluginHost, stopping: Stopping) -> Middleware:
    """A plugin's failing handler as a JSON 500, said and counted as its failure."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        owner = owners.of(request)
        if owner is None:  # unrouted: the router's own 404/405 (web_errors.unrouted_json)
            return await handler(request)
        route = route_of(request)
        try:
            response = await handler(request)
        except web.HTTPException:
            raise  # the answer the plugin chose, an error status included
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                if not plugins.stop_asked(owner, route, exc):
                    raise  # the user's abort, wherever it lands
            elif stopping.now and isinstance(exc, asyncio.CancelledError):
                return web.json_response(STOPPED, status=503, headers={"Retry-After": "5"})
            elif _client_gone(request, exc):
                # the client left, or the server closed its connection (a request
                # not received in time: hostapp/web_connections.py), while the
                # handler read its body: nobody to answer, and no fault of the plugin
                return web.json_response(FAILED, status=400)
            elif isinstance(exc, BODY_ERRORS):  # a body that cannot be read: the client's
                message = f"a body that cannot be read: {one_line(str(exc))}"
                return web.json_response(
                    {"success": False, "error": "bad request", "field": "body", "message": message},
                    status=400,
                )
            elif _plugins(exc):
                plugins.route_failed(owner, route, exc)
            else:
                raise
            return web.json_response(FAILED, status=500)
        if not isinstance(response, web.StreamResponse):
            wrong = TypeError(f"the handler returned {type(response).__name__}, not a response")
            plugins.route_failed(owner, route, wrong)
            return web.json_response(FAILED, status=500)
        plugins.route_answered(owner, route)
        return response

    return middleware


def _client_gone(request: web.Request, exc: BaseException) -> bool:
    """Is ``exc`` the loss of the request's connection (no transport, or one closing)?"""
    transport = request.transport
    return isinstance(exc, ConnectionError) and (transport is None or transport.is_closing())


def _plugins(exc: BaseException) -> bool:
    """Is ``exc`` out of a handler the plugin's? Not the server's cancellation of the
    request's task (a client gone, the server stopping) nor the closing of its coroutine;
    a KeyboardInterrupt is asked about apart (hostapp.isolation)."""
    if isinstance(exc, GeneratorExit):
        return False
    if isinstance(exc, asyncio.CancelledError):
        task = asyncio.current_task()
        return task is not None and not task.cancelling()
    return True
