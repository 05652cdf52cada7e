"""A deal found on the server after a timeout answers for one request only: not a deal of a
position that was open before the request, not another unanswered request's late deal
(docs/mt5.md, "What happens when the terminal does not answer")."""

from __future__ import annotations

import pytest
from support.fake_mt5 import FakeMT5, Fault

from hookspecs import OrderRequest, ResultCode
from hostapp.brokers.mt5 import Mt5Broker


def _hedged(fake: FakeMT5, ticket: int) -> list[int]:
    return [t for t, p in fake.positions.items() if p.comment == f"DTMS_HEDGE_{ticket}"]


def test_a_late_hedge_of_one_trade_is_not_taken_for_another_trades_hedge(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """The first hedge times out and lands 15 s later, while the second one is looked for:
    its 0.02 lots are not 'only 0.02 of 0.08 filled' of the second."""
    first = fake.add_position("XAUUSD", 0, 0.10, 1990.0, magic=777)
    second = fake.add_position("XAUUSD", 0, 0.32, 1990.0, magic=777)
    fake.faults.append(Fault(10012, execute=True, delay=15.0))
    assert broker.hedge(first, 0.02).code is ResultCode.UNKNOWN_OUTCOME  # 10 s, nothing
    fake.faults.append(Fault(10012, execute=True, delay=8.0))  # lands after the first's
    r = broker.hedge(second, 0.08)
    assert r.ok and r.filled_volume == pytest.approx(0.08), r.message
    assert [r.new_ticket] == _hedged(fake, second)
    assert len(_hedged(fake, first)) == 1 and len(fake.requests) == 2


def test_a_late_deal_of_the_same_volume_still_carrying_its_comment_is_not_claimed(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    first = fake.add_position("XAUUSD", 0, 0.10, 1990.0, magic=777)
    second = fake.add_position("XAUUSD", 0, 0.10, 1990.0, magic=777)
    fake.faults.append(Fault(10012, execute=True, delay=15.0))
    assert broker.hedge(first, 0.02).code is ResultCode.UNKNOWN_OUTCOME
    fake.faults.append(Fault(10012))  # the second never reached the server
    r = broker.hedge(second, 0.02)
    assert r.code is ResultCode.UNKNOWN_OUTCOME, r.message
    assert _hedged(fake, second) == [] and len(_hedged(fake, first)) == 1


def test_a_position_open_before_the_request_is_never_its_fill(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    """The first open's deal landed (unanswered) before the second was sent: the second,
    of the same volume and comment, never arrived and must stay unknown."""
    fake.faults.append(Fault(10012, execute=True, delay=12.0))
    first = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert first.code is ResultCode.UNKNOWN_OUTCOME
    fake.advance(5)  # it lands
    assert len(fake.positions) == 1
    fake.faults.append(Fault(10012))
    second = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert second.code is ResultCode.UNKNOWN_OUTCOME, second.message
    assert len(fake.positions) == 1 and len(fake.requests) == 2


def test_a_part_fill_no_other_request_explains_is_still_found(
    broker: Mt5Broker, fake: FakeMT5
) -> None:
    fake.faults.append(Fault(10012, execute=True, delay=15.0))
    assert broker.open(OrderRequest("XAUUSD", "sell", 0.05)).code is ResultCode.UNKNOWN_OUTCOME
    fake.faults.append(Fault(10012, execute=True, fill=0.04))  # the other side: not explained
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.ok and r.filled_volume == pytest.approx(0.04), r.message


def test_a_deal_larger_than_asked_is_another_orders(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.faults.append(Fault(10012, execute=True, delay=15.0))
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.3)).code is ResultCode.UNKNOWN_OUTCOME
    fake.faults.append(Fault(10012))
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.code is ResultCode.UNKNOWN_OUTCOME, r.message
