"""DTMS keeps defending a position the trade server re-opened under a new ticket (a swap
charged by re-opening: MQL5 reference, POSITION_TICKET), through the real MetaTrader
broker over the fake terminal: the live host, DTMS's local strategy, its trailing stop.

Before the broker presented the position's identifier as its ticket, the re-open made the
host and DTMS see the trade vanish and a new ticket appear: a minute later the trade was
closed as ``external`` with its floating profit, and the new ticket had no defender (its
stop never moved again); the run's summary counted a close that never happened.
"""

from __future__ import annotations

from pathlib import Path

from hostapp_mt5.reopen_kit import (
    Trader,
    after,
    cycle,
    live,
    quote,
    rates,
    sltp,
    start_time,
    stop,
    terminal,
)

from hostapp.driving import run_summary


async def test_a_re_opened_position_is_defended_and_closes_once_as_its_trade(
    tmp_path: Path,
) -> None:
    t0 = start_time()
    fake = terminal(t0)
    trader = Trader()
    app = live(fake, trader, tmp_path / "dtms")
    await app.plugins.startup(app.host)
    await cycle(app, fake, t0, propose=True)  # the buy at 2004.30; DTMS trails its stop
    ticket = trader.ticket
    [(named, trailed)] = sltp(fake)
    assert named == ticket and trailed > 1990.0
    await cycle(app, fake, after(t0, 20))
    # the rollover: the position closed at 2008.00 (+370.00, a swap of -2.00) and opened
    # again there, under a new ticket
    quote(fake, 2008.0)
    new = fake.reopen(ticket, swap=-2.0)
    # the next M5 bar, its high 6.0 higher: the trail moves the stop up again
    rates(fake, after(t0, 300), lift=(after(t0, -10), 6.0))
    await cycle(app, fake, after(t0, 300))
    [_, (moved, level)] = sltp(fake)
    assert moved == new and level > trailed and fake.positions[new].sl == level
    for seconds in (330, 360, 390):  # past the minute a position gone is waited for
        await cycle(app, fake, after(t0, seconds))
    assert trader.closed == []
    # the price falls through the stop: the server closes the position there
    quote(fake, round(level - 0.5, 2))
    for seconds in (420, 450, 480):
        await cycle(app, fake, after(t0, seconds))
    await stop(app)

    booked = round(sum(d.profit + d.swap for d in fake.deals), 2)
    close = round(level - 0.5, 2)
    assert booked == round(370.0 - 2.0 + (close - 2008.0) * 100, 2)
    assert trader.closed == [(ticket, "stop_loss", booked, close)]
    record = app.plugins.get("dtms").strategy.records[ticket]  # type: ignore[attr-defined]
    assert (record.close_reason, record.realised_profit) == ("stop_loss", booked)
    assert list(app.plugins.get("dtms").strategy.records) == [ticket]  # type: ignore[attr-defined]
    summary = run_summary(app, app.loop.stats, {"mode": "live"})
    assert summary["closes_by_reason"] == {"stop_loss": 1}
    assert (summary["trades"], summary["closed_trades"]) == (1, 1)
    assert summary["pnl"] == booked
    # R from the trade's entry (2004.30) and its stop (1990.00), whatever the re-open set
    assert summary["avg_r"] == round((close - 2004.3) / (2004.3 - 1990.0), 4)


async def test_a_position_re_opened_while_the_host_was_down_is_still_its_trade(
    tmp_path: Path,
) -> None:
    """The host restarts after the rollover: its broker never saw the old ticket, and
    finds the trade DTMS keeps a record of by the identifier in the terminal's list.
    DTMS took the trade for gone (closed "position gone" a minute later) and adopted the
    new ticket as a trade of its own, with the re-open's price as its entry."""
    t0 = start_time()
    fake = terminal(t0)
    first = Trader()
    app = live(fake, first, tmp_path / "dtms")
    await app.plugins.startup(app.host)
    await cycle(app, fake, t0, propose=True)
    await cycle(app, fake, after(t0, 20))
    await stop(app)
    app.broker.close_connection()  # type: ignore[attr-defined]
    ticket = first.ticket
    [(_, trailed)] = sltp(fake)
    quote(fake, 2008.0)
    new = fake.reopen(ticket, swap=-2.0)  # while the host is down

    second = Trader()
    app = live(fake, second, tmp_path / "dtms")
    rates(fake, after(t0, 300), lift=(after(t0, -10), 6.0))
    await app.plugins.startup(app.host)
    for seconds in (300, 330, 360, 390):
        await cycle(app, fake, after(t0, seconds))
    (moved, level) = sltp(fake)[-1]
    assert moved == new and level > trailed
    strategy = app.plugins.get("dtms").strategy  # type: ignore[attr-defined]
    record = strategy.records[ticket]
    assert list(strategy.records) == [ticket] and record.is_open
    assert (record.entry_price, record.stop_loss) == (2004.3, level)
    assert app.broker.position(ticket).entry_price == 2004.3  # type: ignore[union-attr]
    quote(fake, round(level - 0.5, 2))
    for seconds in (420, 450):
        await cycle(app, fake, after(t0, seconds))
    await stop(app)
    booked = round(sum(d.profit + d.swap for d in fake.deals), 2)
    assert second.closed == [(ticket, "stop_loss", booked, round(level - 0.5, 2))]
    assert strategy.records[ticket].realised_profit == booked
    assert run_summary(app, app.loop.stats, {"mode": "live"})["closes_by_reason"] == {
        "stop_loss": 1
    }
