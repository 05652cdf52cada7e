"""The local strategy with a broker answer the engine now reads more closely: a hedge the
account refuses."""

from __future__ import annotations

from support.dtms_local_rig import Rig

from hookspecs import DefensiveState, ResultCode

S = DefensiveState
L1_AFTER = 8  # cycles before the one that enters WARNING_L1 (pinned in test_local_ladder)


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
