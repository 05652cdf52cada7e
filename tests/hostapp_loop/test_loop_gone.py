"""A position the MetaTrader terminal stops listing is reported closed only once the
trade server's history confirms it (hostapp/loop_gone.py): the history can trail a close
by a moment, and a terminal not yet synchronised can list no positions while they are
open. The loop's cycles are run one by one at chosen times on the real live host over the
fake terminal, so a bound of a minute is crossed without waiting for it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hostapp_mt5.mt5_helpers import live_app
from support.fake_mt5 import FakeMT5

from hookspecs import UNCONFIRMED_CLOSE_SECONDS, Action, ActionKind, OrderRequest, hookimpl
from hostapp.app import App
from hostapp.loop_gone import unsynced_note

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MAGIC = 777


class Listens:
    """Hears the closes; ``during`` runs inside ``on_cycle`` (the server's doing while
    the plugins' step runs), and ``close`` is a ticket it closes through the host then."""

    def __init__(self) -> None:
        self.closed: list[tuple[int, str, float, float | None]] = []
        self.during: Any = None
        self.close: int | None = None

    @hookimpl
    async def on_cycle(self, host: Any) -> None:
        if self.during is not None:
            self.during()
            self.during = None
        if self.close is not None:
            action = Action(self.close, ActionKind.CLOSE, key=f"close-{self.close}")
            self.close = None
            assert (await host.execute(action)).ok

    @hookimpl
    def on_trade_closed(self, trade: Any, reason: str) -> None:
        self.closed.append((trade.ticket, reason, trade.profit, trade.close_price))


def _host(fake: FakeMT5) -> tuple[App, Listens]:
    plugin = Listens()
    return live_app(fake, {"listens": plugin}, magic=MAGIC), plugin


async def _cycle(app: App, fake: FakeMT5, seconds: float) -> None:
    """A cycle ``seconds`` after T0, the terminal's clock moved there first."""
    now = T0 + timedelta(seconds=seconds)
    fake.advance(max((now - fake.now).total_seconds(), 0.0))
    await app.loop.cycle(now, {}, False)


def _warnings(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


async def test_a_stop_hit_while_the_history_lags_is_heard_as_a_stop_with_its_deal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The stop's deal reaches the history 5 s after the position left the list: the
    close was heard at once as ``external``, with the cycle before's floating profit and
    no close price, and never corrected (a defender summed -3.0 for a -143.0 loss). One
    position gone with its deal late is no suspect list: nothing is said."""
    fake = FakeMT5(now=T0, history_lag=5.0)
    app, plugin = _host(fake)
    ticket = fake.add_position("XAUUSD", 0, 0.1, 2004.3, sl=1990.0, magic=MAGIC)
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 2004.0, 2004.3
    await _cycle(app, fake, 0)  # adopted
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 1989.5, 1989.8
    fake.hit_stop(ticket)  # (1990.0 - 2004.3) × 0.1 × 100
    await _cycle(app, fake, 1)
    await _cycle(app, fake, 3)
    assert plugin.closed == []  # not yet in the history: asked again
    await _cycle(app, fake, 7)
    assert plugin.closed == [(ticket, "stop_loss", -143.0, 1990.0)]
    await _cycle(app, fake, 9)
    assert len(plugin.closed) == 1
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


async def test_an_order_going_through_keeps_a_close_waiting_for_its_deal() -> None:
    """An entry that went through said its vetoes' episodes, and with them dropped the
    positions waiting for their deals ("when the run stopped"): a stop hit in the same
    cycle was never reported to any plugin."""
    fake = FakeMT5(now=T0, history_lag=5.0)
    app, plugin = _host(fake)
    ticket = fake.add_position("XAUUSD", 0, 0.1, 2004.3, sl=1990.0, magic=MAGIC)
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 2004.0, 2004.3
    await _cycle(app, fake, 0)
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 1989.5, 1989.8
    fake.hit_stop(ticket)
    await _cycle(app, fake, 1)  # gone, its deal not in the history yet
    await app.loop._place(T0 + timedelta(seconds=1), "strategy", OrderRequest("XAUUSD", "buy", 0.1))
    await _cycle(app, fake, 7)
    assert plugin.closed == [(ticket, "stop_loss", -143.0, 1990.0)]


async def test_one_position_listed_again_says_the_list_had_lacked_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeMT5(now=T0)
    app, plugin = _host(fake)
    fake.add_position("XAUUSD", 0, 1.0, 2010.0, magic=MAGIC)
    await _cycle(app, fake, 0)
    with caplog.at_level(logging.INFO):
        fake.empty_positions_get = 1
        await _cycle(app, fake, 30)
        await _cycle(app, fake, 60)
    assert plugin.closed == []
    (said,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "lacked every position 1 times in a row within a second" in said  # not "over 0 s"
    assert "of the 1 positions it dropped, 1 were listed again" in said


async def test_a_close_the_history_never_shows_is_reported_after_the_bound_saying_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeMT5(now=T0, history_lag=3600.0)
    app, plugin = _host(fake)
    ticket = fake.add_position("XAUUSD", 1, 0.2, 2005.0, magic=MAGIC)
    await _cycle(app, fake, 0)
    fake.stop_out(ticket)
    with caplog.at_level(logging.INFO):
        await _cycle(app, fake, 30)
        await _cycle(app, fake, 30 + UNCONFIRMED_CLOSE_SECONDS - 1)
        assert plugin.closed == []
        await _cycle(app, fake, 30 + UNCONFIRMED_CLOSE_SECONDS)
    # the last view: the sell's floating (2005.0 - 2005.3) × 0.2 × 100, no close price
    assert plugin.closed == [(ticket, "external", -6.0, None)]
    (said,) = _warnings(caplog, f"position {ticket} (sell 0.2 XAUUSD) left the broker's list")
    assert "reported closed (external) with its last view, profit -6.00" in said


async def test_one_empty_list_while_positions_are_open_closes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A hedged trade; the terminal answers one cycle's positions_get() with nothing. Both
    positions were reported closed (``external``) for good, and re-adopted silently when
    listed again, so a defender stopped defending a trade that was still open."""
    fake = FakeMT5(now=T0)
    app, plugin = _host(fake)
    trade = fake.add_position("XAUUSD", 0, 1.0, 2010.0, sl=1990.0, magic=MAGIC)
    hedge = fake.add_position("XAUUSD", 1, 0.5, 2004.0, magic=MAGIC, comment=f"DTMS_HEDGE_{trade}")
    await _cycle(app, fake, 0)
    with caplog.at_level(logging.INFO):
        fake.empty_positions_get = 2  # this cycle's two sweeps
        await _cycle(app, fake, 30)
        fake.empty_positions_get = 2  # and the next one's
        await _cycle(app, fake, 60)
        await _cycle(app, fake, 90)  # listed again
    assert plugin.closed == []
    (said,) = _warnings(caplog, "listed none of the 2 open positions")
    assert "its history shows none of them closed" in said
    # two sweeps a cycle, from the cycle at 30 s to the one at 90 s
    (ended,) = _warnings(caplog, "lacked every position 4 times in a row over 60 s")
    assert "of the 2 positions it dropped, 2 were listed again" in ended
    assert ", 0 closed, 0 still missing" in ended
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 1989.0, 1989.3
    fake.hit_stop(trade)  # still watched: its stop is heard as one
    await _cycle(app, fake, 120)
    assert plugin.closed == [(trade, "stop_loss", -2000.0, 1990.0)]
    assert hedge in fake.positions
    app.loop.end_run()  # the summary says the episode too: the log alone did
    assert app.loop.stats.unsynced_lists == [4]
    assert unsynced_note(app.loop.stats.unsynced_lists) == (
        "the broker's list lacked every open position while its history showed none of them "
        "closed once (4 lists in all): taken for a terminal whose list was not synchronised, "
        "not for closes (the log says each episode)"
    )


async def test_a_position_partly_closed_is_not_closed_by_an_empty_list() -> None:
    """Its history has a closing deal, a partial close's: not the close of the position."""
    fake = FakeMT5(now=T0)
    app, plugin = _host(fake)
    ticket = app.broker.open(OrderRequest("XAUUSD", "buy", 1.0)).new_ticket
    assert ticket is not None
    await _cycle(app, fake, 0)
    assert app.broker.close(ticket, 0.4).ok
    fake.empty_positions_get = 1
    await _cycle(app, fake, 30)
    await _cycle(app, fake, 60)
    assert plugin.closed == [] and fake.positions[ticket].volume == 0.6


async def test_a_close_no_plugin_made_during_the_plugins_step_is_external() -> None:
    """The server stopped the position out while ``on_cycle`` ran and no plugin acted:
    ``action`` named a plugin's action that never was (docs/mt5.md promises ``external``)."""
    fake = FakeMT5(now=T0)
    app, plugin = _host(fake)
    ticket = fake.add_position("XAUUSD", 0, 0.1, 2005.3, magic=MAGIC)
    await _cycle(app, fake, 0)
    plugin.during = lambda: fake.stop_out(ticket)
    await _cycle(app, fake, 30)
    assert plugin.closed == [(ticket, "external", -3.0, 2005.0)]


async def test_a_close_a_plugin_made_during_its_step_is_action() -> None:
    fake = FakeMT5(now=T0)
    app, plugin = _host(fake)
    ticket = fake.add_position("XAUUSD", 0, 0.1, 2005.3, magic=MAGIC)
    await _cycle(app, fake, 0)

    plugin.close = ticket
    await _cycle(app, fake, 30)
    assert plugin.closed == [(ticket, "action", -3.0, 2005.0)]


async def test_a_close_still_unconfirmed_when_the_run_stops_is_in_the_summary() -> None:
    """A stop hit whose deal the history has not shown when the run stops: the position
    is neither open at the end nor among the closes, so the summary says why it is in
    none of its counts, naming it, instead of leaving it to the log."""
    from hostapp.driving import run_summary

    fake = FakeMT5(now=T0, history_lag=600.0)
    app, plugin = _host(fake)
    ticket = fake.add_position("XAUUSD", 0, 0.1, 2004.3, sl=1990.0, magic=MAGIC)
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 2004.0, 2004.3
    await _cycle(app, fake, 0)
    fake.hit_stop(ticket)
    await _cycle(app, fake, 1)
    app.loop.end_run()
    assert plugin.closed == [] and app.loop.stats.unconfirmed_at_end == [ticket]
    notes = run_summary(app, app.loop.stats, {"mode": "live"})["host_notes"]
    said = [n for n in notes if "no close in its history when the run stopped" in n]
    assert len(said) == 1 and f"1 position ({ticket})" in said[0]


async def test_a_position_listed_again_by_the_summary_is_not_named_unconfirmed() -> None:
    """A terminal that lists the position again by the time the summary reads it: the
    position is open at the end, so the note does not also call it in none of the
    counts."""
    from hostapp.driving import run_summary

    fake = FakeMT5(now=T0)
    app, _ = _host(fake)
    ticket = fake.add_position("XAUUSD", 0, 0.1, 2004.3, sl=1990.0, magic=MAGIC)
    fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = 2004.0, 2004.3
    await _cycle(app, fake, 0)
    fake.empty_positions_get = 100  # answers with no positions while it is open
    await _cycle(app, fake, 1)
    app.loop.end_run()
    assert app.loop.stats.unconfirmed_at_end == [ticket]
    fake.empty_positions_get = 0  # synchronised again when the summary reads it
    summary = run_summary(app, app.loop.stats, {"mode": "live"})
    assert not [n for n in summary["host_notes"] if "when the run stopped" in n]
    assert ticket in [p["ticket"] for p in summary["positions_at_end"]]
