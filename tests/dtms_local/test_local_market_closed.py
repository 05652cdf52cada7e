"""The live path learns when the market closes from the week of fast bars before its
warm-up (docs/dtms.md §7): a feed that stops at the time of the week its market closed
the week before is a closure, said once at INFO with when bars are expected again, not
stale data; past that closure's length without bars, it is stale data, said as such."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from support.dtms_kit import T0, aggregate, trend_bars
from support.dtms_local_rig import Rig

M5 = timedelta(minutes=5)
WEEK = timedelta(days=7)


@pytest.mark.parametrize("closed_last_week", [True, False])
async def test_a_feed_stopping_when_it_did_a_week_ago_is_the_market_closed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, closed_last_week: bool
) -> None:
    rig = Rig(tmp_path / "dtms")
    stops = T0 + 2 * M5  # the close of the newest bar when the feed stops
    fast = trend_bars(T0 - M5 * 2700, 2800, 2700, down=-2.5)
    if closed_last_week:  # two hours without bars a week before
        fast = [b for b in fast if not stops - WEEK <= b.time < stops - WEEK + timedelta(hours=2)]
    rig.fast = fast
    rig.market.set("XAUUSD", "M5", fast)
    rig.market.set("XAUUSD", "M15", aggregate(fast))
    await rig.start()
    await rig.open_buy()
    await rig.cycles(2)
    rig.market.set("XAUUSD", "M5", [b for b in fast if b.time + M5 <= stops])  # it stops
    with caplog.at_level(logging.INFO, logger="dtms_plugin.local"):
        await rig.cycles(12)  # an hour: stale from the third cycle on
        said = [
            r for r in caplog.records if "stale" in r.getMessage() or "closed," in r.getMessage()
        ]
        if closed_last_week:
            assert [(r.levelname, r.getMessage()) for r in said] == [
                (
                    "INFO",
                    "DTMS: XAUUSD market closed, as at this time of the week before (newest M5 "
                    f"bar closed {stops.isoformat()}, bars expected again about "
                    f"{(stops + timedelta(hours=2)).isoformat()}); its trades are not "
                    "evaluated until then",
                )
            ]
            assert rig.strategy.problems.get("XAUUSD market closed", 0) > 0
        else:
            assert [r.levelname for r in said] == ["WARNING"]
            assert said[0].getMessage().startswith("DTMS: XAUUSD bars are stale")
        caplog.clear()
        await rig.cycles(24)  # two hours more: past the closure's length, still no bars
    stale = [r for r in caplog.records if "bars are stale" in r.getMessage()]
    assert [r.levelname for r in stale] == (["WARNING"] if closed_last_week else [])
    await rig.stop()


@pytest.mark.parametrize("refusal", ["nothing", "raises"])
async def test_a_market_that_cannot_give_the_week_before_still_warms_up(
    tmp_path: Path, refusal: str
) -> None:
    """The week before the warm-up is read for its gaps alone, at best: a terminal past
    its "Max bars in chart" (MetaTrader answers None, the adapter no bars) or a market
    that fails for that many left the symbol never warmed, its trades never evaluated."""
    rig = Rig(tmp_path / "dtms")
    real = rig.market.bars

    def capped(symbol: str, tf: str, count: int) -> object:
        if count > 2000:
            if refusal == "raises":
                raise RuntimeError("too many bars asked")
            return []
        return real(symbol, tf, count)

    rig.market.bars = capped  # type: ignore[method-assign]
    await rig.start()
    await rig.open_buy()
    await rig.cycles(3)
    assert rig.strategy.indicators["XAUUSD"].last_fast_bar is not None
    assert rig.strategy.records[1].last_eval_at is not None  # evaluated
    assert not rig.strategy.problems
    await rig.stop()
