"""The account rails of docs/dtms.md §7 on a real paper account file and a real store:
each part of a trade's result (a partial close, its close) is counted on the UTC day it
was realised, and the rail is checked after a partial close too.

Before: the daily loss summed the results of closed trades, each on the day it closed,
checked only at a close. A partial close's loss while its trade stayed open counted for
nothing until the trade closed (another trade's stop then found the day under 2 %), and
counted on the close's day when that came after midnight (the next day found over 2 %
and vetoed its entries).
"""

from __future__ import annotations

from pathlib import Path

from support.rails_account import Account

from hookspecs import DefensiveState


async def test_a_partial_close_while_its_trade_stays_open_counts_with_the_days_other_losses(
    tmp_path: Path,
) -> None:
    """Trade 1 reaches WARNING_L2 and its partial close realises a loss of 1.5 % of the
    balance while it stays open; trade 2 then hits its stop: the day's realised loss is
    over 2 %, so the account goes defensive and the next entry is vetoed."""
    account = Account(tmp_path)
    await account.start()
    try:
        first = await account.buy(0.06, 400.0)
        await account.until(lambda: account.state(first.ticket) is DefensiveState.WARNING_L2)
        [partial] = account.deals(first.ticket)
        assert -200.0 < partial.profit < -100.0  # 1 to 2 % of the 10,000 alone
        assert account.vetoed() is None
        second = await account.buy(0.12, 10.0)
        await account.until(lambda: not account.strategy.records[second.ticket].is_open)
        stopped = sum(d.profit for d in account.deals(second.ticket))
        assert -stopped < 200.0  # under 2 % alone
        assert account.state(first.ticket) is DefensiveState.WARNING_L2  # still open
        loss = -(partial.profit + stopped) / 10_000.0 * 100.0
        assert loss >= 2.0
        reason = account.vetoed()
        assert reason is not None and "daily realised loss" in reason
        mode = account.strategy.store.get_account_mode()
        assert mode is not None and "daily realised loss" in mode[1]
    finally:
        await account.stop()


async def test_a_partial_close_before_midnight_is_not_counted_on_the_day_its_trade_closes(
    tmp_path: Path,
) -> None:
    """The buy opens at 22:00; its partial close realises its loss before midnight, and
    the trade closes (by hand) in the first bar after it. The new day's realised loss is
    the close's alone, under the limit: no defensive mode, the next entry goes through.
    Counted with the partial close, the day was over it."""
    account = Account(tmp_path, skip=144, rails={"daily_loss_pct": 2.5})  # 22:00
    await account.start()
    try:
        trade = await account.buy(0.05, 400.0)
        await account.until(lambda: account.state(trade.ticket) is DefensiveState.WARNING_L2)
        [partial] = account.deals(trade.ticket)
        assert partial.closed_at is not None and partial.closed_at.hour == 23
        assert account.vetoed() is None  # the partial alone is under the limit that day
        await account.until(lambda: account.market.now().hour == 0)
        assert account.state(trade.ticket) is DefensiveState.WARNING_L2
        assert account.broker.close(trade.ticket).ok
        now = await account.cycle()
        assert now.hour == 0 and not account.strategy.records[trade.ticket].is_open
        final = account.deals(trade.ticket)[-1]
        assert final.closed_at is not None and final.closed_at.day == now.day
        start = account.broker.account().balance - final.profit  # the new day's start
        assert -final.profit / start * 100.0 < 2.5  # the new day's own loss: under it
        both = -(partial.profit + final.profit) / (start - partial.profit) * 100.0
        assert both >= 2.5  # the whole trade's result on the close's day: over it
        assert account.vetoed() is None
        assert account.strategy.store.get_account_mode() is None
    finally:
        await account.stop()
