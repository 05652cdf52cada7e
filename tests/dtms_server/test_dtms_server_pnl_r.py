"""The P&L in R a trade's view shows (the dashboard's P&L column, the original clients'
``performance.pnl_r``): an open trade's at the engine's last evaluation price, a closed
one's at the price it closed at. A trade stopped out a bar after its last evaluation
showed that evaluation's R, once with the wrong sign."""

from __future__ import annotations

from typing import Any

from dtms_plugin.server.views import pnl_r


def _record(**changes: Any) -> dict[str, Any]:
    return {
        "ticket": 26,
        "direction": "buy",
        "entry_price": 2000.0,
        "r": 5.0,
        "state": "HEALTHY",
        "last_eval_price": 2000.45,
        **changes,
    }


def test_an_open_trade_is_at_its_last_evaluation_and_a_closed_one_at_its_close() -> None:
    assert pnl_r(_record()) == 0.09
    assert pnl_r(_record(state="CLOSED", close_price=1998.35)) == -0.33
    assert pnl_r(_record(direction="sell", state="CLOSED", close_price=1998.35)) == 0.33
    # a closed record without its close price (kept before it was recorded): unknown
    assert pnl_r(_record(state="CLOSED")) is None


def test_while_r_is_unknown_only_a_stop_on_the_losing_side_gives_it() -> None:
    """R not known yet (no ATR when registered): the stop gives it, as the engine takes
    R (engine/record.py ``register``): a stop at or past the entry was moved there since
    and says nothing of the risk, so the P&L in R stays unknown rather than 1.5 / 0.1."""
    unknown = _record(r=0.0, last_eval_price=2001.5)
    assert pnl_r({**unknown, "initial_sl": 1995.0}) == 0.3
    assert pnl_r({**unknown, "initial_sl": 2000.1}) is None  # past the entry: unknown
    assert pnl_r({**unknown, "direction": "sell", "initial_sl": 2005.0}) == -0.3
    assert pnl_r({**unknown, "direction": "sell", "initial_sl": 1999.0}) is None
