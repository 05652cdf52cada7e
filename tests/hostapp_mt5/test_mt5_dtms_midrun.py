"""DTMS in a live run on the MetaTrader broker over the fake terminal: a position with the
host's magic that appears mid-run (another program's order with our magic, one opened by
hand with it, an order of unknown outcome that filled late) is adopted as start-up adopts
it, in one WARNING naming its ticket; the host's own entry, announced, is not.

The probe's case: a buy of 0.5 XAUUSD, magic 240617, comment "hostapp", no stop, added at
6 s: no line, and DTMS never defended it (adoption ran at start-up only).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hostapp_mt5.test_mt5_dtms_ladder import MAGIC, _live, _rates
from support.fake_mt5 import FakeMT5, FakeSymbol

from dtms_plugin.local_midrun import MIDRUN
from hookspecs import OrderRequest, hookimpl
from hostapp.driving import drive


class Hand:
    """Buys once through the host (cycle 1); at cycle ``at`` a position with our magic is
    opened at the terminal by someone else; stops at cycle ``last``. The fake's clock
    follows the wall's."""

    def __init__(self, fake: FakeMT5, at: int, last: int, magic: int = MAGIC) -> None:
        self.fake, self.at, self.last, self.magic = fake, at, last, magic
        self.cycles = 0
        self.own = 0  # the host's entry
        self.hand = 0  # the one opened by hand
        self.stop: Any = None

    @hookimpl
    def propose_orders(self) -> list[OrderRequest]:
        if self.own:
            return []
        return [OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1990.0, take_profit=2020.0)]

    @hookimpl
    def on_trade_executed(self, trade: Any) -> None:
        self.own = trade.ticket

    @hookimpl
    def on_cycle(self) -> None:
        self.cycles += 1
        self.fake.advance(max((datetime.now(UTC) - self.fake.now).total_seconds(), 0.0))
        if self.cycles == self.at:
            self.hand = self.fake.add_position(
                "XAUUSD", 0, 0.5, 2004.3, sl=0.0, tp=0.0, magic=self.magic, comment="hostapp"
            )
        if self.cycles >= self.last:
            self.stop()


async def test_a_position_of_ours_that_appears_mid_run_is_adopted_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    now = datetime.now(UTC)
    fake = FakeMT5(now=now)
    fake.add_symbol(FakeSymbol("XAUUSD", bid=2004.0, ask=2004.3, digits=2))
    _rates(fake, now)
    hand = Hand(fake, at=4, last=12)
    app = _live(fake, hand, tmp_path / "dtms")
    await asyncio.wait_for(drive(app, progress=None), 60)
    records = app.plugins.get("dtms").strategy.records
    assert hand.own and hand.hand and {hand.own, hand.hand} <= set(records)
    assert records[hand.hand].volume == 0.5 and records[hand.hand].is_open
    said = [r.getMessage() for r in caplog.records if "adopted" in r.getMessage()]
    assert said == [f"DTMS: {MIDRUN}: adopted 1, managed from now on: tickets {hand.hand}"]
    assert next(r for r in caplog.records if r.getMessage() == said[0]).levelno == logging.WARNING


async def test_a_position_of_another_magic_that_appears_mid_run_is_said_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One opened by hand (magic 0) while the host ran was left alone without a word,
    where start-up says such positions; one there at start-up is not said again."""
    caplog.set_level(logging.INFO)
    now = datetime.now(UTC)
    fake = FakeMT5(now=now)
    fake.add_symbol(FakeSymbol("XAUUSD", bid=2004.0, ask=2004.3, digits=2))
    _rates(fake, now)
    before = fake.add_position("XAUUSD", 1, 0.2, 2004.0, sl=0.0, tp=0.0, magic=7, comment="")
    hand = Hand(fake, at=4, last=12, magic=0)
    app = _live(fake, hand, tmp_path / "dtms")
    await asyncio.wait_for(drive(app, progress=None), 60)
    records = app.plugins.get("dtms").strategy.records
    assert hand.hand and hand.hand not in records and before not in records
    said = [r.getMessage() for r in caplog.records if "programs left alone" in r.getMessage()]
    hint = "; if one is this host's, set [plugin.dtms] magic to its magic number"
    assert said == [
        f"DTMS: 1 open positions of other programs left alone (magic {m}; ours: {MAGIC}, "
        f"from the broker){hint}"
        for m in (7, 0)
    ]
