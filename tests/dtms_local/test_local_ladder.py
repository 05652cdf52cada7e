"""The local strategy end to end: a falling market walks a buy down the ladder, every
action reaches the broker double, and the state is in the store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from support.dtms_local_rig import Rig

from dtms_plugin.engine import JournalStatus, TradeRecord
from hookspecs import DefensiveState, OrderRequest

S = DefensiveState


async def test_registration_is_idempotent_and_warms_up(rig: Rig) -> None:
    t = await rig.open_buy()
    await rig.strategy.on_trade_executed(rig.host, t)
    assert list(rig.strategy.records) == [1]
    rec = rig.strategy.records[1]
    assert rec.r == 50.0 and rec.state is S.HEALTHY
    assert rig.strategy.store.get_record(1) is not None
    ind = rig.strategy.indicators["XAUUSD"]
    assert ind.ema_slow.value is not None  # warmed up with 300 M15 bars on first sight
    assert ("XAUUSD", "M15", 300) in rig.market.requests


async def test_falling_market_walks_the_ladder_through_the_broker(rig: Rig) -> None:
    await rig.open_buy()
    await rig.cycles(36)
    assert rig.transitions() == [
        ("HEALTHY", "WARNING_L1"),
        ("WARNING_L1", "WARNING_L2"),
        ("WARNING_L2", "HEDGED"),
    ]
    pos = rig.broker.open_positions[1]
    assert pos.stop_loss == 2205.86  # tightened once, at WARNING_L1
    assert pos.volume == 0.5  # partial close at WARNING_L2
    hedge = rig.broker.open_positions[1000]
    assert (hedge.direction, hedge.volume, hedge.comment) == ("sell", 0.25, "DTMS_HEDGE_1")
    rec = rig.strategy.records[1]
    assert rec.state is S.HEDGED and rec.hedge_ticket == 1000 and rec.volume == 0.5
    assert rec.state_entered_at is not None
    assert rec.flat_deadline == rec.state_entered_at + timedelta(minutes=75)
    stored = TradeRecord.from_json(rig.strategy.store.get_record(1) or {})
    assert stored == rec
    assert all(e.status is JournalStatus.DONE for e in rec.journal)
    assert [a.kind.value for a, _ in rig.host.actions] == ["tighten_sl", "partial_close", "hedge"]
    history = rig.strategy.store.actions(1)
    assert [h["kind"] for h in history] == ["tighten_sl", "partial_close", "hedge"]
    # the defensive answers
    assert rig.strategy.is_defensive(rig.host, 1)
    assert rig.strategy.store.get_state(1) == ("HEDGED", rig.clock.now())
    veto = rig.strategy.allow_order(rig.host, OrderRequest("XAUUSD", "buy", 0.1))
    assert veto is not None and "XAUUSD has a hedged trade (ticket 1)" in veto.reason
    assert veto.kind == "DTMS: the symbol has a hedged trade"  # no ticket: counted together
    assert rig.strategy.allow_order(rig.host, OrderRequest("EURUSD", "buy", 0.1)) is None


async def test_hedged_trade_is_closed_with_its_hedge(rig: Rig) -> None:
    await rig.open_buy()
    await rig.cycles(36 + 16)  # 80 minutes after the hedge: past the flat deadline at most
    rec = rig.strategy.records[1]
    assert rec.state is S.CLOSED
    assert rig.transitions()[-1][1] == "CLOSED"
    assert rig.broker.open_positions == {}
    assert {t.ticket for t in rig.broker.closed} == {1, 1000}
    assert not rig.strategy.is_defensive(rig.host, 1)
    await rig.cycles(3)  # nothing more happens to a closed trade
    assert len(rig.host.actions) == 4


async def test_netting_account_partially_closes_instead_of_hedging(tmp_path: Path) -> None:
    rig = Rig(tmp_path / "dtms", hedging=False)
    await rig.start()
    try:
        await rig.open_buy()
        await rig.cycles(36)
        assert rig.transitions()[-1] == ("WARNING_L2", "HEDGED")
        assert [a.kind.value for a, _ in rig.host.actions] == [
            "tighten_sl",
            "partial_close",
            "partial_close",
        ]
        assert rig.broker.open_positions[1].volume == 0.25
        assert rig.broker.count("hedge") == 0
    finally:
        await rig.stop()


async def test_position_gone_closes_the_record(rig: Rig) -> None:
    await rig.open_buy()
    await rig.cycles(2)
    del rig.broker.open_positions[1]
    await rig.cycles(1)
    assert rig.strategy.records[1].state is S.CLOSED
    assert rig.transitions() == [("HEALTHY", "CLOSED")]
