"""The local strategy with the broker's answers the engine now reads more closely: a late
hedge whose comment the broker rewrote, a refusal that only says "not now" (said once per
wait, with its count when it ends), and a hedge the account refuses."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from support.dtms_kit import trade
from support.dtms_local_rig import Rig

from dtms_plugin.engine import JournalStatus
from hookspecs import ActionKind, DefensiveState, ResultCode

S = DefensiveState
L1_AFTER = 8  # cycles before the one that enters WARNING_L1 (pinned in test_local_ladder)


async def test_a_late_hedge_whose_comment_the_broker_rewrote_is_not_sent_twice(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """A hedge answered with a timeout and filled by the trade server 15 s later under a
    comment of the broker's own: found by what it was, not sent again; and a sell of the
    same lots the host opened meanwhile (a trade DTMS defends) is not taken for it."""
    await rig.open_buy()
    await rig.cycles(35)
    rig.broker.script["hedge"] = [ResultCode.UNKNOWN_OUTCOME]
    await rig.cycles(1)
    rec = rig.strategy.records[1]
    assert rec.state is S.HEDGED and rig.broker.count("hedge") == 1
    for _ in range(2):  # the host's cycles between two bars
        rig.clock.advance(timedelta(seconds=10))
        await rig.strategy.on_cycle(rig.host, rig.clock.now())
        if not rig.strategy.records.get(3):  # the host's own sell, of the hedge's lots
            entry = round(rig.broker.mids["XAUUSD"], 2)
            sold = trade(3, "sell", 0.25, entry, entry + 50.0, rig.clock.now())
            await rig.strategy.on_trade_executed(rig.host, rig.broker.add(sold))
    late = trade(ticket=5000, direction="sell", volume=0.25, opened_at=rig.clock.now())
    rig.broker.add(replace(late, comment="broker#1"))  # filled at last, comment rewritten
    with caplog.at_level("WARNING", logger="dtms_plugin.local"):
        await rig.cycles(1)
    rec = rig.strategy.records[1]
    assert [args for m, args in rig.broker.calls if m == "hedge"] == [(1, 0.25)]
    assert rec.hedge_ticket == 5000
    assert rec.entry(rec.key_for(ActionKind.HEDGE)).status is JournalStatus.DONE  # type: ignore[union-attr]
    said = [r.getMessage() for r in caplog.records if "unknown outcome" in r.getMessage()]
    assert said == ["DTMS 1: hedge of unknown outcome settled as done"]


async def test_a_stop_refused_while_algo_trading_is_off_waits_and_is_said_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.broker.script["modify_sl_tp"] = [ResultCode.TRADING_DISABLED] * 4
    await rig.open_buy()
    with caplog.at_level("WARNING", logger="dtms_plugin.local"):
        await rig.cycles(L1_AFTER + 8)
    assert rig.broker.count("modify_sl_tp") == 5  # four refusals, then done: not given up
    rec = rig.strategy.records[1]
    entry = rec.entry("1:1:tighten_sl")
    assert entry is not None and entry.status is JournalStatus.DONE
    assert (entry.attempts, entry.waits) == (1, 4)
    assert not any("given up" in w for w in rec.warnings)
    told = [r.getMessage() for r in caplog.records if r.getMessage().startswith("DTMS 1: tighten")]
    assert told == [
        "DTMS 1: tighten_sl waits, the broker refuses it for now (trading_disabled: scripted "
        "trading_disabled); sent again on each new bar while the state holds, not counted "
        "as a retry; said again when the wait is over",
        "DTMS 1: tighten_sl done (ok) after 4 refusals while it waited",
    ]


async def test_a_wait_the_ladder_ends_is_said_to_be_over_with_its_count(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """The market kept falling while the stop waited: the move 0.3 R behind the price is
    no tighter any more, so it is no longer owed, and its wait is over."""
    rig.broker.script["modify_sl_tp"] = [ResultCode.MARKET_CLOSED] * 20
    await rig.open_buy()
    with caplog.at_level("WARNING", logger="dtms_plugin.local"):
        await rig.cycles(L1_AFTER + 8)
    assert rig.broker.count("modify_sl_tp") == 5
    assert rig.strategy.records[1].owed == ()
    told = [r.getMessage() for r in caplog.records if "waits" in r.getMessage()]
    assert len(told) == 2 and told[0].startswith("DTMS 1: tighten_sl waits, the broker")
    assert told[1] == "DTMS 1: tighten_sl waits no more, no longer owed, after 5 refusals"


async def test_a_hedge_the_account_refuses_is_replaced_by_a_partial_close(rig: Rig) -> None:
    rig.broker.script["hedge"] = [ResultCode.HEDGING_NOT_ALLOWED] * 5
    await rig.open_buy()
    await rig.cycles(38)  # HEDGED after 36 (pinned in test_local_ladder)
    rec = rig.strategy.records[1]
    assert rec.state is S.HEDGED and rig.broker.count("hedge") == 1  # not retried
    closes = [args for m, args in rig.broker.calls if m == "close"]
    assert closes == [(1, 0.5), (1, 0.25)]  # WARNING_L2's partial, then the hedge's stand-in
    assert rig.broker.open_positions[1].volume == 0.25 and rec.volume == 0.25
    assert rec.owed == () and rec.hedge_ticket is None
