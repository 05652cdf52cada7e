"""``--live`` on MetaTrader (a fake terminal): a cycle every ``cycle_seconds``, orders
proposed only when a new bar closed, ``on_cycle`` every cycle, a clean stop."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from support.fake_mt5 import FakeMT5, FakeSymbol

from hookspecs import hookimpl
from hostapp.app import build_live_app
from hostapp.config import config_from_dict
from hostapp.driving import drive

T0 = int(datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()) + 7200  # server clock


def _row(i: int) -> tuple[int, float, float, float, float, int, int, int]:
    return (T0 + 300 * i, 2000.0 + i, 2001.0 + i, 1999.0 + i, 2000.5 + i, 100, 30, 0)


class Probe:
    """Counts hooks; a new bar appears at the terminal after cycle 2; stops after 5."""

    def __init__(self, fake: FakeMT5) -> None:
        self.fake = fake
        self.proposed: list[float] = []
        self.cycles = 0
        self.shutdown_ran = False
        self.stop: Any = None

    @hookimpl
    def propose_orders(self, bars: list[Any]) -> None:
        self.proposed.append(bars[-1].close)

    @hookimpl
    def on_cycle(self) -> None:
        self.cycles += 1
        if self.cycles == 2:
            self.fake.rates[("XAUUSD", 5)].append(_row(7))  # the forming bar moves on
        if self.cycles == 5:
            self.stop()

    @hookimpl
    def shutdown(self) -> None:
        self.shutdown_ran = True


async def test_live_cycles_on_a_fake_terminal() -> None:
    fake = FakeMT5()
    fake.add_symbol(FakeSymbol("XAUUSD", bid=2005.0, ask=2005.3, digits=2))
    fake.rates[("XAUUSD", 5)] = [_row(i) for i in range(7)]  # the last one is forming
    probe = Probe(fake)
    config = config_from_dict(
        {
            "host": {
                "broker": "mt5",
                "symbols": ["XAUUSD"],
                "cycle_seconds": 0.01,
                "mt5": {"server_utc_offset_minutes": 120},
            }
        }
    )
    app = build_live_app(config, builtins={"probe": probe}, entry_points=[], env={}, module=fake)
    probe.stop = app.loop.request_stop
    stats = await drive(app, progress=None)
    assert probe.cycles == 5 and stats.cycles == 5
    assert probe.proposed == [2005.5, 2006.5]  # one proposal per newly closed bar
    assert probe.shutdown_ran and stats.interrupted
