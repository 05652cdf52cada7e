"""The exit manager: breakeven, trailing stop, partial close, and its deference to
``is_defensive`` (a trade under defence is never touched)."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import pytest
from support.gold_replay import BuyOnce, gold_replay

from hookspecs import ActionKind, ConfigError, DefensiveState, OrderRequest, Trade, hookimpl
from hostapp.exits import ExitManager, wilder_atr
from hostapp.testing import bars_from_closes


class Guard:
    """A test plugin whose ``is_defensive`` answer the test sets, and which counts asks."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[int] = []

    @hookimpl
    def is_defensive(self, ticket: int) -> bool:
        self.asked.append(ticket)
        return self.answer


def _setup(
    factory: Any, broker: Any, market: Any, *, defensive: bool, exits: dict[str, Any] | None = None
) -> tuple[Any, ExitManager, Guard]:
    guard = Guard(defensive)
    config = {"plugin": {"exits": exits}} if exits else None
    host = factory(plugins={"exits": ExitManager, "guard": guard}, config=config)
    manager = host.plugins.get("exits")
    assert isinstance(manager, ExitManager)
    # A gently rising market with a steady range, so ATR(14) is well defined (~1.6).
    market.add("XAUUSD", bars_from_closes([2000.0 + 0.5 * i for i in range(40)]))
    return host, manager, guard


async def _open_buy(host: Any, broker: Any, volume: float = 0.1) -> Trade:
    broker.set_price("XAUUSD", 2000.0)
    result = broker.open(
        OrderRequest("XAUUSD", "buy", volume, stop_loss=1990.0, take_profit=2100.0)
    )
    trade = broker.position(result.new_ticket)
    await host.plugins.on_trade_executed(host, trade)
    return trade


async def test_breakeven_at_one_r_with_buffer(
    hostapp_factory, hostapp_broker, hostapp_market
) -> None:
    host, manager, guard = _setup(hostapp_factory, hostapp_broker, hostapp_market, defensive=False)
    trade = await _open_buy(host, hostapp_broker)
    assert manager.initial_risk(trade.ticket) == pytest.approx(10.0)
    hostapp_broker.set_price("XAUUSD", 2009.0)  # +0.9R: too early
    await host.plugins.manage_positions(host, host.clock.now())
    assert hostapp_broker.position(trade.ticket).stop_loss == 1990.0
    hostapp_broker.set_price("XAUUSD", 2010.5)  # +1.05R
    await host.plugins.manage_positions(host, host.clock.now())
    assert hostapp_broker.position(trade.ticket).stop_loss == pytest.approx(2001.0)  # entry + 0.1R
    assert [a.kind for a, r in host.executed] == [ActionKind.MOVE_SL_BREAKEVEN]
    assert guard.asked == [trade.ticket]
    await host.plugins.manage_positions(host, host.clock.now())  # already there: nothing more
    assert len(host.executed) == 1


async def test_defensive_trade_is_left_alone(
    hostapp_factory, hostapp_broker, hostapp_market
) -> None:
    host, _, guard = _setup(hostapp_factory, hostapp_broker, hostapp_market, defensive=True)
    trade = await _open_buy(host, hostapp_broker)
    hostapp_broker.set_price("XAUUSD", 2025.0)  # +2.5R: every rule would fire
    await host.plugins.manage_positions(host, host.clock.now())
    pos = hostapp_broker.position(trade.ticket)
    assert (pos.stop_loss, pos.volume) == (1990.0, 0.1)
    assert host.executed == []
    assert guard.asked == [trade.ticket]
    guard.answer = False  # the defender lets go: the rules apply on the next cycle
    await host.plugins.manage_positions(host, host.clock.now())
    pos = hostapp_broker.position(trade.ticket)
    assert pos.stop_loss > 2001.0 and pos.volume == pytest.approx(0.05)


HELD = "left alone (defensive)"


def _held_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if HELD in r.getMessage()]


async def test_holding_back_is_logged_once_per_want_and_counted(
    hostapp_factory, hostapp_broker, hostapp_market, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    host, manager, guard = _setup(
        hostapp_factory, hostapp_broker, hostapp_market, defensive=True, exits={"partial": False}
    )
    trade = await _open_buy(host, hostapp_broker)
    hostapp_broker.set_price("XAUUSD", 2005.0)  # +0.5R: nothing wanted, nothing to report
    await host.plugins.manage_positions(host, host.clock.now())
    assert _held_lines(caplog) == [] and manager.held_back == {}
    hostapp_broker.set_price("XAUUSD", 2011.0)  # +1.1R: breakeven wanted, held back
    for _ in range(3):  # every cycle it asks, but says so once
        await host.plugins.manage_positions(host, host.clock.now())
    assert guard.asked == [trade.ticket] * 3
    assert _held_lines(caplog) == [
        f"exits: ticket {trade.ticket} XAUUSD {HELD}: wanted move_sl_breakeven"
    ]
    assert manager.held_back == {trade.ticket: 1}
    assert hostapp_broker.position(trade.ticket).stop_loss == 1990.0
    hostapp_broker.set_price("XAUUSD", 2016.0)  # +1.6R: now it wants to trail: a new want
    await host.plugins.manage_positions(host, host.clock.now())
    await host.plugins.manage_positions(host, host.clock.now())
    assert _held_lines(caplog)[1:] == [
        f"exits: ticket {trade.ticket} XAUUSD {HELD}: wanted tighten_sl"
    ]
    assert manager.held_back == {trade.ticket: 2}
    hostapp_broker.set_price("XAUUSD", 2005.0)  # wants nothing: the next want is news again
    await host.plugins.manage_positions(host, host.clock.now())
    hostapp_broker.set_price("XAUUSD", 2011.0)
    await host.plugins.manage_positions(host, host.clock.now())
    assert len(_held_lines(caplog)) == 3 and manager.held_back == {trade.ticket: 3}
    assert host.executed == []
    await host.plugins.on_trade_closed(host, trade, "manual")  # the count outlives it
    assert manager.managed_tickets == [] and manager.held_back == {trade.ticket: 3}


async def test_held_back_names_every_wanted_action(
    hostapp_factory, hostapp_broker, hostapp_market, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    host, manager, _ = _setup(hostapp_factory, hostapp_broker, hostapp_market, defensive=True)
    trade = await _open_buy(host, hostapp_broker)
    hostapp_broker.set_price("XAUUSD", 2025.0)  # +2.5R: trail and partial
    await host.plugins.manage_positions(host, host.clock.now())
    assert _held_lines(caplog) == [
        f"exits: ticket {trade.ticket} XAUUSD {HELD}: wanted tighten_sl, partial_close"
    ]
    assert manager.held_back == {trade.ticket: 1}


async def test_nothing_held_back_when_not_defensive(
    hostapp_factory, hostapp_broker, hostapp_market, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    host, manager, guard = _setup(hostapp_factory, hostapp_broker, hostapp_market, defensive=False)
    trade = await _open_buy(host, hostapp_broker)
    hostapp_broker.set_price("XAUUSD", 2011.0)  # +1.1R: it acts instead
    await host.plugins.manage_positions(host, host.clock.now())
    assert guard.asked == [trade.ticket]
    assert [a.kind for a, _ in host.executed] == [ActionKind.MOVE_SL_BREAKEVEN]
    assert _held_lines(caplog) == [] and manager.held_back == {}


async def test_the_defender_letting_go_ends_the_hold(
    hostapp_factory, hostapp_broker, hostapp_market, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    host, manager, guard = _setup(
        hostapp_factory, hostapp_broker, hostapp_market, defensive=True, exits={"partial": False}
    )
    trade = await _open_buy(host, hostapp_broker)
    hostapp_broker.set_price("XAUUSD", 2011.0)
    await host.plugins.manage_positions(host, host.clock.now())
    guard.answer = False  # it acts, and a later defence of a new want is reported anew
    await host.plugins.manage_positions(host, host.clock.now())
    assert hostapp_broker.position(trade.ticket).stop_loss == pytest.approx(2001.0)
    guard.answer = True
    hostapp_broker.set_price("XAUUSD", 2016.0)
    await host.plugins.manage_positions(host, host.clock.now())
    assert [line.rsplit(": wanted ", 1)[1] for line in _held_lines(caplog)] == [
        "move_sl_breakeven",
        "tighten_sl",
    ]
    assert manager.held_back == {trade.ticket: 2}


async def test_trailing_stop_one_atr_behind_and_only_tightens(
    hostapp_factory, hostapp_broker, hostapp_market
) -> None:
    host, _, _ = _setup(
        hostapp_factory, hostapp_broker, hostapp_market, defensive=False, exits={"partial": False}
    )
    trade = await _open_buy(host, hostapp_broker)
    atr = wilder_atr(hostapp_market.bars("XAUUSD", "M5", 43), 14)
    assert atr is not None and atr > 0
    hostapp_broker.set_price("XAUUSD", 2016.0)  # +1.6R
    await host.plugins.manage_positions(host, host.clock.now())
    stop = hostapp_broker.position(trade.ticket).stop_loss
    assert stop == pytest.approx(round(2016.0 - atr, 2))
    assert host.executed[-1][0].kind is ActionKind.TIGHTEN_SL
    hostapp_broker.set_price("XAUUSD", 2015.2)  # back down a little, still above 1.5R
    await host.plugins.manage_positions(host, host.clock.now())
    assert hostapp_broker.position(trade.ticket).stop_loss == stop  # never loosened
    hostapp_broker.set_price("XAUUSD", 2020.0)
    await host.plugins.manage_positions(host, host.clock.now())
    assert hostapp_broker.position(trade.ticket).stop_loss == pytest.approx(round(2020.0 - atr, 2))


async def test_partial_close_half_once(hostapp_factory, hostapp_broker, hostapp_market) -> None:
    host, _, _ = _setup(
        hostapp_factory,
        hostapp_broker,
        hostapp_market,
        defensive=False,
        exits={"breakeven": False, "trailing": False},
    )
    trade = await _open_buy(host, hostapp_broker, volume=0.3)
    hostapp_broker.set_price("XAUUSD", 2020.0)  # +2R
    await host.plugins.manage_positions(host, host.clock.now())
    await host.plugins.manage_positions(host, host.clock.now())
    pos = hostapp_broker.position(trade.ticket)
    assert pos.volume == pytest.approx(0.15)
    assert pos.stop_loss == 1990.0  # breakeven and trailing are switched off
    assert [a.kind for a, _ in host.executed] == [ActionKind.PARTIAL_CLOSE]


async def test_sell_trade_mirrors(hostapp_factory, hostapp_broker, hostapp_market) -> None:
    host, _, _ = _setup(hostapp_factory, hostapp_broker, hostapp_market, defensive=False)
    hostapp_broker.set_price("XAUUSD", 2000.0)
    result = hostapp_broker.open(OrderRequest("XAUUSD", "sell", 0.1, stop_loss=2010.0))
    await host.plugins.on_trade_executed(host, hostapp_broker.position(result.new_ticket))
    hostapp_broker.set_price("XAUUSD", 1989.0)  # +1.1R for a sell
    await host.plugins.manage_positions(host, host.clock.now())
    assert hostapp_broker.position(result.new_ticket).stop_loss == pytest.approx(1999.0)


async def test_losing_trade_and_trade_without_stop_untouched(
    hostapp_factory, hostapp_broker, hostapp_market
) -> None:
    host, manager, guard = _setup(hostapp_factory, hostapp_broker, hostapp_market, defensive=False)
    trade = await _open_buy(host, hostapp_broker)
    hostapp_broker.set_price("XAUUSD", 2000.0)
    naked = hostapp_broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    await host.plugins.on_trade_executed(host, hostapp_broker.position(naked.new_ticket))
    assert manager.managed_tickets == [trade.ticket]
    hostapp_broker.set_price("XAUUSD", 1995.0)
    await host.plugins.manage_positions(host, host.clock.now())
    assert host.executed == [] and guard.asked == []


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"partial_fraction": 1.5}, "partial_fraction"),
        ({"breakeven_at_r": 0}, "breakeven_at_r"),
        ({"atr_timeframe": "M7"}, "atr_timeframe"),
        ({"trailing": "yes"}, "trailing"),
        ({"trail_from": 1.5}, "trail_from"),
    ],
)
def test_bad_settings_name_the_key(hostapp_factory, table: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=key) as info:
        hostapp_factory(plugins={"exits": ExitManager}, config={"plugin": {"exits": table}})
    assert "[plugin.exits]" in str(info.value)


def test_wilder_atr_needs_period_plus_one_bars() -> None:
    bars = bars_from_closes([100.0, 101.0, 102.0])
    assert wilder_atr(bars, 3) is None
    assert wilder_atr(bars, 2) == pytest.approx(
        sum(max(b.high, a.close) - min(b.low, a.close) for a, b in itertools.pairwise(bars)) / 2
    )


@pytest.mark.parametrize("defended", [True, False])
async def test_the_run_summary_reports_what_was_held_back(defended: bool) -> None:
    from hostapp.driving import run_summary

    closes = [2000.0] * 20 + [2000.0 + i for i in range(1, 26)]  # up to +2.5R
    manager = ExitManager()
    app = gold_replay(closes, exits=manager, guard=Guard(defended), buy_once=BuyOnce())
    stats = await app.loop.run_replay(app.feed)
    assert len(stats.entries) == 1
    app.plugin_reports = app.plugins.run_report(app.host)  # as a run's end does
    summary = run_summary(app, stats, {})
    ticket = stats.entries[0][1].ticket
    if defended:
        # breakeven, then trailing, then trailing and the partial: each want reported once
        assert summary["exits_held_defensive"] == {str(ticket): 3}
        assert manager.held_back == {ticket: 3}
        assert "exits" not in summary["actions_by_source"]
    else:
        assert summary["exits_held_defensive"] == {}
        assert summary["actions_by_source"]["exits"]


class StatedGuard(Guard):
    """A defender that says every trade's own state is WARNING_L2 as it opens (when
    ``stated``), then answers True: its holds are for the trade's own state."""

    def __init__(self, stated: bool) -> None:
        super().__init__(True)
        self.stated = stated

    @hookimpl
    async def on_trade_executed(self, host: Any, trade: Trade) -> None:
        if self.stated:
            await host.report_state_change(
                trade.ticket, DefensiveState.HEALTHY, DefensiveState.WARNING_L2, "test"
            )


@pytest.mark.parametrize("stated", [True, False])
async def test_holds_not_for_the_trades_own_state_are_reported_apart(stated: bool) -> None:
    """A defender answering True for a trade whose own state it never said was defensive
    (an account-wide defensive mode) is told apart from one that said so: the run
    summary's ``exits_held_not_own_state``, which an A/B's notes say."""
    from hostapp.driving import run_summary

    closes = [2000.0] * 20 + [2000.0 + i for i in range(1, 26)]
    manager = ExitManager()
    app = gold_replay(closes, exits=manager, guard=StatedGuard(stated), buy_once=BuyOnce())
    stats = await app.loop.run_replay(app.feed)
    app.plugin_reports = app.plugins.run_report(app.host)
    summary = run_summary(app, stats, {})
    ticket = str(stats.entries[0][1].ticket)
    assert summary["exits_held_defensive"] == {ticket: 3}
    assert summary["exits_held_not_own_state"] == ({} if stated else {ticket: 3})


class BuyWithTarget:
    """Opens buys with a 10-point stop and a take-profit ``target_r`` R away, one per bar."""

    def __init__(self, target_r: float, count: int) -> None:
        self.target_r, self.left = target_r, count

    @hookimpl
    def propose_orders(self, symbol: str) -> list[OrderRequest]:
        if not self.left:
            return []
        self.left -= 1
        target = 2000.0 + 10 * self.target_r  # the feed is at 2000 when they go in
        return [OrderRequest(symbol, "buy", 0.1, stop_loss=1990.0, take_profit=target)]


@pytest.mark.parametrize(("target_r", "unreachable"), [(2.0, 2), (1.5, 2), (3.0, 0)])
async def test_a_partial_close_behind_the_take_profit_is_said_once_and_counted(
    target_r: float, unreachable: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The partial close is on at +2R by default; a strategy whose target is at +2R closes
    every trade there first. The manager says so once, and the summary says how often."""
    from hostapp.driving import run_summary
    from hostapp.report import summary_table

    closes = [2000.0] * 20 + [2000.0 + i for i in range(1, 40)]
    app = gold_replay(closes, exits=ExitManager(), buy=BuyWithTarget(target_r, 2))
    with caplog.at_level(logging.INFO):
        stats = await app.loop.run_replay(app.feed)
    assert len(stats.entries) == 2
    report = app.plugin_reports = app.plugins.run_report(app.host)  # as a run's end does
    summary = run_summary(app, stats, {})
    said = [r.getMessage() for r in caplog.records if "partial_at_r" in r.getMessage()]
    table = summary_table(summary)
    if unreachable:
        assert report["exits"]["partial_unreachable"] == unreachable
        assert len(said) == 1 and "take-profit is at +1." in said[0]  # filled at the ask
        assert f"could not act on {unreachable} trades" in table
    else:
        assert "partial_unreachable" not in report["exits"] and not said
        assert "note (exits)" not in table


def test_the_count_of_partials_unreachable_has_thousands_separators() -> None:
    """A long replay's note read "could not act on 4418 trades"."""
    exits = ExitManager()
    exits.partial_unreachable = 4418
    assert "could not act on 4,418 trades: their take-profit" in exits.run_report()["note"]


async def test_a_pass_is_sync_until_a_rule_acts_then_goes_on_in_order(
    hostapp_factory, hostapp_broker, hostapp_market
) -> None:
    """Nothing due: no coroutine (a replay's bars pay for none). Due on the second of three
    trades: the coroutine sends it, then the third's, in order; the first is not asked again."""
    host, manager, guard = _setup(
        hostapp_factory, hostapp_broker, hostapp_market, defensive=False, exits={"partial": False}
    )
    hostapp_broker.set_price("XAUUSD", 2000.0)
    tickets = []
    for stop in (1980.0, 1990.0, 1995.0):  # R of 20, 10 and 5
        done = hostapp_broker.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=stop))
        tickets.append(done.new_ticket)
        await host.plugins.on_trade_executed(host, hostapp_broker.position(done.new_ticket))
    hostapp_broker.set_price("XAUUSD", 2004.0)  # +0.2R, +0.4R, +0.8R: nothing due
    assert manager.manage_positions(host, host.clock.now()) is None
    assert host.executed == []
    hostapp_broker.set_price("XAUUSD", 2011.0)  # +0.55R, +1.1R, +2.2R
    guard.asked.clear()
    pending = manager.manage_positions(host, host.clock.now())
    assert pending is not None and host.executed == []  # nothing sent before it is awaited
    await pending
    assert [a.ticket for a, _ in host.executed] == tickets[1:]
    assert guard.asked == tickets[1:]
    assert hostapp_broker.position(tickets[0]).stop_loss == 1980.0
