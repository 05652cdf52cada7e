"""Every result carries the lots that executed; a close that leaves volume open fails."""

from __future__ import annotations

import pytest
from support.fake_mt5 import FakeMT5, Fault

from hookspecs import OrderRequest, ResultCode
from hostapp.brokers.mt5 import Mt5Broker


def test_full_close_answered_partial_is_not_a_success(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.4, 1990.0)
    fake.faults.append(Fault(10010, execute=True, fill=0.2))
    r = broker.close(ticket)
    assert (r.ok, r.code, r.filled_volume) == (False, ResultCode.TRANSIENT, 0.2)
    assert "0.2 still open" in r.message
    assert fake.positions[ticket].volume == pytest.approx(0.2)


def test_full_close_reports_what_it_closed(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.4, 1990.0)
    r = broker.close(ticket)
    assert r.ok and r.filled_volume == pytest.approx(0.4) and fake.positions == {}


def test_partial_close_reports_the_filled_volume(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 0, 0.5, 1990.0)
    fake.faults.append(Fault(10010, execute=True, fill=0.1))
    r = broker.close(ticket, 0.3)
    assert r.ok and r.filled_volume == pytest.approx(0.1)
    assert "only 0.1 of 0.3" in r.message
    assert fake.positions[ticket].volume == pytest.approx(0.4)


def test_ioc_open_filling_part_reports_it(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.symbols["EURUSD"].liquidity = 0.3  # IOC only: the book holds 0.3 lots
    r = broker.open(OrderRequest("EURUSD", "buy", 0.5))
    assert r.ok and r.filled_volume == pytest.approx(0.3)
    assert fake.positions[r.new_ticket].volume == pytest.approx(0.3)  # type: ignore[index]


def test_hedge_reports_the_filled_volume(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("EURUSD", 0, 1.0, 1.08, magic=777)
    fake.symbols["EURUSD"].liquidity = 0.6
    r = broker.hedge(ticket, 1.0)
    assert r.ok and r.filled_volume == pytest.approx(0.6)
    assert fake.positions[r.new_ticket].volume == pytest.approx(0.6)  # type: ignore[index]


def test_fill_found_after_a_timeout_reports_its_volume(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.faults.append(Fault(10012, execute=True, fill=0.04))
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.ok and r.filled_volume == pytest.approx(0.04)


def test_close_timeout_that_closed_part_is_not_a_success(broker: Mt5Broker, fake: FakeMT5) -> None:
    ticket = fake.add_position("XAUUSD", 1, 0.4, 2010.0)
    fake.faults.append(Fault(None, execute=True, fill=0.1))
    r = broker.close(ticket)
    assert not r.ok and r.filled_volume == pytest.approx(0.1)
    assert len(fake.requests) == 1
