"""The stop streak of docs/dtms.md §7 counts trades as the strategy opened them: a re-add
(``DTMS_READD_<ticket>``) is one trade with the trade it re-adds to, as hostapp/outcomes.py
counts it in trades.csv. Before, a trade and its re-add stopped out on one bar were two of
the streak's three stops."""

from __future__ import annotations

import itertools
from dataclasses import replace

from support.dtms_kit import SETTINGS, T0, minutes
from support.dtms_records import closed, opened

from dtms_plugin.engine import check_account
from dtms_plugin.engine.rails import re_added_to
from dtms_plugin.store.closes import Close


def test_a_shared_close_of_dtms_serve_replicas_names_no_re_add() -> None:
    assert re_added_to(Close(7, T0, T0 + minutes(3), -50.0, "stop_loss")) is None


READD = "DTMS_READD_{}"


def test_a_trade_and_its_re_add_stopped_out_together_are_one_stop_of_the_streak() -> None:
    first = closed(1, -10.0, T0 + minutes(10), "stop_loss")
    parent = closed(2, -10.0, T0 + minutes(20), "stop_loss", opened_at=T0 + minutes(11))
    re_add = closed(
        3, -5.0, T0 + minutes(20), "stop_loss", opened_at=T0 + minutes(15), comment=READD.format(2)
    )
    now = T0 + minutes(21)
    assert check_account([first, parent, re_add], 100_000.0, now, SETTINGS) is None
    third = closed(4, -1.0, T0 + minutes(21), "stop_loss", opened_at=T0 + minutes(16))
    mode = check_account([first, parent, re_add, third], 100_000.0, now, SETTINGS)
    assert mode is not None and mode.reason == "3 consecutive trades closed at their stop"
    assert mode.until == T0 + minutes(81)


def test_a_trade_ends_with_its_last_close_and_its_whole_result() -> None:
    """The parent at its stop, its re-add later at its target: the trade closed at its
    target, no stop of the streak; the parent's stop won by the re-add: no loss either."""
    stops = [closed(i, -1.0, T0 + minutes(i), "stop_loss") for i in (1, 2)]
    parent = closed(5, -10.0, T0 + minutes(20), "stop_loss", opened_at=T0 + minutes(3))
    target = closed(
        6, 20.0, T0 + minutes(25), "take_profit", opened_at=T0 + minutes(4), comment=READD.format(5)
    )
    now = T0 + minutes(26)
    assert check_account([*stops, parent, target], 100_000.0, now, SETTINGS) is None
    won = replace(target, close_reason="stop_loss")  # at its stop, the trade +10 in all
    assert check_account([*stops, parent, won], 100_000.0, now, SETTINGS) is None
    lost = replace(won, realised_profit=5.0)  # the trade −5 in all: a losing stop
    mode = check_account([*stops, parent, lost], 100_000.0, now, SETTINGS)
    assert mode is not None and mode.until == T0 + minutes(85)
    early = replace(lost, closed_at=T0 + minutes(19), close_reason="take_profit")
    assert check_account([*stops, parent, early], 100_000.0, now, SETTINGS) is not None


def test_a_trade_whose_re_add_is_still_open_has_not_closed() -> None:
    stops = [closed(i, -1.0, T0 + minutes(i), "stop_loss") for i in (1, 2)]
    parent = closed(5, -10.0, T0 + minutes(20), "stop_loss", opened_at=T0 + minutes(3))
    re_add = opened(6, T0 + minutes(4), READD.format(5))
    now = T0 + minutes(21)
    assert check_account([*stops, parent, re_add], 100_000.0, now, SETTINGS) is None
    assert check_account([*stops, parent], 100_000.0, now, SETTINGS) is not None
    # an open parent with its re-add stopped out: the trade is not closed either
    open_parent = opened(5, T0 + minutes(3))
    out = closed(6, -3.0, T0 + minutes(20), "stop_loss", opened_at=T0 + minutes(4))
    out = replace(out, comment=READD.format(5))
    assert check_account([*stops, open_parent, out], 100_000.0, now, SETTINGS) is None


def test_re_adds_whose_trade_is_not_among_the_records_stand_for_it_together() -> None:
    stop = closed(1, -1.0, T0 + minutes(1), "stop_loss")
    adds = [
        closed(i, -1.0, T0 + minutes(i), "stop_loss", opened_at=T0, comment=READD.format(9))
        for i in (2, 3)
    ]
    assert check_account([stop, *adds], 100_000.0, T0 + minutes(4), SETTINGS) is None


def test_a_reused_ticket_s_re_add_belongs_to_the_newest_trade_of_that_ticket() -> None:
    """The broker gave ticket 2 to a new trade: the re-add opened after it is that trade's,
    so the old trade of ticket 2 is a stop of its own."""
    old = closed(2, -1.0, T0 + minutes(1), "stop_loss")
    other = closed(3, -1.0, T0 + minutes(2), "stop_loss", opened_at=T0 + minutes(1))
    new = closed(2, -1.0, T0 + minutes(5), "stop_loss", opened_at=T0 + minutes(3))
    add = closed(
        4, -1.0, T0 + minutes(5), "stop_loss", opened_at=T0 + minutes(4), comment=READD.format(2)
    )
    mode = check_account([old, other, new, add], 100_000.0, T0 + minutes(6), SETTINGS)
    assert mode is not None and mode.until == T0 + minutes(65)


def test_a_re_add_is_named_by_its_comment_alone() -> None:
    assert re_added_to(opened(1, comment="DTMS_READD_42")) == 42
    assert re_added_to(opened(1, comment="DTMS_HEDGE_42")) is None
    assert re_added_to(opened(1, comment="DTMS_READD_")) is None
    assert re_added_to(opened(1, comment="DTMS_READD_4x")) is None
    assert re_added_to(opened(1, comment="DTMS_READD_²")) is None  # a digit int() refuses
    assert re_added_to(opened(1, comment="DTMS_READD_" + "9" * 20)) == int("9" * 20)
    assert re_added_to(opened(1, comment="DTMS_READD_" + "9" * 21)) is None
    assert re_added_to(opened(1, comment="x DTMS_READD_42")) is None


def test_a_trade_and_its_re_add_closed_together_ended_as_the_re_add_did() -> None:
    """Closed at one time, the position opened last (the re-add) says how the trade ended:
    its stop hit on the bar that took the trade's exit makes the trade a stop."""
    stops = [closed(i, -1.0, T0 + minutes(i), "stop_loss") for i in (1, 2)]
    parent = closed(5, -10.0, T0 + minutes(20), "exit", opened_at=T0 + minutes(3))
    re_add = closed(
        6, -2.0, T0 + minutes(20), "stop_loss", opened_at=T0 + minutes(4), comment=READD.format(5)
    )
    now = T0 + minutes(21)
    assert check_account([*stops, parent, re_add], 100_000.0, now, SETTINGS) is not None
    ended = replace(re_add, close_reason="exit")
    assert (
        check_account(
            [*stops, replace(parent, close_reason="stop_loss"), ended], 100_000.0, now, SETTINGS
        )
        is None
    )


def test_closes_of_one_time_are_judged_alike_whatever_their_order() -> None:
    """One bar's closes on several symbols come in the order of the data files, and so
    do their tickets: of one time, the losing stops count last (the worst order they
    could have had), so no order of them makes or breaks a streak."""
    at = T0 + minutes(30)
    early = closed(1, -10.0, T0 + minutes(10), "stop_loss")
    lost_a = closed(2, -10.0, at, "stop_loss", opened_at=T0 + minutes(20))
    lost_b = closed(3, -10.0, at, "stop_loss", opened_at=T0 + minutes(20))
    won = closed(4, 5.0, at, "stop_loss", opened_at=T0 + minutes(20))
    now = at + minutes(1)
    for order in itertools.permutations([lost_a, lost_b, won]):
        mode = check_account([early, *order], 100_000.0, now, SETTINGS)
        assert mode is None, order  # the last three: the win, then the two losses
    for order in itertools.permutations([lost_a, lost_b, early]):
        mode = check_account(list(order), 100_000.0, now, SETTINGS)
        assert mode is not None and mode.until == at + minutes(60), order


def test_a_win_closed_with_the_first_loss_of_a_streak_breaks_it_in_no_order() -> None:
    """The newest closes are three losing stops, the oldest of them closed at the time a
    trade in profit did: the win counts before it, whichever came in first, so the
    streak stands (before, a win that opened later made it none, opened earlier not)."""
    at = T0 + minutes(30)
    lost = closed(2, -10.0, at, "stop_loss", opened_at=T0 + minutes(20))
    later = [closed(t, -10.0, at + minutes(t), "stop_loss") for t in (3, 4)]
    now = at + minutes(5)
    for opening in (T0 + minutes(15), T0 + minutes(25)):
        won = closed(1, 5.0, at, "stop_loss", opened_at=opening)
        for records in ([lost, won, *later], [won, lost, *later]):
            mode = check_account(records, 100_000.0, now, SETTINGS)
            assert mode is not None and mode.until == at + minutes(64), (opening, records)
