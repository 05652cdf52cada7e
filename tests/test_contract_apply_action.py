"""``apply_action`` is the one definition of what an action does at a broker, and it keeps
the contract's promise: refusals and failures come back as results, never as exceptions."""

import json
import logging
from typing import Any

import pytest

from hookspecs import Action, ActionKind, BrokerError, DefensiveState, OrderRequest, ResultCode
from hookspecs.broker import apply_action
from hookspecs.events import JsonFormatter
from hostapp.testing import MemoryBroker


class LostConnection(MemoryBroker):
    """A broker whose link died: every query raises, as MT5's positions_get → None does."""

    def position(self, ticket: int) -> Any:
        raise BrokerError("positions_get returned None: (-10004, 'No IPC connection')")

    def close(self, ticket: int, volume: float | None = None) -> Any:
        raise ConnectionResetError("bridge closed the connection")


@pytest.mark.parametrize(
    "action",
    [
        Action(1, ActionKind.TIGHTEN_SL, {"stop_loss": 1995.0}, key="1:1:tighten_sl"),
        Action(1, ActionKind.PARTIAL_CLOSE, {"volume": 0.05}, key="1:2:partial_close"),
    ],
)
def test_a_raising_broker_is_an_unknown_outcome_not_an_exception(action: Action) -> None:
    result = apply_action(LostConnection(), action)
    assert not result.ok
    assert result.code is ResultCode.UNKNOWN_OUTCOME
    assert action.kind.value in result.message


def test_each_kind_reaches_the_broker_call_it_means() -> None:
    broker = MemoryBroker({"XAUUSD": 2000.0})
    ticket = broker.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1990.0)).new_ticket
    assert ticket is not None
    sl = Action(ticket, ActionKind.MOVE_SL_BREAKEVEN, {"stop_loss": 2000.5}, key="k1")
    assert apply_action(broker, sl).ok
    assert broker.position(ticket).stop_loss == 2000.5  # type: ignore[union-attr]
    assert apply_action(broker, Action(ticket, ActionKind.CLOSE, key="k2")).ok
    assert broker.position(ticket) is None
    gone = apply_action(broker, Action(ticket, ActionKind.TIGHTEN_SL, {"stop_loss": 1.0}, key="k3"))
    assert (gone.ok, gone.code) == (False, ResultCode.NOT_FOUND)


async def test_the_closing_transition_event_still_names_the_symbol(
    hostapp_factory: Any, hostapp_broker: MemoryBroker, caplog: pytest.LogCaptureFixture
) -> None:
    host = hostapp_factory({})
    ticket = hostapp_broker.open(OrderRequest("EURUSD", "sell", 0.1)).new_ticket
    assert ticket is not None
    with caplog.at_level(logging.INFO):
        await host.execute(Action(ticket, ActionKind.CLOSE, key=f"{ticket}:9:close"))
        await host.report_state_change(
            ticket,
            DefensiveState.HEDGED,
            DefensiveState.CLOSED,
            "S=-7.0 flat deadline",
            {"total": -7.0},  # the score as data, never parsed out of the reason
        )
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if hasattr(r, "event")]
    assert [(e["event"], e["symbol"]) for e in lines] == [
        ("action", "EURUSD"),
        ("transition", "EURUSD"),
    ]
    assert lines[1]["score"] == -7.0


@pytest.mark.parametrize(
    ("kind", "params", "said"),
    [
        (ActionKind.TIGHTEN_SL, {}, "tighten_sl needs params['stop_loss']"),
        (ActionKind.PARTIAL_CLOSE, {"volume": "lots"}, "params['volume'] must be a number above 0"),
        (ActionKind.HEDGE, {"volume": -0.1}, "params['volume'] must be a number above 0"),
        (ActionKind.CLOSE_HEDGE, {"hedge_ticket": "x"}, "params['hedge_ticket'] must be a ticket"),
        (ActionKind.MOVE_SL_BREAKEVEN, {"stop_loss": float("nan")}, "params['stop_loss']"),
    ],
)
def test_an_action_with_wrong_params_is_refused_before_the_broker(
    kind: ActionKind, params: dict[str, Any], said: str
) -> None:
    """A plugin's malformed action was an ``unknown_outcome`` ("the broker may have
    acted"), so a caller re-read the position for an action that never left the host: it
    is a refusal naming the parameter, and the broker is not called (the lost connection
    would have raised)."""
    result = apply_action(LostConnection(), Action(1, kind, params, key="1:1:x"))
    assert (result.ok, result.code) == (False, ResultCode.REJECTED)
    assert said in result.message and "ticket 1" in result.message
