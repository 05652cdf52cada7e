"""Builders shared by the MT5 tests."""

from __future__ import annotations

from typing import Any

from support.fake_mt5 import FakeMT5, FakeSymbol

from hostapp.brokers.mt5 import Mt5Broker, Mt5Settings, create_mt5_broker


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
