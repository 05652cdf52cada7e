"""Builders shared by the MT5 tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from support.fake_mt5 import FakeMT5, FakeSymbol

from hostapp.app import App, build_live_app
from hostapp.brokers.mt5 import Mt5Broker, Mt5Settings, create_mt5_broker
from hostapp.config import config_from_dict


def make_fake(**kw: Any) -> FakeMT5:
    fake = FakeMT5(**kw)
    fake.add_symbol(
        FakeSymbol("XAUUSD", bid=2000.00, ask=2000.30, digits=2, stops_level=50, freeze_level=0)
    )
    fake.add_symbol(
        FakeSymbol("EURUSD", bid=1.08500, ask=1.08512, digits=5, filling_mode=2,
                   contract_size=100_000.0)
    )  # fmt: skip
    return fake


def connect(fake: FakeMT5, sleeps: list[float] | None = None, **settings: Any) -> Mt5Broker:
    """The adapter's clock is the fake's; its sleeps are recorded and move the fake's time
    (ticks arrive, late orders land), so nothing really waits."""
    record = sleeps if sleeps is not None else []

    def sleep(seconds: float) -> None:
        record.append(seconds)
        fake.advance(seconds)

    broker = create_mt5_broker(
        Mt5Settings(**settings), module=fake, clock=lambda: fake.now, sleep=sleep
    )
    record.clear()  # what connecting waited (for a fresh tick) is not under test here
    return broker


def rates_row(i: int) -> tuple[int, float, float, float, float, int, int, int]:
    """The ``i``-th M5 bar from 2026-03-02 09:00 UTC, on a UTC+2 server clock."""
    t0 = int(datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()) + 7200
    return (t0 + 300 * i, 2000.0 + i, 2001.0 + i, 1999.0 + i, 2000.5 + i, 100, 30, 0)


def live_app(
    fake: FakeMT5, plugins: dict[str, object], api: object | None = None, **mt5: Any
) -> App:
    """The live host on ``fake`` (XAUUSD M5, a cycle every 10 ms) with ``plugins``; a new
    bar arrives whenever a plugin appends one to ``fake.rates``. ``api`` stands in for the
    package (``fake`` itself unless given: an mt5linux stand-in over it)."""
    if "XAUUSD" not in fake.symbols:
        fake.add_symbol(FakeSymbol("XAUUSD", bid=2005.0, ask=2005.3, digits=2))
    fake.rates[("XAUUSD", 5)] = [rates_row(i) for i in range(7)]  # the last one is forming
    config = config_from_dict(
        {
            "host": {
                "broker": "mt5",
                "symbols": ["XAUUSD"],
                "cycle_seconds": 0.01,
                "mt5": {"server_utc_offset_minutes": 120, **mt5},
            }
        }
    )
    return build_live_app(config, builtins=plugins, entry_points=[], env={}, module=api or fake)
