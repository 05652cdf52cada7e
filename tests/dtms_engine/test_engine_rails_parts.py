"""The account rails of docs/dtms.md §7 count money on the day it was realised: each part
of a trade's result (a partial close, a hedge's close, the trade's own close) on its own
UTC day, an open trade's parts included."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from support.dtms_kit import SETTINGS, T0, minutes, trade
from support.dtms_records import closed, opened

from dtms_plugin.engine import TradeRecord, check_account, hedge_closed, realised_part
from dtms_plugin.engine.rails import realised_parts, realised_since
from dtms_plugin.store.closes import Close

MIDNIGHT = datetime(2026, 1, 6, 0, 0, tzinfo=UTC)


# --- each part on its own day --------------------------------------------------------------


def test_an_open_trades_partial_close_counts_with_the_days_other_losses() -> None:
    """The probe's day: −116.55 realised by a partial close of a trade still open, −108.00
    by another trade's stop: 2.25 % of the day's 10,000, over the 2 %."""
    partial = realised_part(opened(1), T0 + minutes(5), -116.55)
    stop = closed(2, -108.0, T0 + minutes(10), "stop_loss")
    mode = check_account([partial, stop], 10_000.0 - 224.55, T0 + minutes(11), SETTINGS)
    assert mode is not None and "daily realised loss 2.25%" in mode.reason
    assert mode.until == MIDNIGHT
    assert check_account([stop], 10_000.0 - 224.55, T0 + minutes(11), SETTINGS) is None


def test_a_partial_close_before_midnight_is_not_counted_on_the_day_its_trade_closes() -> None:
    """The probe's trade: −104.55 by a partial close at 23:35, −117.60 by its close at
    00:05 (its result, −222.15, is the whole position's). The new day lost 117.60 of
    10,000 − 104.55: 1.18 %, no defensive mode; its eve lost 104.55: 1.05 %."""
    total = -222.15
    rec = closed(1, total, MIDNIGHT + minutes(5), parts=((MIDNIGHT - minutes(25), -104.55),))
    balance = 10_000.0 + total
    assert check_account([rec], balance, MIDNIGHT + minutes(6), SETTINGS) is None
    assert realised_since([rec], MIDNIGHT) == pytest.approx(-117.6)
    # all of it after midnight, as the old count had it: over the limit
    whole = replace(rec, realised_parts=())
    mode = check_account([whole], balance, MIDNIGHT + minutes(6), SETTINGS)
    assert mode is not None and "2.22%" in mode.reason


def test_a_trades_parts_and_its_close_add_up_to_its_result() -> None:
    parts = ((T0, -10.0), (T0 + minutes(5), 4.0))
    rec = closed(1, -20.0, T0 + minutes(9), parts=parts)
    assert realised_parts(rec) == (*parts, (T0 + minutes(9), -14.0))
    assert realised_since([rec], T0) == -20.0
    assert realised_since([rec], T0 + minutes(1)) == -10.0  # the first part is before
    assert realised_since([rec], T0 + minutes(9)) == -14.0  # at its time: counted
    assert realised_since([rec], T0 + minutes(10)) == 0.0


def test_an_open_trade_is_its_parts_and_no_more() -> None:
    rec = realised_part(realised_part(opened(1), T0, -5.0), T0 + minutes(1), -6.0)
    assert rec.realised_parts == ((T0, -5.0), (T0 + minutes(1), -6.0))
    assert realised_parts(rec) == rec.realised_parts
    closing = replace(rec, closed_at=T0 + minutes(2))  # closed, its result not known yet
    assert realised_parts(closing) == rec.realised_parts


def test_a_shared_close_of_dtms_serve_replicas_is_all_its_close() -> None:
    close = Close(7, T0, T0 + minutes(3), -50.0, "stop_loss")
    assert realised_parts(close) == ((T0 + minutes(3), -50.0),)


def test_a_hedges_close_is_dated_by_its_own_close() -> None:
    hedge = replace(trade(9, "sell", 0.5), profit=30.0, closed_at=T0 + minutes(4))
    parent = hedge_closed(opened(1), hedge)
    assert parent.realised_parts == ((T0 + minutes(4), 30.0),)
    assert parent.hedge_profit == 30.0 and parent.realised_profit is None
    after = closed(1, -100.0, T0 + minutes(2))  # a hedge that closed after its trade
    later = hedge_closed(after, hedge)
    assert later.realised_profit == -70.0
    assert realised_parts(later) == ((T0 + minutes(4), 30.0), (T0 + minutes(2), -100.0))
    undated = hedge_closed(opened(1), replace(hedge, closed_at=None))
    assert undated.realised_parts == () and undated.hedge_profit == 30.0


def test_a_records_parts_survive_the_store() -> None:
    rec = realised_part(opened(1), T0 + minutes(5), -116.55)
    data = rec.to_json()
    assert data["realised_parts"] == [[(T0 + minutes(5)).isoformat(), -116.55]]
    assert TradeRecord.from_json(data) == rec
    older = {k: v for k, v in data.items() if k != "realised_parts"}  # an earlier version's
    assert TradeRecord.from_json(older).realised_parts == ()


def test_yesterdays_parts_do_not_count_today() -> None:
    rec = realised_part(opened(1), MIDNIGHT - timedelta(microseconds=1), -500.0)
    today = closed(2, -100.0, MIDNIGHT + minutes(30))
    assert check_account([rec, today], 9_400.0, MIDNIGHT + minutes(31), SETTINGS) is None
