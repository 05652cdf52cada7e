"""The book gives the account rails the closes of the last ``stop_streak`` trades, a
re-add (``DTMS_READD_<ticket>``) counted with the trade it re-adds to (docs/dtms.md §7),
and keeps them in memory while the rails read them.

Before: it gave the last 3 closes, so a trade and its re-add, closed before the day's
start, made 2 of the 3 and the streak judged the trade before them out of sight."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from support.dtms_kit import T0, trade

from dtms_plugin.book import TradeBook
from dtms_plugin.engine import TradeRecord, register
from hookspecs import DefensiveState


def closed(ticket: int, minute: int, comment: str = "") -> TradeRecord:
    return replace(
        register(trade(ticket, opened_at=T0), None, T0),
        state=DefensiveState.CLOSED,
        closed_at=T0 + timedelta(minutes=minute),
        close_reason="stop_loss",
        realised_profit=-1.0,
        comment=comment,
    )


def book_of(*records: TradeRecord) -> TradeBook:
    book = TradeBook()
    for rec in records:
        book.put(rec)
    return book


def test_a_re_add_and_its_trade_are_one_of_the_last_trades() -> None:
    book = book_of(
        closed(1, 1), closed(2, 2), closed(3, 3), closed(4, 4, "DTMS_READD_3"), closed(5, 5)
    )
    later = T0 + timedelta(days=1)
    assert [r.ticket for r in book.recent_closed(later, 3)] == [2, 3, 4, 5]
    assert [r.ticket for r in book.recent_closed(later, 2)] == [3, 4, 5]
    assert [r.ticket for r in book.recent_closed(later, 0)] == []
    assert [r.ticket for r in book.recent_closed(T0, 0)] == [1, 2, 3, 4, 5]
    assert book.prune(later, 3) == 1  # the trade before them, and only it
    assert sorted(book.records) == [2, 3, 4, 5]


def test_a_re_add_closed_before_its_trade_is_kept_with_it() -> None:
    book = book_of(closed(1, 1), closed(2, 2, "DTMS_READD_3"), closed(3, 3))
    later = T0 + timedelta(days=1)
    assert [r.ticket for r in book.recent_closed(later, 1)] == [2, 3]
    assert [r.ticket for r in book.recent_closed(later, 2)] == [1, 2, 3]
