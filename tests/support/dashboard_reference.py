"""The every-trade view of ``GET /dtms/trades`` as it was answered before the records'
listing (dtms_plugin/store/listing.py): every record read and decoded, filtered, ordered,
then sliced. Kept verbatim as the reference the listing's answers must equal byte for
byte (tests/dtms_server/test_dtms_server_trades_listing.py), and hypothesis strategies
for the varied records such a test stores."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from dtms_plugin.server.dashboard import (
    NO_FILTERS,
    Page,
    _own_history,
    _score_detail,
)
from dtms_plugin.server.trades_query import Filters
from dtms_plugin.server.views import (
    last_journal_entry,
    pnl_r,
    record_state,
    trade_fields,
    trade_view,
)
from dtms_plugin.store import StoreProtocol
from hookspecs import DefensiveState


def reference_stamp(record: Mapping[str, Any], key: str) -> float:
    value = record.get(key, trade_fields(record).get(key))
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        return float("-inf")
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def reference_order(records: Mapping[int, Mapping[str, Any]]) -> list[int]:
    closed = DefensiveState.CLOSED.value

    def key(ticket: int) -> tuple[bool, float, int]:
        record = records[ticket]
        done = record_state(record) == closed
        return done, -reference_stamp(record, "closed_at" if done else "opened_at"), -ticket

    return sorted(records, key=key)


def reference_all_trades(
    store: StoreProtocol,
    *,
    account_defensive: bool,
    account_mode: dict[str, str] | None,
    page: Page | None = None,
    filters: Filters = NO_FILTERS,
    journal: bool = True,
) -> dict[str, Any]:
    records = {
        t: r
        for t, r in store.records().items()
        if filters.keeps(record_state(r), trade_fields(r).get("symbol"))
    }
    tickets = reference_order(records)
    if page is not None:
        tickets = tickets[page.offset : page.offset + page.limit]
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
    if page is not None:
        more = page.offset + page.limit < len(records)
        out.update(total=len(records), offset=page.offset, limit=page.limit, more=more)
    return out


# ------------------------------------------------------------------ varied records

STATES = [s.value for s in DefensiveState]
SYMBOLS = ["XAUUSD", "EURUSD", "BTC/USD"]
#: times that tie (the same instant written three ways, a naive one read as UTC), a
#: later one, and what ``_stamp`` reads as "no time" (unreadable, empty, not text)
TIMES: list[Any] = [
    "2026-01-05T10:00:00+00:00",
    "2026-01-05T10:00:00",
    "2026-01-05T12:00:00+02:00",
    "2026-01-05T10:00:00.000001+00:00",
    "2026-02-01T00:00:00Z",
    "not a time",
    "",
    1767607200,
    None,
    ["2026-01-05"],
]
_ABSENT = object()


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(_ABSENT), values)


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A record as a writer of any version may have left it: the trade's fields at the
    top level or under ``trade`` (or both, or ``trade`` not a mapping), known and unknown
    states, symbols and times of every kind, with or without a journal."""
    top: dict[str, Any] = {}
    nested: dict[str, Any] = {}
    state = draw(_maybe(st.sampled_from([*STATES, *["CLOSED"] * 4, "closed", "bogus", None, 3])))
    if state is not _ABSENT:
        top["state"] = state
    for key, values in (
        ("symbol", st.sampled_from([*SYMBOLS, None, 7])),
        ("opened_at", st.sampled_from(TIMES)),
        ("closed_at", st.sampled_from(TIMES)),
    ):
        where = draw(st.sampled_from(["top", "trade", "both", "none"]))
        if where in ("top", "both"):
            top[key] = draw(values)
        if where in ("trade", "both"):
            nested[key] = draw(values)
    shape = draw(st.sampled_from(["mapping", "none", "text"]))
    if shape == "mapping" and nested:
        top["trade"] = nested
    elif shape == "text":
        top["trade"] = "not a mapping"
    if draw(st.booleans()):
        top["journal"] = [{"key": "k1", "kind": "tighten_sl", "status": "done", "at": "x"}]
        top["entry_price"] = draw(st.sampled_from([2000.0, 1.1]))
    return top


def tickets() -> st.SearchStrategy[int]:
    """Tickets, small and up to the largest a broker gives (2**64 - 1)."""
    return st.one_of(st.integers(1, 60), st.integers(2**63 - 5, 2**64 - 1))
