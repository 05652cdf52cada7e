"""The volumes of actions the host refuses before any broker call (docs/plugins.md,
"Volumes of actions"). A probe's plugin hedged a 0.94-lot position with 50 lots: the
broker opened a 50-lot position the other way, in effect a new 49-lot short no
``allow_order`` was asked about, and the account was wiped out. A partial close of 42 lots
of a 1.19-lot position closed it all and was reported a success ("closed 1.19 of 42")."""

from __future__ import annotations

from typing import Any

import pytest

from hookspecs import Action, ActionKind, OrderRequest, ResultCode
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.driving import drive
from hostapp.testing import bars_from_closes


async def _app(margin_mode: str = "hedging") -> Any:
    config = config_from_dict(
        {"host": {"symbols": ["XAUUSD"], "timeframe": "M5", "paper": {"margin_mode": margin_mode}}}
    )
    series = {"XAUUSD": bars_from_closes([2000.0 + (i % 7) for i in range(30)])}
    app = build_sim_app(config, series, base_timeframe="M5", entry_points=[], env={}, builtins={})
    await drive(app, progress=None)
    return app


def _open(app: Any, volume: float) -> int:
    opened = app.broker.open(OrderRequest("XAUUSD", "buy", volume, stop_loss=1900.0))
    assert opened.ok and opened.new_ticket is not None
    return int(opened.new_ticket)


async def test_a_hedge_above_the_open_volume_is_refused_naming_both_volumes() -> None:
    app = await _app()
    ticket = _open(app, 0.94)
    result = await app.host.execute(Action(ticket, ActionKind.HEDGE, {"volume": 50.0}, key="h"))
    assert not result.ok and result.code is ResultCode.REJECTED
    assert "params['volume'] 50" in result.message and "open volume 0.94" in result.message
    assert [(p.ticket, p.volume) for p in app.broker.positions()] == [(ticket, 0.94)]
    # a hedge of all of it, or of a part, still goes through (DTMS's are at most the volume)
    whole = await app.host.execute(Action(ticket, ActionKind.HEDGE, {"volume": 0.94}, key="w"))
    assert whole.ok and whole.new_ticket is not None
    hedge = app.broker.position(whole.new_ticket)
    assert hedge.direction == "sell" and hedge.volume == 0.94
    assert hedge.comment == f"DTMS_HEDGE_{ticket}"


async def test_a_hedge_on_a_netting_account_opens_nothing() -> None:
    """On a netting account an opposite order would reduce the position: the broker
    refuses the hedge; an oversized one is refused by the host first."""
    app = await _app("netting")
    ticket = _open(app, 0.5)
    for volume, code in ((0.5, ResultCode.HEDGING_NOT_ALLOWED), (3.0, ResultCode.REJECTED)):
        action = Action(ticket, ActionKind.HEDGE, {"volume": volume}, key=f"h{volume}")
        result = await app.host.execute(action)
        assert not result.ok and result.code is code, result
    assert [(p.ticket, p.volume, p.direction) for p in app.broker.positions()] == [
        (ticket, 0.5, "buy")
    ]


@pytest.mark.parametrize("asked", [1.19, 42.0])
async def test_a_partial_close_of_all_or_more_is_refused_and_closes_nothing(asked: float) -> None:
    app = await _app()
    ticket = _open(app, 1.19)
    action = Action(ticket, ActionKind.PARTIAL_CLOSE, {"volume": asked}, key="p")
    result = await app.host.execute(action)
    assert not result.ok and result.code is ResultCode.REJECTED
    assert f"params['volume'] {asked:g}" in result.message
    assert "open volume 1.19" in result.message and "send a close" in result.message
    assert [(p.ticket, p.volume) for p in app.broker.positions()] == [(ticket, 1.19)]
    assert app.host.executed[-1] == (action, result)  # in the reports as refused


async def test_a_partial_close_at_the_minimum_still_goes_through() -> None:
    """DTMS's and the exit manager's parts leave at least the minimum open: a 0.02-lot
    position closes 0.01 as before."""
    app = await _app()
    ticket = _open(app, 0.02)
    part = Action(ticket, ActionKind.PARTIAL_CLOSE, {"volume": 0.01}, key="p")
    result = await app.host.execute(part)
    assert result.ok, result
    assert [(p.ticket, p.volume) for p in app.broker.positions()] == [(ticket, 0.01)]
