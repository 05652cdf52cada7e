"""Retries, unknown outcomes, killed processes and restarts, and the account rails."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from support.broker_double import SimulatedCrash
from support.dtms_kit import trade
from support.dtms_local_rig import Rig

from dtms_plugin.engine import JournalStatus, TradeRecord
from hookspecs import ActionKind, Bar, DefensiveState, OrderRequest, ResultCode

S = DefensiveState
L1_AFTER = 8  # cycles before the one that enters WARNING_L1 (pinned in test_local_ladder)
L2_AFTER = 17


def partial_closes(rig: Rig) -> list[tuple[object, ...]]:
    return [args for m, args in rig.broker.calls if m == "close" and args[1] is not None]


async def test_failed_stop_is_retried_until_done(rig: Rig) -> None:
    rig.broker.script["modify_sl_tp"] = [ResultCode.TRANSIENT, ResultCode.TRANSIENT]
    await rig.open_buy()
    await rig.cycles(L1_AFTER + 3)
    assert rig.broker.count("modify_sl_tp") == 3
    entry = rig.strategy.records[1].entry("1:1:tighten_sl")
    assert entry is not None and entry.status is JournalStatus.DONE and entry.attempts == 3
    assert rig.broker.open_positions[1].stop_loss is not None


async def test_failed_stop_is_given_up_after_three_retries(rig: Rig) -> None:
    rig.broker.script["modify_sl_tp"] = [ResultCode.REJECTED] * 10
    await rig.open_buy()
    await rig.cycles(L1_AFTER + 8)
    assert rig.broker.count("modify_sl_tp") == 4  # the attempt and three retries
    rec = rig.strategy.records[1]
    assert rec.owed == () and "given up" in " ".join(rec.warnings)


async def test_unknown_partial_close_is_settled_from_the_position_not_resent(rig: Rig) -> None:
    await rig.open_buy()
    await rig.cycles(L2_AFTER)
    rig.broker.apply_then_timeout.add("close")
    await rig.cycles(1)
    entry = rig.strategy.records[1].entry("1:2:partial_close")
    assert entry is not None and entry.status is JournalStatus.UNKNOWN
    await rig.cycles(1)
    entry = rig.strategy.records[1].entry("1:2:partial_close")
    assert entry is not None and entry.status is JournalStatus.DONE
    assert partial_closes(rig) == [(1, 0.5)]
    assert rig.strategy.records[1].volume == 0.5


async def test_killed_after_the_broker_acted_resumes_without_repeating(rig: Rig) -> None:
    await rig.open_buy()
    await rig.cycles(L2_AFTER)
    rig.host.crash_after_broker.add("partial_close")
    with pytest.raises(SimulatedCrash):
        await rig.cycles(1)
    stored = TradeRecord.from_json(rig.strategy.store.get_record(1) or {})
    assert stored.state is S.WARNING_L2
    assert stored.entry("1:2:partial_close").status is JournalStatus.PENDING  # type: ignore[union-attr]
    strategy = await rig.restart()
    rec = strategy.records[1]
    assert rec.entry("1:2:partial_close").status is JournalStatus.DONE  # type: ignore[union-attr]
    assert (rec.state, rec.seq, rec.volume, rec.closed_volume) == (S.WARNING_L2, 2, 0.5, 0.5)
    assert rec.state_entered_at == stored.state_entered_at
    await rig.cycles(36 - L2_AFTER - 1)
    assert strategy.records[1].state is S.HEDGED
    assert partial_closes(rig) == [(1, 0.5)]


async def test_killed_before_the_broker_call_sends_it_once_after_restart(rig: Rig) -> None:
    await rig.open_buy()
    await rig.cycles(L2_AFTER)
    rig.host.crash_before_broker.add("partial_close")
    with pytest.raises(SimulatedCrash):
        await rig.cycles(1)
    await rig.restart()
    entry = rig.strategy.records[1].entry("1:2:partial_close")
    # the broker shows no partial close, but a request sent just before a crash may still
    # be filled: judged "not applied" only actions.unknown_wait_seconds after it
    assert entry is not None and entry.status is JournalStatus.PENDING
    await rig.cycles(1)  # five minutes on: settled as not applied, and sent once
    entry = rig.strategy.records[1].entry("1:2:partial_close")
    assert entry is not None and entry.status is JournalStatus.DONE and entry.attempts == 2
    assert partial_closes(rig) == [(1, 0.5)]
    assert rig.strategy.records[1].volume == 0.5


async def test_a_hedge_the_server_fills_late_is_not_sent_twice(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """A hedge answered with a timeout and filled by the trade server 15 s later (as a
    MetaTrader server may): judged "not applied" at once, it was sent again on the next
    bar, and both filled."""
    await rig.open_buy()
    await rig.cycles(35)
    rig.broker.script["hedge"] = [ResultCode.UNKNOWN_OUTCOME]
    await rig.cycles(1)
    rec = rig.strategy.records[1]
    assert rec.state is S.HEDGED and rig.broker.count("hedge") == 1
    for _ in range(2):  # the host's cycles between two bars
        rig.clock.advance(timedelta(seconds=10))
        await rig.strategy.on_cycle(rig.host, rig.clock.now())
    late = trade(ticket=5000, direction="sell", volume=0.25, opened_at=rig.clock.now())
    rig.broker.add(replace(late, comment="DTMS_HEDGE_1"))  # the server filled it at last
    with caplog.at_level("WARNING", logger="dtms_plugin.local"):
        await rig.cycles(1)
    rec = rig.strategy.records[1]
    assert rig.broker.count("hedge") == 1 and rec.hedge_ticket == 5000
    assert rec.entry("1:3:hedge").status is JournalStatus.DONE  # type: ignore[union-attr]
    said = [r.getMessage() for r in caplog.records if "unknown outcome" in r.getMessage()]
    assert said == ["DTMS 1: hedge of unknown outcome settled as done"]


async def test_restart_while_hedged_keeps_state_deadline_and_journal(rig: Rig) -> None:
    await rig.open_buy()
    await rig.cycles(36)
    before = rig.strategy.records[1]
    assert before.state is S.HEDGED and before.flat_deadline is not None
    strategy = await rig.restart()
    assert strategy.records[1] == before
    assert strategy.is_defensive(rig.host, 1)
    await rig.cycles(16)
    assert strategy.records[1].state is S.CLOSED
    keys = [a.key for a, _ in rig.host.actions]
    assert len(keys) == len(set(keys))


async def test_volume_changed_outside_is_adopted_on_start(rig: Rig) -> None:
    await rig.open_buy()
    await rig.cycles(2)
    rig.broker.open_positions[1] = replace(rig.broker.open_positions[1], volume=0.7)
    strategy = await rig.restart()
    assert strategy.records[1].volume == 0.7


async def test_broker_error_at_start_keeps_records_and_recovers_later(rig: Rig) -> None:
    await rig.open_buy()
    await rig.cycles(2)
    rig.broker.query_error = True
    del rig.broker.open_positions[1]
    strategy = await rig.restart()
    assert strategy.records[1].state is S.HEALTHY
    assert strategy.store.get_record(1) is not None
    await rig.cycles(1)  # still failing: nothing is decided
    assert strategy.records[1].state is S.HEALTHY
    rig.broker.query_error = False
    await rig.cycles(1)
    assert strategy.records[1].state is S.CLOSED


async def test_closing_a_hedged_trade_closes_its_hedge(rig: Rig) -> None:
    await rig.open_buy()
    await rig.cycles(36)
    rig.broker.close(1)
    closed = rig.broker.closed[-1]
    await rig.strategy.on_trade_closed(rig.host, closed, "stop_loss")
    rec = rig.strategy.records[1]
    assert rec.state is S.CLOSED and rec.hedge_ticket is None
    assert rig.broker.open_positions == {}
    assert rec.close_reason == "stop_loss" and rec.realised_profit == closed.profit


async def test_a_reused_ticket_keeps_its_closed_trade_in_the_account_rails(rig: Rig) -> None:
    """A broker reusing the ticket of a trade stopped out: the new trade's record takes
    the ticket, and the old close still counts towards the stop streak."""
    for ticket in (1, 2, 3):
        await rig.open_buy(ticket=ticket, volume=0.01)
    order = OrderRequest("XAUUSD", "buy", 0.1)
    rig.broker.close(1)
    await rig.strategy.on_trade_closed(rig.host, rig.broker.closed[-1], "stop_loss")
    rig.clock.advance(timedelta(minutes=5))
    await rig.open_buy(ticket=1, volume=0.01)  # another position, the same ticket
    assert rig.strategy.records[1].is_open and rig.strategy.store.archived(1)
    for ticket in (2, 3):
        assert rig.strategy.allow_order(rig.host, order) is None
        rig.broker.close(ticket)
        await rig.strategy.on_trade_closed(rig.host, rig.broker.closed[-1], "stop_loss")
    veto = rig.strategy.allow_order(rig.host, order)
    assert veto is not None and "3 consecutive trades closed at their stop" in veto.reason


async def test_three_stops_in_a_row_put_the_account_in_defensive_mode(rig: Rig) -> None:
    for ticket in (1, 2, 3):
        await rig.open_buy(ticket=ticket, volume=0.01)
    order = OrderRequest("XAUUSD", "buy", 0.1)
    for ticket in (1, 2, 3):
        assert rig.strategy.allow_order(rig.host, order) is None
        rig.broker.close(ticket)
        await rig.strategy.on_trade_closed(rig.host, rig.broker.closed[-1], "stop_loss")
    veto = rig.strategy.allow_order(rig.host, order)
    assert veto is not None and "3 consecutive trades closed at their stop" in veto.reason
    assert veto.kind == "DTMS account defensive mode"  # neither its end nor its cause
    assert rig.strategy.is_defensive(rig.host, 424242)
    mode = rig.strategy.store.get_account_mode()
    assert mode is not None and mode[0] == rig.clock.now() + timedelta(minutes=60)


async def test_daily_loss_puts_the_account_in_defensive_mode(rig: Rig) -> None:
    t = await rig.open_buy(ticket=5)
    rig.broker.balance = 9_700.0
    lost = replace(t, profit=-300.0, closed_at=rig.clock.now(), close_price=t.entry_price - 3)
    del rig.broker.open_positions[5]
    await rig.strategy.on_trade_closed(rig.host, lost, "exit")
    # judged once the step's closes are in: before the next order is allowed (§7)
    assert rig.strategy.store.get_account_mode() is None
    assert rig.strategy.allow_order(rig.host, OrderRequest("XAUUSD", "buy", 0.1)) is not None
    mode = rig.strategy.store.get_account_mode()
    assert mode is not None and "daily realised loss 3.00%" in mode[1]
    assert mode[0].hour == 0 and mode[0] > rig.clock.now()


async def test_is_defensive_for_an_unknown_ticket_reads_the_store_cache(rig: Rig) -> None:
    rig.strategy.store.put_state(77, "WARNING_L2", rig.clock.now())
    assert rig.strategy.is_defensive(rig.host, 77)
    assert not rig.strategy.is_defensive(rig.host, 78)
    await rig.strategy.on_trade_executed(rig.host, trade(ticket=9))
    assert not rig.strategy.is_defensive(rig.host, 9)


async def test_a_close_that_keeps_failing_is_retried_per_bar_until_closed_by_hand(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    await rig.open_buy()
    await rig.cycles(36)  # HEDGED (pinned in test_local_ladder)
    rig.broker.script["close"] = [ResultCode.REJECTED] * 100
    await rig.cycles(16)  # past the flat deadline: CLOSED, the close fails
    rec = rig.strategy.records[1]
    assert rec.state is S.CLOSED and rec.hedge_ticket == 1000
    entry = rec.entry(f"1:{rec.seq}:close")
    assert entry is not None and entry.attempts == 2
    tried = entry.attempts
    caplog.clear()  # only the retries' lines (a logger left at INFO by another test: not these)
    with caplog.at_level("ERROR", logger="dtms_plugin.local"):
        await rig.cycles(6)
    rec = rig.strategy.records[1]
    entry = rec.entry(f"1:{rec.seq}:close")
    assert entry is not None and entry.attempts == tried + 6  # one per new bar, kept
    assert rec.active and rec.owed == (ActionKind.CLOSE,)
    assert rig.strategy.is_defensive(rig.host, 1)  # the exit manager leaves it alone
    # retries run out at attempt 4: said once, not on each of the bars after it
    attention = [r.getMessage() for r in caplog.records if "manual attention" in r.getMessage()]
    assert attention == [
        "DTMS 1: close of ticket 1 and hedge 1000 failed 4 times: manual attention needed; "
        "retried on each new bar, logged again when it succeeds"
    ]
    assert rec.warnings[-1] == (  # the record's warning (the dashboard's) keeps the count
        f"close of ticket 1 and hedge 1000 failed {tried + 6} times: manual attention needed"
    )
    # closed by hand; the broker works again: the record settles, its hedge is closed
    del rig.broker.script["close"]
    rig.broker.closed.append(rig.broker.open_positions.pop(1))
    with caplog.at_level("WARNING", logger="dtms_plugin.local"):
        await rig.cycles(1)
    rec = rig.strategy.records[1]
    assert rec.owed == () and rec.hedge_ticket is None and not rec.active
    assert any("the close failing since 1:" in m and "is settled" in m for m in caplog.messages)
    assert rig.broker.open_positions == {}
    assert not rig.strategy.is_defensive(rig.host, 1)


async def test_a_close_that_succeeds_after_its_retries_ran_out_says_so_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    await rig.open_buy()
    await rig.cycles(36)  # HEDGED (pinned in test_local_ladder)
    rig.broker.script["close"] = [ResultCode.REJECTED] * 6  # refused six times, then done
    with caplog.at_level("WARNING", logger="dtms_plugin.local"):
        await rig.cycles(24)
    rec = rig.strategy.records[1]
    assert not rec.active and rig.broker.open_positions == {}
    told = [r.getMessage() for r in caplog.records if r.getMessage().startswith("DTMS 1: close")]
    assert told == [
        "DTMS 1: close of ticket 1 and hedge 1000 failed 4 times: manual attention needed; "
        "retried on each new bar, logged again when it succeeds",
        "DTMS 1: close done after 7 attempts",
    ]


async def test_a_fast_bar_still_forming_on_flowing_finer_bars_is_not_stale(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """The first fast bar after a weekend, when the data is finer (M1 bars, M5 fast):
    the M1 bars arrive, so the data is fresh and the trade is evaluated; once they
    stop too, the data is stale, said once."""
    await rig.open_buy()
    await rig.cycles(2)
    now = rig.clock.now()
    last = now - timedelta(minutes=5)
    rig.market.set("XAUUSD", "M5", [b for b in rig.fast if b.time <= last])  # M5 stops
    m1 = [Bar(now + timedelta(minutes=i), 2000.0, 2000.0, 2000.0, 2000.0, 1.0) for i in range(60)]
    rig.market.set("XAUUSD", "M1", m1)  # the data flows: the next M5 bar is forming
    evaluated_at = rig.strategy.records[1].last_eval_at
    with caplog.at_level("WARNING", logger="dtms_plugin.local"):
        for _ in range(14):  # past 2 M5 periods since the newest M5 bar closed
            rig.clock.advance(timedelta(minutes=1))
            rig.broker.mids["XAUUSD"] -= 5.0  # against the buy: the adverse-move trigger
            await rig.strategy.on_cycle(rig.host, rig.clock.now())
        assert not [r for r in caplog.records if "stale" in r.getMessage()]
        assert rig.strategy.records[1].last_eval_at != evaluated_at  # scored on the move
        assert not any("stale" in why for why in rig.strategy.problems)
        rig.market.set("XAUUSD", "M1", [b for b in m1 if b.time < rig.clock.now()])  # stops
        for _ in range(15):
            rig.clock.advance(timedelta(minutes=1))
            await rig.strategy.on_cycle(rig.host, rig.clock.now())
    stale = [r.getMessage() for r in caplog.records if "stale" in r.getMessage()]
    assert len(stale) == 1 and stale[0].startswith("DTMS: XAUUSD bars are stale"), stale


async def test_stale_bars_are_logged_once_per_stale_episode(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    await rig.open_buy()
    await rig.cycles(2)
    full = rig.fast
    now = rig.clock.now()
    frozen = [b for b in full if b.time + timedelta(minutes=5) <= now]
    rig.market.set("XAUUSD", "M5", frozen)  # the feed stops
    with caplog.at_level("WARNING", logger="dtms_plugin.local"):
        await rig.cycles(6)  # stale from the third cycle on: 2 bar periods
        rig.market.set("XAUUSD", "M5", full)  # the feed is back
        await rig.cycles(2)
        rig.market.set(
            "XAUUSD", "M5", [b for b in full if b.time + timedelta(minutes=5) <= rig.clock.now()]
        )
        await rig.cycles(4)
    stale = [r for r in caplog.records if "stale" in r.getMessage()]
    assert [r.levelname for r in stale] == ["WARNING", "WARNING"]
    assert stale[0].getMessage().startswith("DTMS: XAUUSD bars are stale")


@pytest.mark.parametrize("locked", [False, True])
async def test_a_recovered_trade_is_re_added_only_outside_account_defensive_mode(
    tmp_path: Path, locked: bool
) -> None:
    rig = Rig(tmp_path / "dtms", actions={"re_add": True})
    await rig.start()
    try:
        await rig.open_buy(ticket=1)
        await rig.cycles(1)
        now = rig.clock.now()
        recovered = replace(
            rig.strategy.records[1],
            state=S.RECOVERING,
            armed=True,
            closed_volume=0.5,
            recovery_deadline=now - timedelta(minutes=1),
            last_score=2.0,
            last_bar_time=now - timedelta(minutes=5),  # this bar is scored: the last score holds
        )
        rig.strategy.book.put(recovered)
        if locked:
            rig.strategy.store.put_account_mode(now + timedelta(hours=1), "3 stops in a row")
        await rig.strategy.on_cycle(rig.host, now)
        rec = rig.strategy.records[1]
        assert rec.state is S.HEALTHY
        re_adds = [p for p in rig.broker.open_positions.values() if p.comment == "DTMS_READD_1"]
        assert [p.volume for p in re_adds] == ([] if locked else [0.25])
        said = "no re-add: the account is in defensive mode"
        assert any(said in w for w in rec.warnings) is locked
    finally:
        await rig.stop()
