"""A fast bar's session is that of the UTC hour at which it closes (docs/dtms.md §3: the
choice the code made where the original spec says only "by UTC hour")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dtms_plugin.engine.live import SymbolIndicators
from dtms_plugin.settings import DtmsSettings
from hookspecs import Bar


@pytest.mark.parametrize(
    ("fast", "opened", "session"),
    [
        ("H1", datetime(2026, 1, 6, 12, tzinfo=UTC), "OVERLAP"),  # 12:00-13:00
        ("H1", datetime(2026, 1, 6, 7, tzinfo=UTC), "LONDON"),  # 07:00-08:00
        ("M5", datetime(2026, 1, 6, 7, 55, tzinfo=UTC), "LONDON"),  # 07:55-08:00
        ("M5", datetime(2026, 1, 6, 7, 50, tzinfo=UTC), "ASIAN"),  # 07:50-07:55
    ],
)
def test_a_bar_is_labelled_by_the_hour_it_closes_in(
    fast: str, opened: datetime, session: str
) -> None:
    indicators = SymbolIndicators("XAUUSD", DtmsSettings(fast_timeframe=fast))
    indicators.feed_fast(Bar(opened, 1.0, 1.0, 1.0, 1.0, 1.0))
    snap = indicators.snapshot()
    assert snap is not None and snap.regime.session.value == session
