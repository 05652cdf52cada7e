"""The DTMS dashboard: a page at ``/`` that shows what DTMS is doing, updated live.

Why plain files polled with ``fetch``: the page must work on a trading machine with no
internet and no build tools, so it is one HTML, one CSS and one JS file from package data,
reading the same JSON API as every other client (``GET /dtms/trades`` without ``tickets``,
``/dtms/status``, ``/dtms/actions``) every two seconds.

Auth: the page and its two assets are public (they hold no data; see ``PUBLIC_PATHS``);
every data request the page makes carries ``Authorization: Bearer`` with the token the
user typed into the page, which the browser keeps in ``localStorage``.

Two ways to serve it: :func:`add_dashboard` adds the page and ``/metrics`` to the DTMS
API app (``dtms serve``); a trading host that runs the local engine in-process
(``hostapp run --live --serve``) serves it over its store through the ``web_routes`` hook
(``dtms_plugin.web``), with the functions here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.resources import files
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from hookspecs import DefensiveState

from ..defensive import account_defensive
from ..store import StoreProtocol
from .metrics import ServerMetrics, metrics_handler
from .validation import FieldError, parse_limit, parse_offset, parse_ticket_list
from .views import batch_entry, last_journal_entry, pnl_r, record_state, trade_view

#: The page's files, served from package data (``dtms_plugin/server/static``).
ASSETS: dict[str, tuple[str, str]] = {
    "/": ("dashboard.html", "text/html"),
    "/static/dashboard.css": ("dashboard.css", "text/css"),
    "/static/dashboard.js": ("dashboard.js", "text/javascript"),
}

#: Trades in one page of ``GET /dtms/trades`` (``limit``): by default, and at most.
PAGE_DEFAULT = 100
PAGE_MAX = 1000

#: How much history the dashboard scans for each trade's newest transition reason.
HISTORY_SCAN = 1000


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


@dataclass(frozen=True)
class Page:
    """A slice of ``GET /dtms/trades`` without ``tickets``: ``limit`` trades from
    ``offset``, in the order :func:`all_trades` gives (open trades first)."""

    offset: int
    limit: int


def page_of(query: Mapping[str, str]) -> Page | None:
    """The page ``limit`` / ``offset`` ask for; ``None`` (every trade, as the original
    DTMS answered) when neither is given, or when ``tickets`` is: a list of tickets is
    answered whole (the document says so), though a bad ``limit`` is still a 400."""
    if "limit" not in query and "offset" not in query:
        return None
    page = Page(
        parse_offset(query.get("offset")),
        parse_limit(query.get("limit"), default=PAGE_DEFAULT, maximum=PAGE_MAX),
    )
    return None if "tickets" in query else page


def _dashboard_order(records: Mapping[int, Mapping[str, Any]]) -> list[int]:
    """Open trades first, then closed ones, each newest ticket first: what a page shows
    first is what is being defended now."""
    closed = DefensiveState.CLOSED.value
    return sorted(records, key=lambda t: (record_state(records[t]) == closed, -t))


def all_trades(
    store: StoreProtocol,
    *,
    account_defensive: bool,
    account_mode: dict[str, str] | None,
    page: Page | None = None,
) -> dict[str, Any]:
    """``GET /dtms/trades`` without ``tickets``: every managed trade (or the ``page`` of
    them, with ``total``, ``offset`` and ``limit``) in the full shape of
    ``GET /dtms/trade/{ticket}``, plus ``pnl_r``, ``score_detail`` and ``last_reason``."""
    records = store.records()
    tickets = _dashboard_order(records)
    if page is not None:
        tickets = tickets[page.offset : page.offset + page.limit]
    history = store.actions(None, limit=HISTORY_SCAN) if tickets else []
    changes = _newest_by_ticket(history)
    last_actions: dict[int, dict[str, Any]] = {}
    for entry in history:
        ticket = entry.get("ticket")
        if isinstance(ticket, int) and entry.get("type", "action") == "action":
            last_actions[ticket] = entry
    trades: dict[str, Any] = {}
    for ticket in tickets:
        record = records[ticket]
        view = trade_view(
            ticket,
            record,
            account_defensive=account_defensive,
            last_action=last_journal_entry(record) or last_actions.get(ticket),
        )
        change = changes.get(ticket)
        view["pnl_r"] = pnl_r(record)
        view["score_detail"] = _score_detail(record)
        view["last_reason"] = change.get("reason") if change else None
        trades[str(ticket)] = view
    out: dict[str, Any] = {"trades": trades, "unknown": [], "account_mode": account_mode}
    if page is not None:
        out.update(total=len(records), offset=page.offset, limit=page.limit)
    return out


def batch_states(
    store: StoreProtocol,
    tickets: list[int],
    *,
    account_defensive: bool,
    account_mode: dict[str, str] | None,
) -> dict[str, Any]:
    """``GET /dtms/trades?tickets=…``: the small shape of each known trade, the rest
    listed as unknown (the remote strategy's per-cycle refresh)."""
    found: dict[str, Any] = {}
    unknown: list[int] = []
    for ticket in tickets:
        record = store.get_record(ticket)
        if record is None:
            unknown.append(ticket)
        else:
            found[str(ticket)] = batch_entry(ticket, record, account_defensive=account_defensive)
    return {"trades": found, "unknown": unknown, "account_mode": account_mode}


def trades_answer(
    store: StoreProtocol,
    query: MultiMapping[str],
    *,
    account_defensive: bool,
    account_mode: dict[str, str] | None,
    max_tickets: int,
) -> dict[str, Any]:
    """``GET /dtms/trades`` as ``dtms serve`` and a host's routes both answer it: the
    states of ``tickets`` (``tickets=1,2``, repeated, or axios' ``tickets[]=``), else every
    trade or a page of them. Reads every record for a page: run it off the event loop."""
    if "ticket" in query and "tickets" not in query:  # one letter short: not "every trade"
        raise FieldError("ticket", "this path takes tickets=1,2,3 (GET /dtms/trade/T for one)")
    listed = query.getall("tickets", []) + query.getall("tickets[]", [])
    page = page_of(query)
    if not listed and "tickets" not in query:
        return all_trades(
            store, account_defensive=account_defensive, account_mode=account_mode, page=page
        )
    tickets = parse_ticket_list(",".join(listed), limit=max_tickets)
    return batch_states(
        store, tickets, account_defensive=account_defensive, account_mode=account_mode
    )


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
