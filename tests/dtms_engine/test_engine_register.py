"""R at registration (docs/dtms.md §1): the distance to the stop the trade was opened with;
a stop at or past the entry was moved there since, and says nothing of the risk taken."""

from __future__ import annotations

import pytest
from support.dtms_kit import T0, trade

from dtms_plugin.engine import register
from hookspecs import Direction


@pytest.mark.parametrize(("direction", "sl", "r"), [("buy", 1990.0, 10.0), ("sell", 2012.5, 12.5)])
def test_r_is_the_distance_to_a_stop_on_the_losing_side(
    direction: Direction, sl: float, r: float
) -> None:
    assert register(trade(direction=direction, sl=sl), 7.0, T0).r == pytest.approx(r)


@pytest.mark.parametrize(
    ("direction", "sl"),
    [("buy", 2000.0), ("buy", 2003.0), ("sell", 2000.0), ("sell", 1996.0)],
    ids=["buy at breakeven", "buy locking profit", "sell at breakeven", "sell locking profit"],
)
def test_a_stop_at_or_past_the_entry_takes_r_from_the_atr(direction: Direction, sl: float) -> None:
    rec = register(trade(direction=direction, sl=sl), 7.0, T0)
    assert rec.r == 7.0
    assert rec.stop_loss == sl and rec.initial_sl == sl  # the stop itself is kept
    # no ATR yet: unknown, as for a trade without a stop, filled by the first evaluation
    assert register(trade(direction=direction, sl=sl), None, T0).r == 0.0
