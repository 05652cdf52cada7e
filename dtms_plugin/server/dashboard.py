"""The DTMS dashboard: a page at ``/`` that shows what DTMS is doing, updated live.

Why plain files polled with ``fetch``: the page must work on a trading machine with no
internet and no build tools, so it is one HTML, one CSS and one JS file from package data,
reading the same JSON API as every other client (``GET /dtms/trades`` without ``tickets``,
``/dtms/status``, ``/dtms/actions``) every two seconds.

Auth: the page and its two assets are public (they hold no data; see ``PUBLIC_PATHS``);
every data request the page makes carries ``Authorization: Bearer`` with the token the
user typed into the page, which the browser keeps in ``localStorage``.

Two ways to serve it:

* :func:`add_dashboard` adds the page and ``/metrics`` to the DTMS API app
  (``dtms serve``);
* :func:`dashboard_app` builds a small read-only app over a :class:`Store`, for a trading
  host that runs the local engine in-process (``hostapp run --live --serve``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from aiohttp import web

from hookspecs import DefensiveState

from ..defensive import account_defensive
from ..store import StoreProtocol
from .metrics import ServerMetrics, metrics_handler, metrics_middleware
from .middleware import auth_middleware, error_middleware
from .validation import parse_limit, parse_ticket_text
from .views import last_journal_entry, record_state, trade_view

#: The page's files, served from package data (``dtms_plugin/server/static``).
ASSETS: dict[str, tuple[str, str]] = {
    "/": ("dashboard.html", "text/html"),
    "/static/dashboard.css": ("dashboard.css", "text/css"),
    "/static/dashboard.js": ("dashboard.js", "text/javascript"),
}

#: How much history the dashboard scans for each trade's newest transition reason.
HISTORY_SCAN = 1000

DASHBOARD_METRICS_KEY = web.AppKey("dtms_dashboard_metrics", ServerMetrics)


def asset(name: str) -> bytes:
    """One of the page's files, read from the installed package."""
    return files("dtms_plugin.server").joinpath("static", name).read_bytes()


def _asset_handler(name: str, content_type: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=asset(name),
            content_type=content_type,
            charset="utf-8",
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    return handler


def add_page_routes(app: web.Application) -> None:
    """``GET /`` and the page's assets."""
    for path, (name, content_type) in ASSETS.items():
        app.router.add_get(path, _asset_handler(name, content_type), allow_head=False)


def add_dashboard(app: web.Application, metrics: ServerMetrics) -> None:
    """The page and ``GET /metrics`` on the DTMS API app (the JSON routes exist already)."""
    add_page_routes(app)
    app.router.add_get("/metrics", metrics_handler(metrics), allow_head=False)


# ---------------------------------------------------------------------- the data


def _pnl_r(record: Mapping[str, Any]) -> float | None:
    """Unrealised P&L in R at the engine's last evaluation price (None when unknown)."""
    nested = record.get("trade")
    fields = nested if isinstance(nested, Mapping) else record
    entry, price = fields.get("entry_price"), record.get("last_eval_price")
    if not isinstance(entry, int | float) or not isinstance(price, int | float):
        return None
    risk = record.get("r")
    if not isinstance(risk, int | float) or risk <= 0:
        stop = record.get("initial_sl") or fields.get("stop_loss")
        risk = abs(entry - stop) if isinstance(stop, int | float) and stop else 0.0
    if risk <= 0:
        return None
    sign = -1 if fields.get("direction") == "sell" else 1
    return round(sign * (price - entry) / risk, 2)


def _score_detail(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The score's breakdown when the writer persisted one (``subscores`` by signal)."""
    for key in ("score", "last_breakdown", "breakdown"):
        value = record.get(key)
        if isinstance(value, Mapping) and isinstance(value.get("subscores"), Mapping):
            return dict(value)
    return None


def _newest_by_ticket(history: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Each ticket's newest state change (the reason carries the score's breakdown)."""
    out: dict[int, dict[str, Any]] = {}
    for entry in history:  # oldest first: later entries win
        ticket = entry.get("ticket")
        if isinstance(ticket, int) and entry.get("type") == "state_change":
            out[ticket] = entry
    return out


def all_trades(
    store: StoreProtocol, *, account_defensive: bool, account_mode: dict[str, str] | None
) -> dict[str, Any]:
    """``GET /dtms/trades`` without ``tickets``: every managed trade in the full shape of
    ``GET /dtms/trade/{ticket}``, plus ``pnl_r``, ``score_detail`` and ``last_reason``."""
    history = store.actions(None, limit=HISTORY_SCAN)
    changes = _newest_by_ticket(history)
    last_actions: dict[int, dict[str, Any]] = {}
    for entry in history:
        ticket = entry.get("ticket")
        if isinstance(ticket, int) and entry.get("type", "action") == "action":
            last_actions[ticket] = entry
    trades: dict[str, Any] = {}
    for ticket, record in sorted(store.records().items()):
        view = trade_view(
            ticket,
            record,
            account_defensive=account_defensive,
            last_action=last_journal_entry(record) or last_actions.get(ticket),
        )
        change = changes.get(ticket)
        view["pnl_r"] = _pnl_r(record)
        view["score_detail"] = _score_detail(record)
        view["last_reason"] = change.get("reason") if change else None
        trades[str(ticket)] = view
    return {"trades": trades, "unknown": [], "account_mode": account_mode}


def _wall_clock_mode(
    store: StoreProtocol, now: datetime | None = None
) -> tuple[bool, dict[str, str] | None]:
    """The account's defensive mode as of ``now``: the clock of the engine that set it
    (a host's, which a paper run plays at its data's time), else the wall clock."""
    mode = store.get_account_mode()
    if mode is None or not account_defensive(mode, now or datetime.now(UTC)):
        return False, None
    return True, {"until": mode[0].isoformat(), "reason": mode[1]}


def store_status(store: StoreProtocol, now: datetime | None = None) -> dict[str, Any]:
    """What the page needs of ``/dtms/status`` when no engine runs in this process
    (``now``: the engine's clock, as for :func:`_wall_clock_mode`)."""
    records = store.records()
    counts = {s.value: 0 for s in DefensiveState}
    for record in records.values():
        counts[record_state(record)] += 1
    defensive, mode = _wall_clock_mode(store, now)
    return {
        "engine": {"running": True, "healthy": True, "strategy": "local", "broker": None},
        "trades": len(records),
        "states": counts,
        "account_mode": {
            "defensive": defensive,
            "until": mode["until"] if mode else None,
            "reason": mode["reason"] if mode else None,
        },
    }


# ---------------------------------------------------------------------- host-side app

STORE_KEY = web.AppKey("dtms_dashboard_store", StoreProtocol)


async def _trades(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    defensive, mode = _wall_clock_mode(store)
    return web.json_response(all_trades(store, account_defensive=defensive, account_mode=mode))


async def _status(request: web.Request) -> web.Response:
    return web.json_response(store_status(request.app[STORE_KEY]))


async def _actions(request: web.Request) -> web.Response:
    raw = request.query.get("ticket")
    ticket = parse_ticket_text(raw) if raw is not None else None
    limit = parse_limit(request.query.get("limit"), default=100, maximum=1000)
    return web.json_response(
        {"ticket": ticket, "actions": request.app[STORE_KEY].actions(ticket, limit=limit)}
    )


def dashboard_app(
    store: StoreProtocol, *, token: str | None = None, metrics: ServerMetrics | None = None
) -> web.Application:
    """A read-only dashboard over ``store`` (the local strategy's), for a trading host.

    Serves the page, ``GET /dtms/trades`` (all), ``/dtms/status``, ``/dtms/actions`` and
    ``/metrics``, with the same auth and JSON errors as ``dtms serve``. The caller owns the
    store (opens and closes it); the app never writes to it."""
    metrics = metrics or ServerMetrics(lambda: store)
    app = web.Application(
        middlewares=[metrics_middleware(metrics), error_middleware, auth_middleware(token)]
    )
    app[STORE_KEY] = store
    app[DASHBOARD_METRICS_KEY] = metrics
    add_dashboard(app, metrics)
    app.router.add_get("/dtms/trades", _trades, allow_head=False)
    app.router.add_get("/dtms/status", _status, allow_head=False)
    app.router.add_get("/dtms/actions", _actions, allow_head=False)
    return app
