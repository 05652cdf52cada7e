"""The stop streak of docs/dtms.md §7 on a real paper account file and a real store: a
re-add (``DTMS_READD_<ticket>``) is one trade with the trade it re-adds to.

Before: the local strategy registers a re-add as a trade of its own (it defends it), and
the streak counted its close as one: a trade and its re-add stopped out on one bar made
two of the streak's three stops, and the account went defensive, while trades.csv and
the summary show one trade.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from support.rails_account import Account

from hookspecs import DefensiveState


async def test_a_trade_and_its_re_add_stopped_out_together_are_one_trade_of_the_streak(
    tmp_path: Path,
) -> None:
    """A trade stopped out; then a trade and its re-add (``DTMS_READD_<ticket>``) stopped
    out on the same bar: two trades closed at their stop, not three, so no defensive
    mode; a third trade stopped out makes three."""
    account = Account(tmp_path, actions={"re_add": True}, rails={"daily_loss_pct": 50.0})
    await account.start()
    try:
        first = await account.buy(0.01, 5.0)
        await account.until(lambda: not account.strategy.records[first.ticket].is_open)
        parent = await account.buy(0.5, 400.0)
        now = await account.cycle()
        recovered = replace(
            account.strategy.records[parent.ticket],
            state=DefensiveState.RECOVERING,
            armed=True,
            closed_volume=0.5,
            recovery_deadline=now - timedelta(minutes=1),
            last_score=2.0,
            last_bar_time=now - timedelta(minutes=5),  # this bar is scored: the score holds
        )
        account.strategy.book.put(recovered)
        await account.strategy.on_cycle(account.host, now)  # the re-add
        comment = f"DTMS_READD_{parent.ticket}"
        [re_add] = [p for p in account.broker.positions() if p.comment == comment]
        assert re_add.ticket in account.strategy.records  # registered, defended
        quote = account.broker.quote("XAUUSD")
        assert quote is not None
        for ticket in (parent.ticket, re_add.ticket):  # both stops just under the price
            assert account.broker.modify_sl_tp(ticket, round(quote.bid - 3.0, 2), None).ok
        await account.until(lambda: account.broker.positions() == [])
        await account.cycle()
        for ticket in (first.ticket, parent.ticket, re_add.ticket):
            rec = account.strategy.records[ticket]
            assert rec.close_reason == "stop_loss" and (rec.realised_profit or 0.0) < 0.0
        assert (
            account.deals(parent.ticket)[-1].closed_at == account.deals(re_add.ticket)[-1].closed_at
        )
        assert account.vetoed() is None
        third = await account.buy(0.01, 5.0)
        await account.until(lambda: not account.strategy.records[third.ticket].is_open)
        reason = account.vetoed()
        assert reason is not None and "3 consecutive trades closed at their stop" in reason
    finally:
        await account.stop()
