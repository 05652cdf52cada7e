"""Every retcode class: success, retry with a fresh tick, unknown outcome resolved by
re-reading positions, position closed, and plain failures naming code and last_error."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from support.fake_mt5 import RETCODES, FakeMT5, Fault

from hookspecs import Action, ActionKind, BrokerError, OrderRequest, ResultCode, apply_action
from hostapp.brokers.mt5 import Mt5Broker
from hostapp.brokers.mt5_retcodes import RETCODE_NAMES, Outcome, classify


def test_retcode_table_matches_metatrader() -> None:
    assert {v: k for k, v in RETCODES.items()} == RETCODE_NAMES


@pytest.mark.parametrize(
    ("retcode", "outcome"),
    [(10009, Outcome.DONE), (10008, Outcome.PLACED), (10025, Outcome.NO_CHANGES),
     (10004, Outcome.RETRY_PRICE), (10020, Outcome.RETRY_PRICE), (10021, Outcome.RETRY_PRICE),
     (10024, Outcome.RETRY_PRICE), (10012, Outcome.UNKNOWN), (10031, Outcome.UNKNOWN),
     (None, Outcome.UNKNOWN), (10036, Outcome.POSITION_CLOSED), (10030, Outcome.INVALID_FILL),
     (10016, Outcome.FAILED), (10006, Outcome.FAILED), (10027, Outcome.FAILED)],
)  # fmt: skip
def test_classification(retcode: int | None, outcome: Outcome) -> None:
    assert classify(retcode) is outcome


def _move(bid: float, ask: float) -> Callable[[FakeMT5], None]:
    def move(fake: FakeMT5) -> None:
        fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = bid, ask

    return move


@pytest.mark.parametrize("retcode", [10004, 10020, 10021, 10024])
def test_price_retcodes_are_retried_with_a_fresh_tick_and_backoff(
    broker: Mt5Broker, fake: FakeMT5, sleeps: list[float], retcode: int
) -> None:
    fake.faults.append(Fault(retcode))
    fake.before_send.append(_move(2000.10, 2000.40))  # the market moves while we send
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.ok, r.message
    assert [q["price"] for q in fake.requests] == [2000.30, 2000.40]  # re-priced
    assert sleeps == [0.5]


def test_real_requote_beyond_deviation_is_not_chased(
    broker: Mt5Broker, fake: FakeMT5, sleeps: list[float]
) -> None:
    fake.symbols["XAUUSD"].exemode = 1  # Instant execution: the dealer requotes
    fake.before_send.append(_move(2002.00, 2002.30))  # price jumps after our tick: 10004
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert (r.ok, r.code) == (False, ResultCode.TRANSIENT)
    assert "moved 200 points" in r.message and "deviation 20" in r.message
    assert [q["price"] for q in fake.requests] == [2000.30]
    assert sleeps == [0.5] and fake.positions == {}


def test_retries_are_bounded_and_end_transient(
    broker: Mt5Broker, fake: FakeMT5, sleeps: list[float]
) -> None:
    fake.faults.extend([Fault(10004)] * 5)
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.code is ResultCode.TRANSIENT and "TRADE_RETCODE_REQUOTE" in r.message
    assert len(fake.requests) == 3 and sleeps == [0.5, 1.0]


@pytest.mark.parametrize("fault", [Fault(10012, execute=True), Fault(10031, execute=True),
                                   Fault(None, execute=True)])  # fmt: skip
def test_open_that_executed_despite_a_timeout_is_not_sent_twice(
    broker: Mt5Broker, fake: FakeMT5, fault: Fault
) -> None:
    fake.faults.append(fault)
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1, comment="entry"))
    assert r.ok, r.message
    assert len(fake.requests) == 1 and len(fake.positions) == 1
    assert r.new_ticket == next(iter(fake.positions))


@pytest.mark.parametrize("fault", [Fault(10012), Fault(None)])
def test_timeout_without_trace_is_not_sent_again_and_is_flagged(
    broker: Mt5Broker, fake: FakeMT5, fault: Fault
) -> None:
    fake.faults.append(fault)  # timed out, nothing happened: the server cannot tell us so
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.code is ResultCode.UNKNOWN_OUTCOME and "flagged for attention" in r.message
    assert len(fake.requests) == 1 and fake.positions == {}
    assert broker.needs_attention == ["open buy 0.1 XAUUSD"]


def test_unknown_outcome_when_positions_cannot_be_reread(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.1, 1990.0)
    fake.faults.append(Fault(10012))
    fake.before_send.append(lambda f: setattr(f, "fail_positions_get", 1000))
    r = broker.close(ticket)
    assert r.code is ResultCode.UNKNOWN_OUTCOME and "re-read" in r.message
    assert len(fake.requests) == 1


def test_close_timeout_resolved_by_the_position_being_gone(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.1, 1990.0)
    fake.faults.append(Fault(None, execute=True))
    assert broker.close(ticket).ok
    assert len(fake.requests) == 1


def test_partial_close_timeout_resolved_by_the_volume(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.5, 1990.0)
    fake.faults.append(Fault(10012, execute=True))
    assert broker.close(ticket, 0.2).ok
    assert len(fake.requests) == 1 and fake.positions[ticket].volume == pytest.approx(0.3)


def test_modify_timeout_resolved_by_the_levels(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.5, 1990.0, sl=1980.0)
    fake.faults.append(Fault(10012, execute=True))
    assert broker.modify_sl_tp(ticket, 1985.0, None).ok
    assert len(fake.requests) == 1


def test_position_closed_makes_a_close_done(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.1, 1990.0)
    fake.before_send.append(lambda f: f.positions.clear())  # stopped out meanwhile
    r = broker.close(ticket)
    assert r.ok and "POSITION_CLOSED" in r.message


def test_position_closed_is_not_found_for_modify_and_partial(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.5, 1990.0, sl=1980.0)
    fake.faults.extend([Fault(10036), Fault(10036)])
    assert broker.modify_sl_tp(ticket, 1985.0, None).code is ResultCode.NOT_FOUND
    assert broker.close(ticket, 0.1).code is ResultCode.NOT_FOUND


@pytest.mark.parametrize(
    ("retcode", "code"),
    [(10019, ResultCode.NO_MONEY), (10018, ResultCode.MARKET_CLOSED),
     (10014, ResultCode.INVALID_VOLUME), (10016, ResultCode.INVALID_STOPS),
     (10029, ResultCode.FROZEN), (10046, ResultCode.HEDGING_NOT_ALLOWED),
     (10006, ResultCode.REJECTED), (10027, ResultCode.TRADING_DISABLED),
     (10026, ResultCode.TRADING_DISABLED), (10017, ResultCode.TRADING_DISABLED),
     (10044, ResultCode.REJECTED), (10015, ResultCode.TRANSIENT)],
)  # fmt: skip
def test_failures_name_the_code_and_last_error(
    broker: Mt5Broker, fake: FakeMT5, retcode: int, code: ResultCode
) -> None:
    fake.faults.append(Fault(retcode))
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert (r.ok, r.code) == (False, code)
    assert RETCODE_NAMES[retcode] in r.message and "last_error=(1, 'Success')" in r.message
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    ("retcode", "code", "words"),
    [(10015, ResultCode.TRANSIENT, "refused the price sent (not the stops)"),
     (10039, ResultCode.TRANSIENT, "an order closing this position already exists"),
     (10045, ResultCode.REJECTED, "first in, first out (FIFO rule)")],
)  # fmt: skip
def test_a_close_refused_says_why_in_its_message(
    broker: Mt5Broker, fake: FakeMT5, retcode: int, code: ResultCode, words: str
) -> None:
    """10015 read as ``invalid_stops``; 10039 and 10045 as a plain rejection, unexplained."""
    ticket = fake.add_position("XAUUSD", 0, 0.5, 1990.0, magic=777)
    fake.faults.append(Fault(retcode))
    r = broker.close(ticket)
    assert (r.ok, r.code) == (False, code)
    assert words in r.message and RETCODE_NAMES[retcode] in r.message
    assert len(fake.requests) == 1 and ticket in fake.positions


def test_real_market_closed_from_the_fake(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.symbols["XAUUSD"].market_open = False
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).code is ResultCode.MARKET_CLOSED


def test_a_stop_change_on_a_closed_market_is_refused_not_done(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """The server answers 10018 to every request while the market is closed, a stop
    change too: the move is a ``market_closed`` failure (a plugin waits), never a done one."""
    ticket = fake.add_position("XAUUSD", 0, 0.3, 1990.0, sl=1980.0, magic=777)
    fake.symbols["XAUUSD"].market_open = False
    move = Action(ticket, ActionKind.MOVE_SL_BREAKEVEN, {"stop_loss": 1990.0}, key="be")
    r = apply_action(broker, move)
    assert (r.ok, r.code) == (False, ResultCode.MARKET_CLOSED), r.message
    assert "10018 TRADE_RETCODE_MARKET_CLOSED" in r.message and len(fake.requests) == 1
    assert fake.positions[ticket].sl == 1980.0
    assert broker.position(ticket).stop_loss == 1980.0  # type: ignore[union-attr]


def test_a_symbol_without_a_quote_yet_is_said_so(broker: Mt5Broker, fake: FakeMT5) -> None:
    """A symbol just added to Market Watch reads bid and ask 0 until its first quote: the
    read worked, so the terminal's last_error ("Success") would only mislead."""
    ticket = fake.add_position("XAUUSD", 0, 0.3, 1990.0, sl=1980.0, magic=777)
    fake.symbols["XAUUSD"].bid = fake.symbols["XAUUSD"].ask = 0.0
    r = broker.modify_sl_tp(ticket, 1990.0, None)
    assert (r.ok, r.code) == (False, ResultCode.TRANSIENT) and fake.requests == []
    assert r.message == (
        f"modify {ticket} sl=1990.0 tp=None: the terminal has no quote for XAUUSD yet (bid/ask "
        "0; a symbol just added to Market Watch gets one with its next price)"
    )


def test_partial_fill_is_reported_as_done(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.faults.append(Fault(10010, execute=True))
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.ok and "DONE_PARTIAL" in r.message and len(fake.requests) == 1


def test_positions_none_is_an_error_not_no_positions(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.add_position("XAUUSD", 0, 0.1, 1990.0)
    fake.fail_positions_get = 1
    with pytest.raises(BrokerError, match="No IPC connection"):
        broker.positions()
    assert len(broker.positions()) == 1


def test_malformed_request_is_sent_once_and_refused(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.faults.append(Fault(None, error=(-2, 'Invalid "volume" argument')))
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert (r.ok, r.code) == (False, ResultCode.REJECTED)
    assert "Invalid params" not in r.message and 'Invalid "volume" argument' in r.message
    assert "malformed" in r.message and broker.needs_attention == []
    assert len(fake.requests) == 1 and fake.positions == {}


@pytest.mark.parametrize("error", [(-10004, "No IPC connection"), (-10001, "IPC send failed")])
def test_a_request_that_never_reached_the_terminal_is_a_plain_refusal(
    broker: Mt5Broker, fake: FakeMT5, sleeps: list[float], error: tuple[int, str]
) -> None:
    """With the IPC link down the request never left: nothing to wait for on the server,
    nothing for a trader to check; it may be sent again once the link is back."""
    fake.faults.append(Fault(None, error=error))
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert (r.ok, r.code) == (False, ResultCode.TRANSIENT)
    assert "never reached the terminal" in r.message and error[1] in r.message
    assert sleeps == [] and broker.needs_attention == [] and len(fake.requests) == 1


@pytest.mark.parametrize("error", [(-10002, "IPC recv failed"), (-10005, "IPC timeout")])
def test_an_answer_lost_after_the_request_left_stays_unknown(
    broker: Mt5Broker, fake: FakeMT5, error: tuple[int, str]
) -> None:
    fake.faults.append(Fault(None, error=error))
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.code is ResultCode.UNKNOWN_OUTCOME and broker.needs_attention


def test_an_operation_of_unknown_outcome_is_listed_once_with_its_count(
    broker: Mt5Broker, fake: FakeMT5, caplog: pytest.LogCaptureFixture
) -> None:
    """A plugin asks the same close every cycle while the server does not answer: one line
    to check in the terminal, not one per cycle."""
    ticket = fake.add_position("XAUUSD", 0, 0.2, 1990.0)
    for _ in range(3):
        fake.faults.append(Fault(10031))
        assert broker.close(ticket, 0.1).code is ResultCode.UNKNOWN_OUTCOME
    fake.faults.append(Fault(10012))
    broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert broker.needs_attention == ["close 70000001 0.1 of 0.2 (3 times)", "open buy 0.1 XAUUSD"]
    said = [r for r in caplog.records if "outcome unknown" in r.getMessage()]
    assert len(said) == 2


def test_a_hedge_the_server_prohibits_is_hedging_not_allowed(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """A hedging account whose server refuses opposite positions (a FIFO account): 10046
    says the hedge cannot be, as a netting account would."""
    fake.hedge_prohibited = True
    ticket = fake.add_position("XAUUSD", 0, 0.5, 1990.0, magic=777)
    r = broker.hedge(ticket, 0.2)
    assert (r.ok, r.code) == (False, ResultCode.HEDGING_NOT_ALLOWED)
    assert "10046 TRADE_RETCODE_HEDGE_PROHIBITED" in r.message and len(fake.positions) == 1
