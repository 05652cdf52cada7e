"""Start-up never silently empty (docs/dtms.md §8): open positions the local strategy holds
no record of are adopted and managed, with a WARNING naming their tickets and what became
of the store; a closed record whose ticket comes back as another position is archived
and the position managed as a new trade."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import pytest
from support.broker_double import BrokerDouble
from support.dtms_kit import T0, trade
from support.dtms_local_rig import M5, Rig

from dtms_plugin.local import LocalStrategy
from dtms_plugin.store import Store
from hookspecs.events import FOR_TERMINAL

OPEN = 100


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path / "dtms")
    await r.start()
    for ticket in range(1, OPEN + 1):
        await r.open_buy(ticket=ticket, volume=0.1)
    await r.cycles(2)
    yield r
    await r.stop()


async def _restart(rig: Rig) -> LocalStrategy:
    """A fresh process on whatever the store directory holds now."""
    rig.strategy = LocalStrategy(rig.settings)
    await rig.strategy.startup(rig.host)
    return rig.strategy


def _adoption_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "adopted" in r.getMessage()
    ]


def _all_managed(rig: Rig) -> None:
    live = {r.ticket for r in rig.strategy.book.live()}
    assert live == set(range(1, OPEN + 1))
    assert set(rig.strategy.store.records()) == live
    for ticket in live:
        assert rig.strategy.store.get_state(ticket) is not None


@pytest.mark.parametrize("damage", ["empty", "garbled", "missing"])
async def test_a_lost_store_with_open_positions_adopts_them_all(
    rig: Rig, tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "dtms"
    rig.strategy.store.close()  # the process dies; its store is then lost
    db = directory / "cache.db"
    for extra in directory.glob("cache.db-*"):
        extra.unlink()
    if damage == "empty":
        db.write_bytes(b"")
    elif damage == "garbled":
        db.write_bytes(os.urandom(64 * 1024))
    else:
        db.unlink()
    caplog.set_level(logging.WARNING)
    await _restart(rig)
    _all_managed(rig)
    [line] = _adoption_warnings(caplog)
    assert f"adopted {OPEN}" in line
    assert "tickets 1, 2, 3," in line and f", {OPEN}" in line
    expected = {"empty": "was empty", "garbled": "damaged (kept aside at", "missing": "missing"}
    assert expected[damage] in line
    if damage == "garbled":
        [aside] = [p for p in tmp_path.iterdir() if p.name.startswith("dtms.corrupt-")]
        assert str(aside) in line
        assert len((aside / "cache.db").read_bytes()) == 64 * 1024
    # and they are managed: the next cycles score every one of them
    await rig.cycles(2)
    assert rig.strategy.evaluated == set(range(1, OPEN + 1))


async def test_a_position_missing_from_an_intact_store_is_adopted(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    rig.strategy.store.delete_record(7)
    rig.strategy.store.close()
    caplog.set_level(logging.WARNING)
    await _restart(rig)
    _all_managed(rig)
    [line] = _adoption_warnings(caplog)
    assert "no record" in line and "tickets 7" in line and "adopted 1" in line


async def test_an_intact_restart_adopts_nothing(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    rig.strategy.store.close()
    caplog.set_level(logging.WARNING)
    await _restart(rig)
    _all_managed(rig)
    assert _adoption_warnings(caplog) == []


async def test_positions_with_another_magic_and_our_hedges_are_not_adopted(
    tmp_path: Path,
) -> None:
    r = Rig(tmp_path / "dtms", magic=42)
    r.broker.add(replace(trade(ticket=1), magic=42))
    r.broker.add(replace(trade(ticket=2), magic=7))
    r.broker.add(replace(trade(ticket=3), magic=42, comment="DTMS_HEDGE_1"))
    await r.start()
    assert set(r.strategy.records) == {1}
    await r.stop()


async def test_without_a_magic_setting_only_positions_of_our_trades_magic_are_adopted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No ``[plugin.dtms] magic`` (the shipped config): after a restart, a position opened
    by hand (magic 0) or by another program's expert (999) is not taken on, while one of
    the host's own magic that the store lost is; each said."""
    r = Rig(tmp_path / "dtms")
    await r.start()
    for ticket in (1, 2):  # the host's entries: its magic number
        ours = replace(trade(ticket=ticket, opened_at=r.clock.now()), magic=240617)
        await r.strategy.on_trade_executed(r.host, r.broker.add(ours))
    await r.cycles(1)
    r.strategy.store.delete_record(2)  # the host's own, its record lost
    r.strategy.store.close()
    r.broker.add(replace(trade(ticket=3), magic=0))  # by hand, while the host was down
    r.broker.add(replace(trade(ticket=4, direction="sell"), magic=999))  # another expert
    caplog.set_level(logging.INFO, logger="dtms_plugin.local")
    strategy = await _restart(r)
    assert set(strategy.records) == {1, 2}
    [line] = _adoption_warnings(caplog)
    assert "tickets 2" in line and "adopted 1" in line
    said = [m.getMessage() for m in caplog.records if "left alone" in m.getMessage()]
    assert said == [
        "DTMS: 2 open positions of other programs left alone (magic 0, 999; ours: 240617, "
        "from our records); if one is this host's, set [plugin.dtms] magic to its magic "
        "number"
    ]
    assert [r.levelname for r in caplog.records if "left alone" in r.getMessage()] == ["WARNING"]
    await r.stop()


async def test_a_reused_ticket_is_a_new_trade_and_the_old_record_is_archived(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    r = Rig(tmp_path / "dtms")
    await r.start()
    first = await r.open_buy(ticket=5, volume=0.1)
    await r.cycles(1)
    r.broker.close(5)
    await r.strategy.on_trade_closed(r.host, r.broker.closed[-1], "manual")
    assert not r.strategy.records[5].is_open
    # the same ticket again, another position (a fresh paper account): registration
    r.clock.advance(M5)
    again = replace(first, opened_at=r.clock.now(), entry_price=first.entry_price + 1.0)
    r.broker.add(again)
    await r.strategy.on_trade_executed(r.host, again)
    rec = r.strategy.records[5]
    assert rec.is_open and rec.opened_at == again.opened_at
    [old] = r.strategy.store.archived(5)
    assert old["state"] == "CLOSED" and old["opened_at"] == first.opened_at.isoformat()
    assert r.strategy.store.get_record(5)["opened_at"] == again.opened_at.isoformat()
    # the very same position registered twice stays one trade
    await r.strategy.on_trade_executed(r.host, again)
    assert len(r.strategy.store.archived(5)) == 1
    await r.stop()


async def test_a_reused_ticket_found_at_start_up_is_adopted_as_a_new_trade(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    r = Rig(tmp_path / "dtms")
    await r.start()
    first = await r.open_buy(ticket=5, volume=0.1)
    r.broker.close(5)
    await r.strategy.on_trade_closed(r.host, r.broker.closed[-1], "manual")
    r.strategy.store.close()
    r.clock.advance(M5)
    r.broker.add(replace(first, opened_at=r.clock.now()))
    caplog.set_level(logging.WARNING)
    r.strategy = LocalStrategy(r.settings)
    await r.strategy.startup(r.host)
    assert r.strategy.records[5].is_open
    assert len(r.strategy.store.archived(5)) == 1
    [line] = _adoption_warnings(caplog)
    assert "tickets 5 reused" in line
    # an unchanged closed record of a position still listed is the same trade: kept
    with Store(tmp_path / "other") as s:
        assert s.archived(5) == []
    await r.stop()


@dataclass
class MarksOrders(BrokerDouble):
    """A broker that marks the host's orders with a magic of its own (``OwnMagic``), as
    MetaTrader's ``[host.mt5] magic`` does."""

    magic: int = 240617


def _with_broker(r: Rig, broker: BrokerDouble) -> Rig:
    r.broker = broker
    r.host.broker = broker
    r._mid()
    return r


async def test_a_lost_store_adopts_only_the_positions_of_the_hosts_own_magic(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No record to learn from and no ``[plugin.dtms] magic``: the broker's own magic says
    which positions are the host's. A trade opened by hand (magic 0) or by another
    expert (999) is left alone; a hedge that keeps its comment is not a trade; one whose
    comment the broker rewrote cannot be told from one, and is defended as one."""
    r = Rig(tmp_path / "dtms")
    _with_broker(r, MarksOrders(r.broker.infos, r.clock, hedging=True))
    r.broker.add(replace(trade(ticket=1), magic=240617))
    r.broker.add(replace(trade(ticket=2, direction="sell"), magic=240617, comment="DTMS_HEDGE_1"))
    r.broker.add(replace(trade(ticket=3), magic=0))  # by hand
    r.broker.add(replace(trade(ticket=4), magic=999))  # another expert
    # the hedge of 6, opened after it, smaller: its comment gone (1 has its hedge: 2)
    r.broker.add(replace(trade(ticket=6, volume=2.0, opened_at=T0 - M5), magic=240617))
    r.broker.add(replace(trade(ticket=5, direction="sell"), magic=240617))
    caplog.set_level(logging.INFO, logger="dtms_plugin.local")
    await r.start()
    assert set(r.strategy.records) == {1, 5, 6}
    [line] = _adoption_warnings(caplog)
    assert "adopted 3, managed from now on: tickets 1, 6, 5" in line
    assert line.endswith(
        "; XAUUSD adopted on both sides: one may be a DTMS hedge whose comment the broker "
        "rewrote, defended now as a trade of its own"
    )
    [(level, said)] = [
        (m.levelname, m.getMessage()) for m in caplog.records if "left alone" in m.getMessage()
    ]
    assert (level, said) == (  # a WARNING: a strategy's own magic (999?) goes undefended
        "WARNING",
        "DTMS: 2 open positions of other programs left alone (magic 0, 999; ours: 240617, "
        "from the broker); if one is this host's, set [plugin.dtms] magic to its magic number",
    )
    await r.stop()


async def test_a_broker_with_no_magic_of_its_own_adopts_all_and_leaves_none_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The paper broker marks no orders of its own: with no record either, every
    position is adopted (leaving them undefended would be worse), and no line says some
    were left alone."""
    r = Rig(tmp_path / "dtms")
    r.broker.add(replace(trade(ticket=1), magic=0))
    r.broker.add(replace(trade(ticket=2), magic=240617))
    caplog.set_level(logging.INFO, logger="dtms_plugin.local")
    await r.start()
    assert set(r.strategy.records) == {1, 2}
    assert not [m for m in caplog.records if "left alone" in m.getMessage()]
    [line] = _adoption_warnings(caplog)
    assert "positions of every magic number were adopted" in line
    await r.stop()


async def test_an_old_record_without_a_magic_does_not_make_hand_opened_trades_ours(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A store written before records kept their magic reads it as 0, which on a broker
    with a magic of its own is a trade opened by hand: after an upgrade such a store
    adopted the trader's manual positions and left the host's own unrecorded one alone."""
    first = Rig(tmp_path / "dtms")
    await first.start()
    await first.open_buy(ticket=1, volume=0.1)
    await first.cycles(1)
    await first.stop()
    with Store(tmp_path / "dtms") as store:  # as an older version wrote it: no magic
        record = store.records()[1]
        store.put_record(1, {k: v for k, v in record.items() if k != "magic"})
    r = Rig(tmp_path / "dtms")
    _with_broker(r, MarksOrders(r.broker.infos, r.clock, hedging=True))
    r.broker.add(replace(trade(ticket=1), magic=240617))
    r.broker.add(replace(trade(ticket=2), magic=240617))  # the host's, its record lost
    r.broker.add(replace(trade(ticket=3), magic=0))  # opened by hand
    caplog.set_level(logging.INFO, logger="dtms_plugin.local")
    await r.start()
    assert set(r.strategy.records) == {1, 2}
    assert r.strategy.records[1].magic == 0  # the old record itself is kept as it was
    await r.stop()


async def test_a_position_adopted_with_its_stop_past_the_entry_takes_r_from_the_atr(
    tmp_path: Path,
) -> None:
    """The store lost while a trade's stop was at breakeven plus a little (or locking
    profit): R from that stop would be a point or two, and a WARNING_L1 tighten would then
    put the stop within those points of the price. Adopted, it takes R as a trade without
    a stop does: 1 × ATR of the signal timeframe (docs/dtms.md §1)."""
    r = Rig(tmp_path / "dtms")
    await r.start()
    opened = await r.open_buy(ticket=1)
    await r.cycles(1)
    first_r = r.strategy.records[1].r
    assert first_r == pytest.approx(50.0)  # the stop it was opened with
    r.broker.open_positions[1] = replace(opened, stop_loss=opened.entry_price + 0.5)
    r.strategy.store.close()
    for path in (tmp_path / "dtms").glob("cache.db*"):
        path.unlink()
    strategy = await _restart(r)
    adopted = strategy.records[1]
    atr = strategy._bars(r.host, "XAUUSD", r.clock.now()).signal_atr
    assert atr is not None and adopted.r == pytest.approx(atr) and atr > 4 * 0.5
    assert adopted.stop_loss == opened.entry_price + 0.5  # its stop is kept as it is
    await r.stop()


@pytest.mark.parametrize(
    ("sell_volume", "sell_opened"),
    [(1.0, T0 + M5), (2.0, T0 + M5), (0.5, T0 - M5)],
    ids=["beside-a-trade-with-its-hedge", "larger-than-the-buy", "opened-before-the-buy"],
)
async def test_ordinary_buys_and_sells_are_not_called_a_rewritten_hedge(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, sell_volume: float, sell_opened: datetime
) -> None:
    """Adopted on both sides, but no sell can be a DTMS hedge of a buy: the buy's hedge
    kept its comment (DTMS opens one per trade), or the sell is larger than the buy, or
    opened before it (a hedge is opened while its trade is open, never more than its
    volume): the WARNING does not say "one may be a DTMS hedge"."""
    r = Rig(tmp_path / "dtms")
    _with_broker(r, MarksOrders(r.broker.infos, r.clock, hedging=True))
    r.broker.add(replace(trade(ticket=1), magic=240617))
    if sell_volume == 1.0:  # the buy's hedge, known by its comment
        hedge = trade(ticket=2, direction="sell", volume=0.5, opened_at=T0 + M5)
        r.broker.add(replace(hedge, magic=240617, comment="DTMS_HEDGE_1"))
    sell = trade(ticket=3, direction="sell", volume=sell_volume, opened_at=sell_opened)
    r.broker.add(replace(sell, magic=240617))
    caplog.set_level(logging.INFO, logger="dtms_plugin.local")
    await r.start()
    assert {1, 3} <= set(r.strategy.records)
    [line] = _adoption_warnings(caplog)
    assert "adopted on both sides" not in line, line
    await r.stop()


async def test_a_damaged_store_is_said_on_the_terminal_and_in_the_runs_note(
    rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The store moved aside (its closed records and action history with it) was said
    only in the log: the terminal and the run's summary now say where it went."""
    directory = tmp_path / "dtms"
    rig.strategy.store.close()
    for extra in directory.glob("cache.db-*"):
        extra.unlink()
    (directory / "cache.db").write_bytes(os.urandom(64 * 1024))
    caplog.set_level(logging.WARNING)
    strategy = await _restart(rig)
    [aside] = [p for p in tmp_path.iterdir() if p.name.startswith("dtms.corrupt-")]
    [said] = [r for r in caplog.records if "is corrupted" in r.getMessage()]
    assert getattr(said, FOR_TERMINAL, False) is True and str(aside) in said.getMessage()
    note = strategy.report()["note"]
    assert note.startswith(f"DTMS found its store damaged at start-up: kept aside at {aside}")
