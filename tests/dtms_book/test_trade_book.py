"""The local strategy's TradeBook keeps its indexes equal to a scan of its records, whatever
sequence of registrations, state changes, hedges, closes, unregistrations and reused
tickets (a closed record archived for a new trade) it sees."""

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from support.dtms_kit import T0, trade

from dtms_plugin.book import FORMER_HEDGES, TradeBook
from dtms_plugin.engine import TradeRecord, register
from hookspecs import ActionKind, DefensiveState

STATES = list(DefensiveState)
SYMBOLS = ("XAUUSD", "EURUSD")

step = st.tuples(
    st.sampled_from(["put", "put", "put", "pop", "archive"]),
    st.integers(1, 8),  # ticket
    st.sampled_from(STATES),
    st.booleans(),  # owed
    st.booleans(),  # hedged (a broker's hedge tickets are unique: 100 + ticket)
    st.integers(0, 3000),  # minutes after T0 when closed
    st.sampled_from(SYMBOLS),
)


def _record(ticket: int, state: DefensiveState, owed: bool, hedged: bool, minute: int,
            symbol: str) -> TradeRecord:  # fmt: skip
    rec = register(trade(ticket, symbol=symbol), None, T0)
    closed = state is DefensiveState.CLOSED
    return replace(
        rec,
        state=state,
        owed=(ActionKind.CLOSE_HEDGE,) if owed else (),
        hedge_ticket=100 + ticket if hedged else None,
        closed_at=T0 + timedelta(minutes=minute) if closed else None,
        realised_profit=-1.0 if closed else None,
    )


def _apply(book: TradeBook, steps: list[tuple]) -> list[TradeRecord]:
    """Run ``steps`` on ``book``; the closed records archived on the way (what the account
    rails must still read besides the book's records)."""
    archived: list[TradeRecord] = []
    for op, ticket, state, owed, hedge, minute, symbol in steps:
        if op == "pop":
            book.pop(ticket)
        elif op == "archive":
            rec = book.records.get(ticket)
            if rec is not None and rec.realised_profit is not None:
                archived.append(rec)
            book.archive(ticket)
        else:
            book.put(_record(ticket, state, owed, hedge, minute, symbol))
    return archived


@settings(max_examples=200, deadline=None)
@given(st.lists(step, max_size=40), st.integers(0, 3000), st.integers(0, 4))
def test_indexes_match_a_scan_of_the_records(
    steps: list[tuple], since_minute: int, at_least: int
) -> None:
    book = TradeBook()
    archived = _apply(book, steps)

    records = book.records
    assert {r.ticket for r in book.live()} == {t for t, r in records.items() if r.active}
    assert book.open_states() == {t: r.state.value for t, r in records.items() if r.is_open}
    for symbol in SYMBOLS:
        hedged = {
            t for t, r in records.items() if r.symbol == symbol and r.state is DefensiveState.HEDGED
        }
        found = book.hedged_on(symbol)
        assert (found.ticket if found else None) in (hedged or {None})
    for hedge in range(100, 110):
        holders = {t for t, r in records.items() if r.hedge_ticket == hedge}
        parent = book.parent_of_hedge(hedge)
        assert (parent.ticket if parent else None) in (holders or {None})

    since = T0 + timedelta(minutes=since_minute)
    closed = sorted(  # trades closed at the same moment: the lower ticket first
        [*(r for r in records.values() if r.closed_at is not None), *archived],
        key=lambda r: (r.closed_at, r.ticket),
    )
    expected = [
        r for i, r in enumerate(closed) if r.closed_at >= since or i >= len(closed) - at_least
    ]
    assert [r.ticket for r in book.recent_closed(since, at_least)] == [r.ticket for r in expected]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(step, max_size=40),
    st.integers(0, 3000),
    st.integers(0, 4),
    st.sets(st.integers(1, 8), max_size=3),
)
def test_prune_forgets_only_what_the_rails_and_engine_no_longer_read(
    steps: list[tuple], since_minute: int, at_least: int, unwritten: set[int]
) -> None:
    """After a prune the rails read the same trades, the engine the same live ones, the
    hedge lookups still answer for what is kept, and only closed, inactive trades older
    than the window (and written) are gone."""
    book = TradeBook()
    archived = _apply(book, steps)
    since = T0 + timedelta(minutes=since_minute)
    before = dict(book.records)
    rails_before = [r.ticket for r in book.recent_closed(since, at_least)]
    live_before = [r.ticket for r in book.live()]

    gone = book.prune(since, at_least, unwritten)

    assert [r.ticket for r in book.recent_closed(since, at_least)] == rails_before
    assert [r.ticket for r in book.live()] == live_before
    forgotten = set(before) - set(book.records)
    merged = sorted(  # the rails' entries: the records' closes, then the archived ones
        [
            *((r.closed_at, t, 0) for t, r in before.items() if r.realised_profit is not None),
            *((r.closed_at, r.ticket, n) for n, r in enumerate(archived, 1)),
        ]
    )
    old = [(t, n) for at, t, n in merged[: max(len(merged) - at_least, 0)] if at < since]
    assert forgotten == {t for t, n in old if not n and not before[t].active and t not in unwritten}
    assert gone == len(forgotten) + sum(1 for _, n in old if n)  # archived ones go too
    for ticket in forgotten:
        rec = before[ticket]
        assert not rec.active and ticket not in unwritten
        assert rec.closed_at is not None and rec.closed_at < since
        assert book.parent_of_hedge(100 + ticket) is None
    for ticket, rec in book.records.items():
        assert rec is before[ticket]
    assert book.prune(since, at_least, unwritten) == 0  # nothing more to forget


def test_a_hedge_the_engine_let_go_is_found_once_and_the_kept_ones_are_bounded() -> None:
    """A hedge the engine closed itself is reported closed by the host a cycle later: its
    trade is found then (its profit is the trade's too), once. ``dtms serve`` reports no
    hedge's close, so what is kept for that is bounded."""
    book = TradeBook()
    hedged = _record(1, DefensiveState.HEDGED, False, True, 0, "XAUUSD")
    book.put(hedged)
    book.put(replace(hedged, hedge_ticket=None, state=DefensiveState.RECOVERING))
    assert book.parent_of_hedge(101) is None
    found = book.parent_of_closed_hedge(101)
    assert found is not None and found.ticket == 1
    assert book.parent_of_closed_hedge(101) is None  # asked once
    for ticket in range(2, FORMER_HEDGES + 7):
        rec = _record(ticket, DefensiveState.HEDGED, False, True, 0, "XAUUSD")
        book.put(rec)
        book.put(replace(rec, hedge_ticket=None))
    assert book.parent_of_closed_hedge(102) is None  # the oldest went
    newest = book.parent_of_closed_hedge(100 + FORMER_HEDGES + 6)
    assert newest is not None and newest.ticket == FORMER_HEDGES + 6
