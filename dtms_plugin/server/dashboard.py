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
from functools import lru_cache
from importlib.resources import files
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from hookspecs import DefensiveState

from ..store import StoreProtocol
from ..store.archives import of_trade
from ..store.listing import Listed, listed
from .metrics import ServerMetrics, metrics_handler
from .query import given
from .trades_query import Filters, check_names, parse_filters, ticket_list, wants_journal
from .validation import parse_after, parse_limit, parse_offset
from .views import (
    account_mode_view,
    batch_account_mode,
    batch_entry,
    last_journal_entry,
    pnl_r,
    record_state,
    state_name,
    trade_fields,
    trade_view,
)

#: The page's files, served from package data (``dtms_plugin/server/static``).
ASSETS: dict[str, tuple[str, str]] = {
    "/": ("dashboard.html", "text/html"),
    "/static/dashboard.css": ("dashboard.css", "text/css"),
    "/static/dashboard.js": ("dashboard.js", "text/javascript"),
}

#: Trades in one page of ``GET /dtms/trades`` (``limit``): by default, and at most.
PAGE_DEFAULT = 100
PAGE_MAX = 1000

#: How many of a shown trade's newest history entries are searched for its newest state
#: change (``last_reason``): a few per state entered, so bounded per page, not per store.
TRADE_HISTORY_SCAN = 20


def asset(name: str) -> bytes:
    """One of the page's files, read from the installed package."""
    return files("dtms_plugin.server").joinpath("static", name).read_bytes()


#: Headers of the page and its assets. Never in another site's frame (a page that frames
#: the dashboard could have the trader click on it unaware): ``X-Frame-Options`` and the
#: policy's ``frame-ancestors``. The page loads only its own CSS and JS and fetches this
#: server's JSON, so ``'self'`` is all it needs: no inline script or style, no plugin.
PAGE_HEADERS: dict[str, str] = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none';"
        " form-action 'self'"
    ),
}


def _asset_handler(name: str, content_type: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=asset(name), content_type=content_type, charset="utf-8", headers=PAGE_HEADERS
        )

    return handler


def add_page_routes(app: web.Application) -> None:
    """``GET /`` and the page's assets."""
    for path, (name, content_type) in ASSETS.items():
        app.router.add_get(path, _asset_handler(name, content_type))  # HEAD too


def add_dashboard(app: web.Application, metrics: ServerMetrics) -> None:
    """The page and ``GET /metrics`` on the DTMS API app (the JSON routes exist already)."""
    add_page_routes(app)
    app.router.add_get("/metrics", metrics_handler(metrics))


# ---------------------------------------------------------------------- the data


def _score_detail(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The score's breakdown when the writer persisted one (``subscores`` by signal)."""
    for key in ("score", "last_breakdown", "breakdown"):
        value = record.get(key)
        if isinstance(value, Mapping) and isinstance(value.get("subscores"), Mapping):
            return dict(value)
    return None


def _own_history(store: StoreProtocol, ticket: int, record: Any) -> tuple[Any, Any]:
    """The trade's newest state change and action from its ticket's history: each shown
    row reads its own (a global window of the newest entries missed older trades), and
    only its trade's (an earlier trade of the same ticket's are not: ``of_trade``)."""
    change = action = None
    for entry in reversed(of_trade(store.actions(ticket, limit=TRADE_HISTORY_SCAN), record)):
        kind = entry.get("type", "action")
        if change is None and kind == "state_change":
            change = entry
        if action is None and kind == "action":
            action = entry
    return change, action


@dataclass(frozen=True)
class Page:
    """A slice of ``GET /dtms/trades`` without ``tickets``: ``limit`` trades from
    ``offset``, in the order :func:`all_trades` gives (open trades first); or, with
    ``after`` (a keyset cursor), the ``limit`` trades of the tickets above ``after``,
    lowest ticket first.

    Why both: an offset counts rows of an order that moves (a trade that closes goes from
    the open trades to the closed ones), so a close, a deletion or a registration between
    two pages shifts every row after it, and a client reading page after page skipped or
    repeated trades. A ticket never moves: reading on from the last ticket seen, no trade
    kept all along is missed or read twice (docs/client.md, "Asking"). ``offset`` stays
    for the dashboard's pages and the clients written before ``after``."""

    offset: int
    limit: int
    after: int | None = None


def page_of(query: Mapping[str, str]) -> Page | None:
    """The page ``limit`` / ``offset`` (or ``after``) ask for, the first ``PAGE_DEFAULT``
    trades when none is given (every trade at once was 20 MB for 15,500 trades, seconds
    of the server's loop: docs/client.md, "Asking"); ``None`` when ``tickets`` is: a list
    of tickets is answered whole (the document says so), though a bad ``limit`` is still
    a 400."""
    page = Page(
        parse_offset(query.get("offset")),
        parse_limit(query.get("limit"), default=PAGE_DEFAULT, maximum=PAGE_MAX),
        parse_after(query.get("after")),
    )
    return None if "tickets" in query else page


def _window(entries: Mapping[int, Listed], page: Page) -> tuple[list[int], bool]:
    """The page's tickets in their order, and whether trades follow them."""
    if page.after is None:
        end = page.offset + page.limit
        return _dashboard_order(entries)[page.offset : end], end < len(entries)
    above = sorted(t for t in entries if t > page.after)  # offset: skipped past after
    end = page.offset + page.limit
    return above[page.offset : end], len(above) > end


NO_FILTERS = Filters()


@lru_cache(maxsize=1 << 16)
def _stamp(value: str | None) -> float:
    """A record's time (an ISO text; naive ones are UTC) as a POSIX time; a missing or
    unreadable one sorts last. Remembered: a page orders every trade by its time, and
    most of them (the closed ones) keep theirs from one poll to the next."""
    try:
        moment = datetime.fromisoformat(value) if value is not None else None
    except ValueError:
        moment = None
    if moment is None:
        return float("-inf")
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _dashboard_order(entries: Mapping[int, Listed]) -> list[int]:
    """Open trades first, newest opened first, then closed ones, newest closed first
    (ties: newest ticket first): what a page shows first is what is being defended now.
    From the records' listing entries (:mod:`dtms_plugin.store.listing`)."""
    closed = DefensiveState.CLOSED.value

    def key(ticket: int) -> tuple[bool, float, int]:
        entry = entries[ticket]
        done = state_name(entry.state) == closed
        return done, -_stamp(entry.closed_at if done else entry.opened_at), -ticket

    return sorted(entries, key=key)


def _kept(entries: Mapping[int, Listed], filters: Filters) -> dict[int, Listed]:
    return {t: e for t, e in entries.items() if filters.keeps(state_name(e.state), e.symbol)}


def _paged(
    store: StoreProtocol, page: Page, filters: Filters
) -> tuple[list[int], Mapping[int, Mapping[str, Any]], int, bool] | None:
    """The page's tickets in order, their records, and how many trades ``filters``
    keep, from the store's listing and the page's records alone (a page of 100 decodes
    100 records, not every one: docs/architecture.md §9, "The store"). The listing is
    never trusted blindly: a record of the page whose entry disagrees with it (changed
    between the two reads, or an entry damaged) has its entry rebuilt from the record
    and the page chosen again; None when it still disagrees (records changing under
    every read), and the caller reads every record instead."""
    mend: list[int] = []
    for _ in range(2):
        entries = _kept(store.listing(mend), filters)
        tickets, more = _window(entries, page)
        records = store.get_records(tickets)
        mend = [t for t in tickets if t not in records or listed(records[t]) != entries[t]]
        if not mend:
            return tickets, records, len(entries), more
    return None


def _chosen(
    store: StoreProtocol, page: Page | None, filters: Filters
) -> tuple[list[int], Mapping[int, Mapping[str, Any]], int, bool]:
    """The tickets to show in order, their records, how many trades ``filters`` keep,
    and whether trades follow: every one (no page, the old clients' every-trade answer)
    from every record; a page from the listing (:func:`_paged`)."""
    found = _paged(store, page, filters) if page is not None else None
    if found is not None:
        return found
    records = store.records()
    entries = _kept({t: listed(r) for t, r in records.items()}, filters)
    if page is None:
        return _dashboard_order(entries), records, len(entries), False
    tickets, more = _window(entries, page)
    return tickets, records, len(entries), more


def all_trades(
    store: StoreProtocol,
    *,
    account_defensive: bool,
    account_mode: dict[str, str] | None,
    page: Page | None = None,
    filters: Filters = NO_FILTERS,
    journal: bool = True,
) -> dict[str, Any]:
    """``GET /dtms/trades`` without ``tickets``: every managed trade that ``filters``
    keeps (or the ``page`` of them, with ``total``, ``offset``, ``limit`` and ``more``:
    whether trades follow the page) in the full
    shape of ``GET /dtms/trade/{ticket}``, plus ``pnl_r``, ``score_detail`` and
    ``last_reason``; without ``journal`` (``journal=0``), each trade's journal and the
    ``actions_taken`` made of it are left out: they are most of a row's bytes."""
    tickets, records, total, more = _chosen(store, page, filters)
    trades: dict[str, Any] = {}
    for ticket in tickets:
        record = records[ticket]
        change, action = _own_history(store, ticket, record)
        view = trade_view(
            ticket,
            record,
            account_defensive=account_defensive,
            last_action=last_journal_entry(record) or action,
        )
        view["pnl_r"] = pnl_r(record)
        view["score_detail"] = _score_detail(record)
        view["last_reason"] = change.get("reason") if change else None
        if not journal:
            del view["trade_info"]["journal"], view["trade_info"]["actions_taken"]
        trades[str(ticket)] = view
    out: dict[str, Any] = {"trades": trades, "unknown": [], "account_mode": account_mode}
    if page is not None and page.after is None:
        out.update(total=total, offset=page.offset, limit=page.limit, more=more)
    elif page is not None:  # next_after: where the next page starts (null: none follows)
        following = tickets[-1] if more and tickets else None
        out.update(total=total, after=page.after, offset=page.offset, limit=page.limit, more=more)
        out["next_after"] = following
    return out


def batch_states(
    store: StoreProtocol,
    tickets: list[int],
    *,
    account_defensive: bool,
    account_mode: dict[str, str] | None,
    filters: Filters = NO_FILTERS,
) -> dict[str, Any]:
    """``GET /dtms/trades?tickets=…``: the small shape of each known trade that
    ``filters`` keeps, the unknown ones listed as such (the remote strategy's per-cycle
    refresh). A known trade the filters leave out is in neither: asked for HEALTHY ones,
    a CLOSED trade is not one, and not unknown either."""
    found: dict[str, Any] = {}
    unknown: list[int] = []
    for ticket in tickets:
        record = store.get_record(ticket)
        if record is None:
            unknown.append(ticket)
        elif filters.keeps(record_state(record), trade_fields(record).get("symbol")):
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
    trade or a page of them; ``state`` and ``symbol`` filter either. An empty value is a
    parameter not given (:mod:`.query`). A page reads the listing of every record (and
    every trade at once, every record): run it off the event loop."""
    # tickets= with no ticket (a client joining an empty list) is an empty list, not
    # "every trade": it asked about none
    asked_none = any(n in query for n in ("tickets", "tickets[]"))
    query = given(query)
    check_names(query)
    filters = parse_filters(query)
    journal = wants_journal(query)
    listed = query.getall("tickets", []) + query.getall("tickets[]", [])
    page = page_of(query)
    if not listed and asked_none:
        return {"trades": {}, "unknown": [], "account_mode": account_mode}
    if not listed:
        return all_trades(
            store,
            account_defensive=account_defensive,
            account_mode=account_mode,
            page=page,
            filters=filters,
            journal=journal,
        )
    tickets = ticket_list(listed, limit=max_tickets)
    return batch_states(
        store,
        tickets,
        account_defensive=account_defensive,
        account_mode=account_mode,
        filters=filters,
    )


def _wall_clock_mode(
    store: StoreProtocol, now: datetime | None = None
) -> tuple[bool, dict[str, Any] | None]:
    """The account's defensive mode as of ``now`` (the clock of the engine that set it:
    a host's, which a paper run plays at its data's time; else the wall clock), and the
    batch's ``account_mode`` (:func:`.views.batch_account_mode`)."""
    mode = batch_account_mode(store.get_account_mode(), now or datetime.now(UTC))
    return mode is not None, mode


def store_status(store: StoreProtocol, now: datetime | None = None) -> dict[str, Any]:
    """What the page needs of ``/dtms/status`` when no engine runs in this process
    (``now``: the engine's clock, as for :func:`_wall_clock_mode`)."""
    listing = store.listing()  # what the counts need, no record decoded
    counts = {s.value: 0 for s in DefensiveState}
    for entry in listing.values():
        counts[state_name(entry.state)] += 1
    return {
        "engine": {"running": True, "healthy": True, "strategy": "local", "broker": None},
        "trades": len(listing),
        "states": counts,
        "account_mode": account_mode_view(store.get_account_mode(), now or datetime.now(UTC)),
    }
