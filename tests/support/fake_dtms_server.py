"""A small, real DTMS API server for client tests (aiohttp.web on 127.0.0.1).

It speaks the routes the remote strategy uses (docs/architecture.md §9), is idempotent by
ticket like the real server, counts what it receives, and injects faults on demand: answer a
status N times, stall past the client's timeout, drop the connection. It can be stopped
and started again on the same port to play "server down, then back".
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from aiohttp import web

from hookspecs import AccountInfo, HostView, Trade

#: Fault plans by route. ``enable`` also applies per item of a ``batch`` request (a status
#: below 500 refuses that item; anything else fails the whole batch, as the real server's
#: 503 does); ``batch`` faults fail the whole ``POST /dtms/trades``.
ROUTES = ("enable", "batch", "trade", "trades", "delete", "closed")


@dataclass
class Fault:
    kind: str  # "status" | "stall" | "drop"
    status: int = 503
    message: str = "injected"
    seconds: float = 0.0


@dataclass
class FakeDtms:
    """State and fault plan of the fake server; start with :meth:`start`."""

    token: str | None = None
    registered: dict[int, dict[str, Any]] = field(default_factory=dict)
    states: dict[int, str] = field(default_factory=dict)  # override per ticket
    account_mode: dict[str, Any] | None = None  # sent in batch answers when set
    account_defensive: bool = False  # every trade answers defensive, as the real server does
    enable_ok: Counter[int] = field(default_factory=Counter)  # 2xx enable answers per ticket
    enable_attempts: Counter[int] = field(default_factory=Counter)  # requests that arrived
    deleted: Counter[int] = field(default_factory=Counter)
    closed: dict[int, dict[str, Any]] = field(default_factory=dict)  # ticket -> report
    batch_sizes: list[int] = field(default_factory=list)
    hits: Counter[str] = field(default_factory=Counter)  # per route, faults included
    health_asked: int = 0  # GET /health, apart from ``hits``
    status_asked: int = 0  # GET /dtms/status, apart from ``hits``
    batch_tickets: list[list[int]] = field(default_factory=list)
    auth_headers: list[str | None] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=lambda: {r: [] for r in ROUTES})
    port: int = 0
    _runner: web.AppRunner | None = None

    # -- fault plan -------------------------------------------------------------
    def fail(self, route: str, times: int, status: int = 503, message: str = "injected") -> None:
        self.faults[route].extend(Fault("status", status, message) for _ in range(times))

    def stall(self, route: str, times: int, seconds: float) -> None:
        self.faults[route].extend(Fault("stall", seconds=seconds) for _ in range(times))

    def drop(self, route: str, times: int) -> None:
        self.faults[route].extend(Fault("drop") for _ in range(times))

    # -- lifecycle --------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeDtms:
        """Listen on 127.0.0.1 (a random port the first time, the same port afterwards)."""
        app = web.Application()
        app.router.add_post("/dtms/trade/enable", self._enable)
        app.router.add_get("/dtms/trades", self._trades)
        app.router.add_get("/dtms/trade/{ticket}", self._trade)
        app.router.add_delete("/dtms/trade/{ticket}", self._delete)
        app.router.add_post("/dtms/trades", self._enable_many)
        app.router.add_post("/dtms/trade/{ticket}/closed", self._closed)
        app.router.add_get("/health", self._health)
        app.router.add_get("/dtms/status", self._status)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        sockets = runner.addresses
        self.port = sockets[0][1]
        self._runner = runner
        return self

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    # -- handlers ---------------------------------------------------------------
    async def _fault(self, route: str, request: web.Request) -> web.StreamResponse | None:
        self.hits[route] += 1
        self.auth_headers.append(request.headers.get("Authorization"))
        if (
            self.token is not None
            and request.headers.get("Authorization") != f"Bearer {self.token}"
        ):
            return web.json_response({"error": "missing or bad token"}, status=401)
        if not self.faults[route]:
            return None
        return await self._apply(self.faults[route].pop(0), request)

    async def _apply(self, fault: Fault, request: web.Request) -> web.StreamResponse | None:
        if fault.kind == "status":  # a 2xx fault says it failed, as a server may
            failed = {"success": False} if fault.status < 300 else {}
            return web.json_response({**failed, "error": fault.message}, status=fault.status)
        if fault.kind == "stall":
            await asyncio.sleep(fault.seconds)
            return None
        assert request.transport is not None
        request.transport.close()  # the client sees the connection dropped, no answer
        raise asyncio.CancelledError

    async def _status(self, request: web.Request) -> web.StreamResponse:
        """As the real server: behind the token; counted apart from the hits."""
        self.status_asked += 1
        if (
            self.token is not None
            and request.headers.get("Authorization") != f"Bearer {self.token}"
        ):
            return web.json_response({"error": "invalid token"}, status=401)
        return web.json_response({"trades": len(self.registered)})

    async def _health(self, request: web.Request) -> web.StreamResponse:
        """As the real server: open to anyone; counted apart from the hits."""
        self.health_asked += 1
        return web.json_response({"status": "healthy"})

    def _state_of(self, ticket: int) -> dict[str, Any]:
        state = self.states.get(ticket, "HEALTHY")
        return {
            "ticket": ticket,
            "state": state,
            "defensive": self.account_defensive or state in ("WARNING_L2", "HEDGED"),
            "trade_info": self.registered.get(ticket, {}),
        }

    async def _enable(self, request: web.Request) -> web.StreamResponse:
        fault = await self._fault("enable", request)
        if fault is not None:
            return fault
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": "invalid JSON"}, status=400)
        status, answer = self._register(body)
        return web.json_response(answer, status=status)

    def _register(self, body: Any) -> tuple[int, dict[str, Any]]:
        ticket = body.get("ticket") if isinstance(body, dict) else None
        if not isinstance(ticket, int) or ticket <= 0:
            return 400, {"error": "field 'ticket': expected an int > 0"}
        for name in ("symbol", "direction", "entry", "volume", "stop_loss", "take_profit"):
            if name not in body:
                return 400, {"error": f"field {name!r}: missing", "ticket": ticket}
        self.enable_attempts[ticket] += 1
        self.enable_ok[ticket] += 1
        if ticket in self.registered:
            return 200, {"status": "already_registered", "ticket": ticket}
        self.registered[ticket] = body
        return 201, {"status": "registered", "ticket": ticket}

    async def _enable_many(self, request: web.Request) -> web.StreamResponse:
        fault = await self._fault("batch", request)
        if fault is not None:
            return fault
        body = await request.json()
        items = body.get("trades") if isinstance(body, dict) else None
        if not isinstance(items, list):
            return web.json_response({"error": "trades: expected a list"}, status=400)
        self.batch_sizes.append(len(items))
        results: list[dict[str, Any]] = []
        for item in items:
            self.hits["enable"] += 1
            plan = self.faults["enable"]
            planned = plan.pop(0) if plan else None
            refuses_item = planned is not None and planned.kind == "status"
            if (
                planned is not None
                and refuses_item
                and planned.status < 500
                and planned.status != 429
            ):
                # a 4xx but 429: this item refused, the others go on
                results.append({"status": planned.status, "error": planned.message})
                continue
            if planned is not None:  # a whole-request fault
                fault = await self._apply(planned, request)
                if fault is not None:
                    return fault
            status, answer = self._register(item)
            results.append({**answer, "status": status})
        return web.json_response({"results": results})

    async def _closed(self, request: web.Request) -> web.StreamResponse:
        fault = await self._fault("closed", request)
        if fault is not None:
            return fault
        ticket = int(request.match_info["ticket"])
        if ticket not in self.registered:
            return web.json_response({"error": "trade not found", "ticket": ticket}, status=404)
        self.closed.setdefault(ticket, await request.json())
        self.states[ticket] = "CLOSED"
        return web.json_response(self._state_of(ticket))

    async def _trades(self, request: web.Request) -> web.StreamResponse:
        fault = await self._fault("trades", request)
        if fault is not None:
            return fault
        raw = request.query.get("tickets", "")
        try:
            tickets = [int(t) for t in raw.split(",") if t]
        except ValueError:
            return web.json_response({"error": "tickets: expected ints"}, status=400)
        self.batch_tickets.append(tickets)
        known = [t for t in tickets if t in self.registered or t in self.states]
        answer: dict[str, Any] = {
            "trades": {str(t): self._state_of(t) for t in known},
            "unknown": [t for t in tickets if t not in known],
        }
        if self.account_mode is not None:
            answer["account_mode"] = self.account_mode
        return web.json_response(answer)

    async def _trade(self, request: web.Request) -> web.StreamResponse:
        fault = await self._fault("trade", request)
        if fault is not None:
            return fault
        ticket = int(request.match_info["ticket"])
        if ticket not in self.registered and ticket not in self.states:
            return web.json_response({"error": "trade not found", "ticket": ticket}, status=404)
        return web.json_response(self._state_of(ticket))

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        fault = await self._fault("delete", request)
        if fault is not None:
            return fault
        ticket = int(request.match_info["ticket"])
        self.deleted[ticket] += 1
        if self.registered.pop(ticket, None) is None:
            return web.json_response({"error": "trade not found", "ticket": ticket}, status=404)
        return web.json_response({"status": "unregistered", "ticket": ticket})


# -- doubles for the client side -------------------------------------------------

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class _Ticking:
    read: Callable[[], datetime]

    def now(self) -> datetime:
        return self.read()


class _NoPositions:
    """A broker without open positions (a trade the server forgot is not re-sent)."""

    def position(self, ticket: int) -> None:
        return None

    def account(self) -> AccountInfo:
        """An account in memory: it names itself not, so no store checks it."""
        return AccountInfo(1, 1e4, 1e4, "hedging")


@dataclass(frozen=True)
class _TimedHost:
    """The part of the host the remote strategy reads: its clock (the account mode's
    end is on the trading clock) and its broker's positions."""

    clock: _Ticking
    broker: _NoPositions = field(default_factory=_NoPositions)


def host_on(read: Callable[[], datetime]) -> HostView:
    """A host whose trading clock reads ``read`` (a :class:`Clock`, say)."""
    return cast(HostView, _TimedHost(_Ticking(read)))


HOST = host_on(lambda: datetime.now(UTC))


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Sleeps:
    """Records the waits the strategy asks for and returns at once."""

    delays: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def trade(ticket: int, **overrides: Any) -> Trade:
    fields: dict[str, Any] = {
        "ticket": ticket,
        "symbol": "XAUUSD",
        "direction": "buy",
        "volume": 0.1,
        "entry_price": 2000.0,
        "stop_loss": 1990.0,
        "take_profit": 2020.0,
        "opened_at": T0,
    }
    fields.update(overrides)
    return Trade(**fields)
