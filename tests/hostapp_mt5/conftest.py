"""A connected Mt5Broker over the fake terminal; sleeps are recorded, never slept."""

from __future__ import annotations

import pytest
from hostapp_mt5.mt5_helpers import connect, make_fake
from support.fake_mt5 import FakeMT5

from hostapp.brokers.mt5 import Mt5Broker


@pytest.fixture(params=["namedtuples", "mt5linux proxies"])
def fake(request: pytest.FixtureRequest) -> FakeMT5:
    """Every test runs against both result styles: Windows namedtuples and remote proxies."""
    return make_fake(remote=request.param == "mt5linux proxies")


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def broker(fake: FakeMT5, sleeps: list[float]) -> Mt5Broker:
    return connect(fake, sleeps, magic=777, time_symbols=("XAUUSD",))
