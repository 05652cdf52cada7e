"""A position the broker closed where the host's loop did not report it (docs/dtms.md §8):
while the host was not running, or between the loop's look and DTMS's own. DTMS asks the
broker how it closed (``hookspecs.CloseReasons``, else ``ClosedPositions``) and records
the real reason, time and profit, which the account rails count (docs/dtms.md §7)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from support.broker_double import BrokerDouble
from support.dtms_local_rig import Rig

from hookspecs import BrokerError, CloseReason, DefensiveState, OrderRequest, Trade

S = DefensiveState
ORDER = OrderRequest("XAUUSD", "buy", 0.1)


@dataclass
class KeepsCloses(BrokerDouble):
    """The broker double with a closed position's record (``ClosedPositions``)."""

    def closed_trade(self, ticket: int) -> Trade | None:
        found = [t for t in self.closed if t.ticket == ticket]
        return found[-1] if found else None

    def stop_hit(self, ticket: int) -> Trade:
        """The server closes ``ticket`` at its stop (the whole position)."""
        pos = self.open_positions.pop(ticket)
        assert pos.stop_loss is not None
        profit = round(pos.sign * (pos.stop_loss - pos.entry_price) * pos.volume, 2)
        closed = replace(pos, profit=profit, close_price=pos.stop_loss, closed_at=self.clock.now())
        self.closed.append(closed)
        return closed


@dataclass
class SaysWhy(KeepsCloses):
    """... and why it closed (``CloseReasons``): a stop hit says ``stop_loss``."""

    reasons: dict[int, CloseReason] = field(default_factory=dict)

    def closed_with_reason(self, ticket: int) -> tuple[Trade, CloseReason | None] | None:
        trade = self.closed_trade(ticket)
        return None if trade is None else (trade, self.reasons.get(ticket))

    def stop_hit(self, ticket: int) -> Trade:
        self.reasons[ticket] = "stop_loss"
        return super().stop_hit(ticket)


def _rig(state_dir: Path, broker: type[KeepsCloses] = SaysWhy) -> Rig:
    r = Rig(state_dir)
    r.broker = broker(r.broker.infos, r.clock, hedging=True)
    r.host.broker = r.broker
    r._mid()
    return r


async def test_a_stop_hit_while_the_host_was_down_is_closed_with_its_loss_at_start_up(
    tmp_path: Path,
) -> None:
    """The loss is the account's: CLOSED at start-up with ``stop_loss``, the deal's time,
    price and profit, and the daily-loss rail vetoes the first order of the new run."""
    r = _rig(tmp_path / "dtms")
    await r.start()
    t = await r.open_buy(ticket=1, volume=5.0)  # its stop: 50 × 5 = 250, 2.5 % of 10,000
    await r.cycles(2)
    r.strategy.store.close()  # the host stops
    r.clock.advance(r.settings.fast.period * 3)
    broker = r.broker
    assert isinstance(broker, SaysWhy)
    deal = broker.stop_hit(1)
    strategy = await r.restart()  # startup: before any cycle, and any order, of this run
    rec = strategy.records[1]
    assert (rec.state, rec.close_reason) == (S.CLOSED, "stop_loss")
    assert (rec.realised_profit, rec.close_price, rec.closed_at) == (
        deal.profit, t.stop_loss, deal.closed_at
    )  # fmt: skip
    assert deal.profit == -250.0
    veto = strategy.allow_order(r.host, ORDER)
    assert veto is not None and "daily realised loss" in veto.reason
    assert r.host.state_changes[-1] == (
        1, S.HEALTHY, S.CLOSED, "position closed (stop_loss) while DTMS was not running"
    )  # fmt: skip
    await r.stop()


async def test_three_stops_found_gone_between_cycles_make_a_streak(tmp_path: Path) -> None:
    """No host reports them (a close between the loop's look and DTMS's): each is closed
    with the broker's reason and result, and the third puts the account on defence."""
    r = _rig(tmp_path / "dtms")
    await r.start()
    for ticket in (1, 2, 3):
        await r.open_buy(ticket=ticket, volume=0.01)
    broker = r.broker
    assert isinstance(broker, SaysWhy)
    for ticket in (1, 2, 3):
        assert r.strategy.allow_order(r.host, ORDER) is None
        deal = broker.stop_hit(ticket)
        await r.cycles(1)
        rec = r.strategy.records[ticket]
        assert (rec.close_reason, rec.realised_profit) == ("stop_loss", deal.profit)
    veto = r.strategy.allow_order(r.host, ORDER)
    assert veto is not None and "3 consecutive trades closed at their stop" in veto.reason
    await r.stop()


async def test_a_broker_that_keeps_closes_but_no_reasons_gives_the_result(
    tmp_path: Path,
) -> None:
    """``ClosedPositions`` only: the profit and price are the broker's, the reason
    ``external`` (closed outside the host: it cannot say it was the stop)."""
    r = _rig(tmp_path / "dtms", KeepsCloses)
    await r.start()
    await r.open_buy(ticket=4, volume=1.0)
    assert isinstance(r.broker, KeepsCloses)
    deal = r.broker.stop_hit(4)
    await r.cycles(1)
    rec = r.strategy.records[4]
    assert (rec.state, rec.close_reason, rec.realised_profit) == (
        S.CLOSED, "external", deal.profit
    )  # fmt: skip
    await r.stop()


async def test_a_hedged_trade_whose_hedge_and_stop_closed_while_down_counts_both(
    tmp_path: Path,
) -> None:
    r = _rig(tmp_path / "dtms")
    await r.start()
    await r.open_buy(ticket=1)
    await r.cycles(36)  # HEDGED (pinned in test_local_ladder)
    rec = r.strategy.records[1]
    assert rec.state is S.HEDGED and rec.hedge_ticket is not None
    r.strategy.store.close()
    broker = r.broker
    assert isinstance(broker, SaysWhy)
    assert broker.close(rec.hedge_ticket).ok  # by hand, while the host was down
    hedge = broker.closed[-1]
    trade = broker.stop_hit(1)
    strategy = await r.restart()
    after = strategy.records[1]
    assert (after.state, after.close_reason, after.hedge_ticket) == (S.CLOSED, "stop_loss", None)
    assert after.realised_profit == pytest.approx(trade.profit + hedge.profit)
    await r.stop()


async def test_a_broker_that_cannot_tell_leaves_the_engine_to_date_the_close(
    tmp_path: Path,
) -> None:
    """No closed record in a history the broker keeps (it lags, or never shows it): held
    for a minute (a terminal's empty answer is no close), then "position gone", dated by
    the engine; a report from the host may still bring the result."""
    r = _rig(tmp_path / "dtms")
    await r.start()
    await r.open_buy(ticket=2, volume=1.0)
    r.strategy.store.close()
    del r.broker.open_positions[2]
    strategy = await r.restart()
    assert strategy.records[2].is_open
    await r.cycles(1)
    assert strategy.records[2].is_open  # held: the history shows no close yet
    await r.cycles(1)  # five minutes on
    rec = strategy.records[2]
    assert (rec.state, rec.close_reason, rec.realised_profit) == (S.CLOSED, "position gone", None)
    await r.stop()


@dataclass
class HistoryDown(SaysWhy):
    """... whose history cannot answer (a terminal reconnecting); each ask counted."""

    down: bool = True
    asked: int = 0

    def closed_with_reason(self, ticket: int) -> tuple[Trade, CloseReason | None] | None:
        self.asked += 1
        if self.down:
            raise BrokerError("history_deals_get returned None")
        return super().closed_with_reason(ticket)


async def test_a_history_that_cannot_answer_is_asked_once_a_gone_trade_and_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Three positions leave the list while the broker's history fails: each is asked
    about once in the cycle (the close and the wait read one answer), the failure is
    said once for the episode, and its end once with its count."""
    r = _rig(tmp_path / "dtms", HistoryDown)
    await r.start()
    for ticket in (1, 2, 3):
        await r.open_buy(ticket=ticket, volume=0.01)
    broker = r.broker
    assert isinstance(broker, HistoryDown)
    for ticket in (1, 2, 3):
        broker.stop_hit(ticket)
    with caplog.at_level("WARNING"):
        await r.cycles(1)
        assert broker.asked == 3
        assert all(r.strategy.records[t].is_open for t in (1, 2, 3))  # held: no word yet
        broker.down = False
        await r.cycles(1)
    said = [m.getMessage() for m in caplog.records if "closed positions" in m.getMessage()]
    assert len(said) == 2, said
    assert "cannot give its closed positions" in said[0]
    assert "again, after 3 failed reads" in said[1]
    assert [r.strategy.records[t].close_reason for t in (1, 2, 3)] == ["stop_loss"] * 3
    await r.stop()
