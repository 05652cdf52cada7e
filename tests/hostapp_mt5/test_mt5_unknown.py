"""An unknown outcome is resolved from the server's deals, orders and positions, never by
sending the order again: comments rewritten, partial fills, orders that land late."""

from __future__ import annotations

import pytest
from support.fake_mt5 import FakeMT5, Fault

from hookspecs import OrderRequest, ResultCode
from hostapp.brokers.mt5 import Mt5Broker


@pytest.mark.parametrize("fault", [Fault(10012, execute=True), Fault(None, execute=True),
                                   Fault(10031, execute=True)])  # fmt: skip
def test_executed_timeout_with_a_rewritten_comment_is_sent_once(
    broker: Mt5Broker, fake: FakeMT5, fault: Fault
) -> None:
    fake.comment_rewrite = "[from 2000.30]"  # the broker's, not ours
    fake.faults.append(fault)
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1, comment="entry"))
    assert r.ok, r.message
    assert len(fake.requests) == 1 and list(fake.positions) == [r.new_ticket]


def test_executed_timeout_that_filled_part_is_found(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.faults.append(Fault(10012, execute=True, fill=0.04))  # an IOC fill of 0.04 of 0.1
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.ok, r.message
    assert len(fake.requests) == 1 and list(fake.positions) == [r.new_ticket]


def test_timed_out_order_that_lands_seconds_later_is_waited_for(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    fake.faults.append(Fault(None, execute=True, delay=3.0))
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.ok, r.message
    assert len(fake.requests) == 1 and list(fake.positions) == [r.new_ticket]


def test_order_landing_after_the_deadline_is_flagged_not_resent(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    fake.faults.append(Fault(10012, execute=True, delay=60.0))
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.code is ResultCode.UNKNOWN_OUTCOME and "still waiting on the server" in r.message
    assert broker.needs_attention == ["open buy 0.1 XAUUSD"]
    fake.advance(60)
    assert len(fake.requests) == 1 and len(fake.positions) == 1


def test_an_earlier_deal_does_not_answer_for_a_timed_out_one(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).ok
    fake.faults.append(Fault(10012))  # the second, same side and magic, never arrived
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.code is ResultCode.UNKNOWN_OUTCOME
    assert len(fake.requests) == 2 and len(fake.positions) == 1


def test_new_ticket_is_the_position_not_the_order(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.split_tickets = True
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.ok and list(fake.positions) == [r.new_ticket]
    assert fake.deals[-1].order != r.new_ticket
    fake.faults.append(Fault(10012, execute=True))
    hedge = broker.hedge(r.new_ticket, 0.1)  # type: ignore[arg-type]
    assert hedge.ok and hedge.new_ticket in fake.positions and len(fake.requests) == 2


def test_close_timeout_resolved_from_the_deals(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.5, 1990.0)
    fake.faults.append(Fault(None, execute=True, delay=2.0))
    assert broker.close(ticket, 0.2).ok
    assert len(fake.requests) == 1 and fake.positions[ticket].volume == pytest.approx(0.3)


def test_placed_on_a_market_deal_is_not_executed(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.faults.append(Fault(10008))  # accepted, then never filled
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert (r.ok, r.code, r.new_ticket) == (False, ResultCode.UNKNOWN_OUTCOME, None)
    assert "TRADE_RETCODE_PLACED" in r.message and "flagged for attention" in r.message
    assert len(fake.requests) == 1 and fake.positions == {}


@pytest.mark.parametrize("delay", [0.0, 2.0])
def test_placed_order_that_fills_is_followed_to_its_position(
    broker: Mt5Broker, fake: FakeMT5, delay: float
) -> None:
    fake.split_tickets = True
    fake.faults.append(Fault(10008, execute=True, delay=delay))
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.ok and r.filled_volume == pytest.approx(0.1), r.message
    assert len(fake.requests) == 1 and list(fake.positions) == [r.new_ticket]


def test_a_fill_read_from_the_positions_never_answers_for_a_later_order(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """The history lags: the first fill is read from the positions; by the time the second
    order is looked for, the first one's deal shows and must not be taken for it."""
    fake.history_lag = 5.0
    fake.faults.append(Fault(10012, execute=True))
    first = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    fake.faults.append(Fault(10012, execute=True, delay=6.0))
    second = broker.open(OrderRequest("XAUUSD", "buy", 0.2))
    assert first.ok and second.ok, second.message
    assert second.new_ticket != first.new_ticket and second.filled_volume == pytest.approx(0.2)
    assert {t: p.volume for t, p in fake.positions.items()} == {
        first.new_ticket: 0.1,
        second.new_ticket: 0.2,
    }


def test_an_unknown_outcome_is_in_the_run_summary(broker: Mt5Broker, fake: FakeMT5) -> None:
    """Logged once when it happened; the summary is where a trader looks afterwards."""
    from hostapp.run_notes import attention_note

    assert attention_note(broker) is None
    fake.faults.append(Fault(10012, execute=True, delay=60.0))
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).code is ResultCode.UNKNOWN_OUTCOME
    assert attention_note(broker) == (
        "1 order of unknown outcome to check in the terminal's Trade and History tabs (may "
        "have executed; never sent again): open buy 0.1 XAUUSD"
    )


def test_an_unknown_outcome_that_filled_later_says_so_in_the_run_summary(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """The probe's partial close that filled 90 s late was still listed as if nothing was
    known of it: the summary reads the history again and says it executed since."""
    from hostapp.run_notes import attention_note

    ticket = fake.add_position("XAUUSD", 0, 0.3, 2000.0, magic=broker.magic)
    fake.faults.append(Fault(10031, execute=True, delay=90.0))
    assert broker.close(ticket, 0.15).code is ResultCode.UNKNOWN_OUTCOME
    assert broker.needs_attention == [f"close {ticket} 0.15 of 0.3"]
    fake.advance(90)
    [deal] = [d for d in fake.deals if d.position_id == ticket and d.entry == 1]
    assert broker.needs_attention == [
        f"close {ticket} 0.15 of 0.3: executed since (0.15 lots, deal {deal.ticket})"
    ]
    note = attention_note(broker)
    assert note is not None and note.endswith(f"executed since (0.15 lots, deal {deal.ticket})")
