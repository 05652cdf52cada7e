"""Structured logs: one JSON line per event with ticket and symbol as fields (server and
host), human lines by default, and ``configure_logging`` replacing its own handler."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
from observability.obs_rig import MakeRig, Move, open_ticket

from hookspecs import Action, ActionKind, ActionResult, DefensiveState, OrderRequest, ResultCode
from hostapp.logs import configure_logging


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging(json=True, level="INFO", stream=stream)
    try:
        yield stream
    finally:
        logging.getLogger().removeHandler(handler)


def events(stream: io.StringIO) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if "event" in line]


async def test_server_logs_registration_transition_and_action_as_json(
    make_rig: MakeRig, json_log: io.StringIO
) -> None:
    rig = await make_rig()
    ticket = open_ticket(rig.world)
    await rig.register(ticket)
    stop = rig.world.price("XAUUSD") - 3
    move = Move(ticket, DefensiveState.WARNING_L2, -4.5, ActionKind.TIGHTEN_SL, {"stop_loss": stop})
    rig.puppet.moves = [move]
    await rig.cycle()

    by_event = {e["event"]: e for e in events(json_log)}
    reg = by_event["registration"]
    assert (reg["ticket"], reg["symbol"], reg["level"]) == (ticket, "XAUUSD", "INFO")
    action = by_event["action"]
    assert (action["ticket"], action["symbol"], action["kind"]) == (ticket, "XAUUSD", "tighten_sl")
    assert (action["ok"], action["code"]) == (True, "ok")
    change = by_event["transition"]
    assert (change["ticket"], change["symbol"]) == (ticket, "XAUUSD")
    assert (change["old"], change["new"], change["score"]) == ("HEALTHY", "WARNING_L2", -4.5)
    assert str(change["reason"]).startswith("S=-4.50")
    assert "time" in change and "HEALTHY -> WARNING_L2" in str(change["message"])


async def test_host_logs_actions_and_transitions_with_symbol(
    hostapp_factory, hostapp_broker, json_log: io.StringIO
) -> None:  # type: ignore[no-untyped-def]
    host = hostapp_factory()
    hostapp_broker.set_price("EURUSD", 1.1)
    ticket = hostapp_broker.open(OrderRequest("EURUSD", "sell", 0.5)).new_ticket
    await host.execute(Action(ticket, ActionKind.CLOSE, {}, "test", f"{ticket}:1:close"))
    await host.report_state_change(
        ticket,
        DefensiveState.WARNING_L2,
        DefensiveState.CLOSED,
        "S=-6.00 [..] closed",
        {"total": -6.0},  # the score as data: never read back out of the reason
    )
    action, change = events(json_log)
    assert (action["event"], action["ticket"], action["symbol"]) == ("action", ticket, "EURUSD")
    assert (action["kind"], action["code"]) == ("close", "ok")
    assert (change["event"], change["new"], change["score"]) == ("transition", "CLOSED", -6.0)


async def test_host_tells_a_refusal_that_repeats_once_with_its_count(
    hostapp_factory, hostapp_broker, json_log: io.StringIO
) -> None:  # type: ignore[no-untyped-def]
    """A hedge the broker keeps refusing (as a close on every bar of a closed market): two
    WARNING lines, the second saying the rest go to DEBUG, then the answer that ends the
    run names how many refusals there were."""
    host = hostapp_factory()
    hostapp_broker.margin_mode = "netting"
    ticket = hostapp_broker.open(OrderRequest("EURUSD", "sell", 0.5)).new_ticket
    hedge = Action(ticket, ActionKind.HEDGE, {"volume": 0.5}, "test", f"{ticket}:1:hedge")
    for _ in range(4):
        await host.execute(hedge)
    hostapp_broker.margin_mode = "hedging"
    await host.execute(hedge)
    lines = [e for e in events(json_log) if e["event"] == "action"]
    assert [(e["level"], e["ok"], e.get("in_a_row")) for e in lines] == [
        ("WARNING", False, None),
        ("WARNING", False, 2),
        ("INFO", True, None),
    ]
    assert "more of the same are logged at DEBUG" in str(lines[1]["message"])
    assert lines[2]["after_refusals"] == 4
    assert str(lines[2]["message"]).endswith("(after 4 failed answers in a row)")


async def test_an_outcome_unknown_again_is_not_said_refused(
    hostapp_factory, hostapp_broker, json_log: io.StringIO
) -> None:  # type: ignore[no-untyped-def]
    """A broker whose answers are lost (a timeout: the order may have been carried out)
    refuses nothing: its repeats were said "refused again" (the MT5 probe)."""
    host = hostapp_factory()
    ticket = hostapp_broker.open(OrderRequest("EURUSD", "sell", 0.5)).new_ticket
    lost = ActionResult.failure(ResultCode.UNKNOWN_OUTCOME, "no answer")
    hostapp_broker.modify_sl_tp = lambda *args, **kwargs: lost
    move = Action(ticket, ActionKind.TIGHTEN_SL, {"stop_loss": 1.2}, "test", f"{ticket}:1:sl")
    for _ in range(3):
        await host.execute(move)
    lines = [str(e["message"]) for e in events(json_log) if e["event"] == "action"]
    assert lines[1].endswith(
        "(outcome unknown again: more of the same are logged at DEBUG until it changes)"
    )
    assert len(lines) == 2  # the third at DEBUG, as the second said
    assert not [line for line in lines if "refused" in line]


def test_human_format_by_default_and_one_handler_after_reconfiguring() -> None:
    stream = io.StringIO()
    configure_logging(stream=io.StringIO())
    handler = configure_logging(json=False, level=logging.INFO, stream=stream)
    try:
        installed = [h for h in logging.getLogger().handlers if h.get_name() == "hostapp.logs"]
        assert installed == [handler]
        logging.getLogger("dtms_plugin.server").info(
            "ticket %s: registered", 7, extra={"ticket": 7}
        )
        line = stream.getvalue().strip()
        assert line.endswith("INFO dtms_plugin.server: ticket 7: registered")
        with pytest.raises(json.JSONDecodeError):
            json.loads(line)
    finally:
        logging.getLogger().removeHandler(handler)
