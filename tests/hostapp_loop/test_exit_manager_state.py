"""The exit manager's state file: a live host keeps each trade's initial risk in
``exits/trades.json`` so a restart manages its trades again (a simulated run keeps none);
an unreadable or unwritable file, and positions it has no record of, are said."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import pytest
from hostapp_loop.test_exit_manager import _open_buy, _setup

from hookspecs import ActionKind, OrderRequest
from hookspecs.events import FOR_TERMINAL
from hostapp.exits import ExitManager
from hostapp.testing import bars_from_closes


def _live_host(broker: Any, market: Any, clock: Any, root: Path) -> Any:
    """A live host (a restart of the same bot) over the same broker, its state in ``root``."""
    from hostapp.config import config_from_dict
    from hostapp.host import Host
    from hostapp.loader import load_plugins

    cfg = dataclasses.replace(config_from_dict({}), data_root=root)
    plugins = load_plugins(cfg, builtins={"exits": ExitManager}, entry_points=[], env={})
    host = Host(broker, market, clock, cfg, plugins, mode="live")
    plugins.configure(host)
    return host


async def test_a_restarted_live_host_manages_its_trades_again(
    hostapp_broker, hostapp_market, hostapp_clock, tmp_path: Path
) -> None:
    """After breakeven the stop no longer tells the trade's R; the restarted manager has
    it from its state file and goes on to trail and bank half, as if never stopped."""
    hostapp_market.add("XAUUSD", bars_from_closes([2000.0 + 0.5 * i for i in range(40)]))
    first = _live_host(hostapp_broker, hostapp_market, hostapp_clock, tmp_path)
    await first.plugins.startup(first)
    trade = await _open_buy(first, hostapp_broker, volume=0.2)
    hostapp_broker.set_price("XAUUSD", 2010.5)  # +1.05R: breakeven
    await first.plugins.manage_positions(first, hostapp_clock.now())
    assert hostapp_broker.position(trade.ticket).stop_loss == pytest.approx(2001.0)
    # the process dies; a new one starts on the same account and state folder
    again = _live_host(hostapp_broker, hostapp_market, hostapp_clock, tmp_path)
    await again.plugins.startup(again)
    manager = again.plugins.get("exits")
    assert manager.managed_tickets == [trade.ticket]
    assert manager.initial_risk(trade.ticket) == pytest.approx(10.0)  # not 1.0 from the stop
    hostapp_broker.set_price("XAUUSD", 2025.0)  # +2.5R: trail and bank half
    await again.plugins.manage_positions(again, hostapp_clock.now())
    kinds = [a.kind for a, _ in again.executed]
    assert kinds == [ActionKind.TIGHTEN_SL, ActionKind.PARTIAL_CLOSE]
    assert all(
        a.key.startswith(f"exits:{trade.ticket}:2:") or a.key.startswith(f"exits:{trade.ticket}:3:")
        for a, _ in again.executed
    )  # keys go on, never reused


async def test_a_simulated_run_keeps_no_state_file(
    hostapp_factory, hostapp_broker, hostapp_market, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the default data root is relative
    host, _manager, _ = _setup(hostapp_factory, hostapp_broker, hostapp_market, defensive=False)
    await host.plugins.startup(host)
    await _open_buy(host, hostapp_broker)
    assert not (tmp_path / host.data_dir("exits")).exists()


@pytest.mark.parametrize(
    "text", ["[1, 2]", '{"7": {"risk": "x"}}', '{"7": {"seq": 1}}', "{not json"]
)
async def test_an_unreadable_state_file_is_one_line_and_no_trade_resumed(
    hostapp_broker, hostapp_market, hostapp_clock, tmp_path: Path, caplog, text: str
) -> None:
    """Said on the terminal, and moved aside before a save could write over the R it may
    hold (the next trade opened or closed rewrote it from nothing)."""
    (tmp_path / "exits").mkdir()
    (tmp_path / "exits" / "trades.json").write_text(text)
    host = _live_host(hostapp_broker, hostapp_market, hostapp_clock, tmp_path)
    with caplog.at_level(logging.ERROR):
        await host.plugins.startup(host)
    assert host.plugins.get("exits").managed_tickets == []
    said = [r for r in caplog.records if "unreadable" in r.getMessage()]
    aside = tmp_path / "exits" / "trades.json.unreadable"
    assert len(said) == 1 and said[0].getMessage().endswith(
        f": no trade resumed; kept as {aside} for a look"
    )
    assert getattr(said[0], FOR_TERMINAL) is True
    assert aside.read_text() == text and not (tmp_path / "exits" / "trades.json").exists()


async def test_keys_of_another_version_are_left_out_and_the_trades_resumed(
    hostapp_broker, hostapp_market, hostapp_clock, tmp_path: Path, caplog
) -> None:
    """A file a newer version wrote (a key this one does not know) was refused whole:
    every trade's R dropped, and the file rewritten from nothing at the next save."""
    hostapp_market.add("XAUUSD", bars_from_closes([2000.0 + 0.5 * i for i in range(40)]))
    first = _live_host(hostapp_broker, hostapp_market, hostapp_clock, tmp_path)
    await first.plugins.startup(first)
    trade = await _open_buy(first, hostapp_broker, volume=0.2)
    path = tmp_path / "exits" / "trades.json"
    path.write_text(path.read_text().replace('"seq"', '"trail_from": 1.0, "seq"'))
    again = _live_host(hostapp_broker, hostapp_market, hostapp_clock, tmp_path)
    with caplog.at_level(logging.WARNING):
        await again.plugins.startup(again)
    assert again.plugins.get("exits").managed_tickets == [trade.ticket]
    assert again.plugins.get("exits").initial_risk(trade.ticket) == pytest.approx(10.0)
    assert not caplog.records


async def test_positions_left_by_an_unreadable_file_are_said_with_why(
    hostapp_broker, hostapp_market, hostapp_clock, tmp_path: Path, caplog
) -> None:
    hostapp_market.add("XAUUSD", bars_from_closes([2000.0 + 0.5 * i for i in range(40)]))
    first = _live_host(hostapp_broker, hostapp_market, hostapp_clock, tmp_path)
    await first.plugins.startup(first)
    trade = await _open_buy(first, hostapp_broker, volume=0.2)
    (tmp_path / "exits" / "trades.json").write_text("{not json")
    again = _live_host(hostapp_broker, hostapp_market, hostapp_clock, tmp_path)
    with caplog.at_level(logging.WARNING):
        await again.plugins.startup(again)
    why = "its exits/trades.json unreadable, kept as trades.json.unreadable"
    said = [r.getMessage() for r in caplog.records if "not managed by" in r.getMessage()]
    assert said == [
        "exits: 1 open position(s) with no record of their initial risk are not managed by "
        f"the exit rules ({why}): tickets {trade.ticket}"
    ]
    (report,) = [r for name, r in again.plugins.run_report(again).items() if name == "exits"]
    assert report["note"].startswith(
        f"1 position(s) open at start-up with no record of their initial risk: {why} were left"
    )


async def test_a_state_file_written_again_after_failing_says_so_where_its_failure_was_read(
    hostapp_broker, hostapp_market, hostapp_clock, tmp_path: Path, caplog
) -> None:
    """ "not written …; a restart forgets R" is an ERROR, on the run's terminal; the next
    save that worked said nothing, so the terminal read as if a restart still forgot."""
    from hookspecs.events import FOR_TERMINAL

    hostapp_market.add("XAUUSD", bars_from_closes([2000.0 + 0.5 * i for i in range(40)]))
    host = _live_host(hostapp_broker, hostapp_market, hostapp_clock, tmp_path)
    await host.plugins.startup(host)
    blocker = tmp_path / "exits" / "trades.tmp"
    blocker.mkdir(parents=True)  # where the file is written first: a folder, as a full disk
    with caplog.at_level(logging.INFO):
        await _open_buy(host, hostapp_broker)
        await _open_buy(host, hostapp_broker)  # the same episode: counted by no one, unsaid
        blocker.rmdir()
        await _open_buy(host, hostapp_broker)
        await _open_buy(host, hostapp_broker)  # saved as usual: nothing to say
    said = [r for r in caplog.records if r.getMessage().startswith("exits: ")]
    assert [(r.levelname, getattr(r, FOR_TERMINAL, False)) for r in said] == [
        ("ERROR", False), ("WARNING", True),
    ]  # fmt: skip
    assert said[0].getMessage().endswith("; a restart forgets R")
    assert (
        said[1].getMessage() == f"exits: {tmp_path / 'exits' / 'trades.json'} written again; "
        "a restart resumes R"
    )
    saved = (tmp_path / "exits" / "trades.json").read_text()
    assert saved.count('"risk"') == 4  # every trade, the two before the failure's end too


async def test_open_positions_it_holds_no_risk_of_are_said_at_start_up(
    hostapp_broker, hostapp_market, hostapp_clock, tmp_path: Path, caplog
) -> None:
    """A live host started on an account whose positions it has no state file for (an
    upgrade from a version without one, a lost folder, trades opened by hand) left them
    to their own stops without a word."""
    hostapp_market.add("XAUUSD", bars_from_closes([2000.0 + 0.5 * i for i in range(40)]))
    first = _live_host(hostapp_broker, hostapp_market, hostapp_clock, tmp_path / "old")
    await first.plugins.startup(first)
    trade = await _open_buy(first, hostapp_broker, volume=0.2)
    # a DTMS hedge and a position without a stop are none of the exit rules': not said
    hostapp_broker.open(OrderRequest("XAUUSD", "sell", 0.1, comment="DTMS_HEDGE_1"))
    hostapp_broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    again = _live_host(hostapp_broker, hostapp_market, hostapp_clock, tmp_path / "new")
    with caplog.at_level(logging.INFO):
        await again.plugins.startup(again)
    said = [r for r in caplog.records if "not managed by the exit rules" in r.getMessage()]
    assert [r.getMessage() for r in said] == [
        "exits: 1 open position(s) with no record of their initial risk are not managed by "
        "the exit rules (opened by hand, by another program, or before this state folder had "
        f"an exits/trades.json): tickets {trade.ticket}"
    ]
    # on the terminal and in the run's summary: an upgrade from a version that kept no
    # state file left the host's own trades so, said only in the log
    assert said[0].levelno == logging.WARNING and getattr(said[0], FOR_TERMINAL) is True
    (report,) = [r for name, r in again.plugins.run_report(again).items() if name == "exits"]
    assert report["unmanaged_at_start"] == 1
    assert report["note"].startswith(
        "1 position(s) open at start-up with no record of their initial risk were left to "
        f"their own stops, not managed by the exit rules (tickets {trade.ticket})"
    )
    caplog.clear()
    with caplog.at_level(logging.INFO):  # the folder that has it: managed again, nothing said
        resumed = _live_host(hostapp_broker, hostapp_market, hostapp_clock, tmp_path / "old")
        await resumed.plugins.startup(resumed)
    assert not [r for r in caplog.records if "not managed by" in r.getMessage()]


async def test_a_trade_that_closed_before_the_restart_is_not_managed_again(
    hostapp_broker, hostapp_market, hostapp_clock, tmp_path: Path, caplog
) -> None:
    """A kill before the state file was saved again: a trade that closed meanwhile was
    still in it, and the restart said it was "managing again" a closed trade."""
    hostapp_market.add("XAUUSD", bars_from_closes([2000.0 + 0.5 * i for i in range(40)]))
    first = _live_host(hostapp_broker, hostapp_market, hostapp_clock, tmp_path)
    await first.plugins.startup(first)
    kept = await _open_buy(first, hostapp_broker, volume=0.2)
    gone = await _open_buy(first, hostapp_broker, volume=0.2)
    assert hostapp_broker.close(gone.ticket).ok  # closed, the file not saved again: killed
    again = _live_host(hostapp_broker, hostapp_market, hostapp_clock, tmp_path)
    with caplog.at_level(logging.INFO):
        await again.plugins.startup(again)
    manager = again.plugins.get("exits")
    assert manager.managed_tickets == [kept.ticket]
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("exits:")]
    assert f"exits: managing again 1 trades from before the restart (tickets {kept.ticket})" in said
    assert (
        f"exits: 1 trade(s) of its state file closed before the restart (tickets {gone.ticket}): "
        "dropped"
    ) in said
    assert str(gone.ticket) not in (tmp_path / "exits" / "trades.json").read_text()


async def test_a_state_file_that_cannot_be_read_is_left_as_it_is_and_not_written(
    hostapp_broker, hostapp_market, hostapp_clock, tmp_path: Path, caplog
) -> None:
    """Not read (a permission, the disk): nothing is wrong in it, so it is neither moved
    aside nor written over this run; a trade opened meanwhile is not saved to it."""
    hostapp_market.add("XAUUSD", bars_from_closes([2000.0 + 0.5 * i for i in range(40)]))
    (tmp_path / "exits" / "trades.json").mkdir(parents=True)  # reading it: IsADirectoryError
    host = _live_host(hostapp_broker, hostapp_market, hostapp_clock, tmp_path)
    with caplog.at_level(logging.ERROR):
        await host.plugins.startup(host)
    (line,) = [r.getMessage() for r in caplog.records if "could not be read" in r.getMessage()]
    assert line.endswith("no trade resumed, and the file is left as it is (not written this run)")
    await _open_buy(host, hostapp_broker)
    assert (tmp_path / "exits" / "trades.json").is_dir()
    assert not list((tmp_path / "exits").glob("*.unreadable*"))
