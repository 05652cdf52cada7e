"""A position is trailed on its first cycle whatever other positions of its symbol are
open: with ``timeframe = "H4"`` over a host's H1 bars, one opened an hour after another of
its symbol waited for the next H4 close (the plugin remembered the bar it had acted on per
symbol), while one opened alone was trailed at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from atr_trailing.plugin import ChandelierExit

from hookspecs import Action, ActionResult, OrderRequest, hookimpl
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.driving import drive
from hostapp.testing import T0, bars_from_closes

H1 = timedelta(hours=1)
#: a steady rise, a stop far under it: every pass of the Chandelier tightens the stop
CLOSES = [2000.0 + 2 * i + (3.0 if i % 3 == 0 else 0.0) for i in range(120)]
FIRST, SECOND = 41, 42  # the cycles the buys open at: the same H4 bar is the last closed


class Script:
    """Opens a buy at the given cycles (their ``now``) and notes, at each stop
    atr_trailing moves, the cycle it moved it in."""

    def __init__(self, opens: dict[datetime, str]) -> None:
        self.opens = opens
        self.now: datetime | None = None
        self.moves: dict[str, list[datetime]] = {}  # by the buy's comment

    @hookimpl
    def propose_orders(self, now: datetime) -> list[OrderRequest]:
        self.now = now
        comment = self.opens.get(now)
        if comment is None:
            return []
        return [OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1500.0, comment=comment)]

    @hookimpl
    def on_action(self, host: Any, action: Action, result: ActionResult) -> None:
        if action.source == "atr_trailing" and result.ok and self.now is not None:
            trade = host.broker.position(action.ticket)
            self.moves.setdefault(trade.comment, []).append(self.now)


async def _run(opens: dict[datetime, str]) -> Script:
    config = config_from_dict({
        "host": {"symbols": ["XAUUSD"], "timeframe": "H1"},
        "plugin": {"atr_trailing": {"period": 5, "timeframe": "H4"}},
    })  # fmt: skip
    script = Script(opens)
    app = build_sim_app(
        config,
        {"XAUUSD": bars_from_closes(CLOSES, step_seconds=3600)},
        base_timeframe="H1",
        builtins={"script": script, "atr_trailing": ChandelierExit()},
        entry_points=[],
        env={},
    )
    await drive(app, progress=None)
    return script


async def test_a_position_opened_beside_another_is_trailed_on_its_first_cycle() -> None:
    alone = await _run({T0 + SECOND * H1: "second"})
    opened = next(iter(alone.moves["second"]))
    assert opened == T0 + SECOND * H1  # trailed in the cycle it opened in
    both = await _run({T0 + FIRST * H1: "first", T0 + SECOND * H1: "second"})
    assert both.moves["first"][0] == T0 + FIRST * H1
    # the same cycles as alone: the first buy's open moves nothing of the second's
    assert both.moves["second"] == alone.moves["second"]
    # and each is then moved once per H4 bar, not at every H1 cycle
    for moves in both.moves.values():
        later = moves[1:]
        assert len(later) == len({(t - T0) // timedelta(hours=4) for t in later}) > 3
