"""What ``deviation`` does on each execution mode, and the filling policy each one takes.

Instant and Request execution requote beyond ``deviation`` and take Fill or Kill only;
Market and Exchange execution fill at the market whatever the slippage, with FOK or IOC
as the mask names them, then RETURN. The adapter measures what it cannot prevent (docs/mt5.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from hostapp_mt5.mt5_helpers import connect
from support.fake_mt5 import FakeMT5, Fault

from hookspecs import OrderRequest, ResultCode
from hostapp.brokers.mt5 import Mt5Broker

REQUEST, INSTANT, MARKET, EXCHANGE = 0, 1, 2, 3
FOK, IOC, RETURN = 0, 1, 2


def _mode(fake: FakeMT5, exemode: int, mask: int) -> Mt5Broker:
    fake.symbols["XAUUSD"].exemode, fake.symbols["XAUUSD"].filling_mode = exemode, mask
    return connect(fake, time_symbols=("XAUUSD",))


def _fillings(fake: FakeMT5) -> list[int]:
    return [q["type_filling"] for q in fake.requests]


# -- filling policy per execution mode ----------------------------------------------------


@pytest.mark.parametrize("exemode", [INSTANT, REQUEST])
def test_instant_and_request_execution_send_fill_or_kill_whatever_the_mask(
    fake: FakeMT5, exemode: int
) -> None:
    broker = _mode(fake, exemode, mask=2)  # the mask names IOC only
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.ok, r.message
    assert _fillings(fake) == [FOK]


def test_market_execution_falls_back_to_ioc_then_to_return(fake: FakeMT5) -> None:
    broker = _mode(fake, MARKET, mask=1)
    fake.faults.extend([Fault(10030), Fault(10030)])  # neither FOK nor IOC after all
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.ok, r.message
    assert _fillings(fake) == [FOK, IOC, RETURN]


@pytest.mark.parametrize(("mask", "expected"), [(1, FOK), (2, IOC), (3, FOK)])
def test_market_execution_takes_what_the_mask_names_first(
    fake: FakeMT5, mask: int, expected: int
) -> None:
    broker = _mode(fake, MARKET, mask)
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).ok
    assert _fillings(fake) == [expected]


def test_exchange_execution_uses_return_when_the_mask_names_neither(fake: FakeMT5) -> None:
    broker = _mode(fake, EXCHANGE, mask=0)
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).ok
    assert _fillings(fake) == [RETURN]


def test_exchange_execution_falls_back_from_ioc_to_return(fake: FakeMT5) -> None:
    broker = _mode(fake, EXCHANGE, mask=2)
    fake.faults.append(Fault(10030))
    assert broker.open(OrderRequest("XAUUSD", "buy", 0.1)).ok
    assert _fillings(fake) == [IOC, RETURN]


# -- deviation ------------------------------------------------------------------------------


def _move(bid: float, ask: float) -> Callable[[FakeMT5], None]:
    def move(fake: FakeMT5) -> None:
        fake.symbols["XAUUSD"].bid, fake.symbols["XAUUSD"].ask = bid, ask

    return move


def test_market_fill_beyond_deviation_is_reported_and_logged(
    fake: FakeMT5, caplog: pytest.LogCaptureFixture
) -> None:
    broker = _mode(fake, MARKET, mask=1)
    fake.symbols["XAUUSD"].slippage = 45  # the server fills 45 points above the ask
    with caplog.at_level(logging.WARNING, logger="hostapp.brokers.mt5_orders"):
        r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert r.ok and r.filled_volume == pytest.approx(0.1)
    assert "filled 45 points worse than 2000.3, beyond deviation 20" in r.message
    assert "Market execution does not bound slippage" in r.message
    assert len(caplog.records) == 1
    assert fake.positions[r.new_ticket].price_open == 2000.75  # type: ignore[index]


def test_market_fill_within_deviation_says_how_far(fake: FakeMT5) -> None:
    broker = _mode(fake, MARKET, mask=1)
    fake.symbols["XAUUSD"].slippage = 10
    r = broker.close(fake.add_position("XAUUSD", 0, 0.1, 1990.0))
    assert r.ok and "filled 10 points worse than 2000.0" in r.message
    assert "beyond" not in r.message


@pytest.mark.parametrize("exemode", [MARKET, EXCHANGE])
def test_open_is_not_resent_after_the_price_ran_beyond_deviation(
    fake: FakeMT5, sleeps: list[float], exemode: int
) -> None:
    broker = _mode(fake, exemode, mask=1)
    fake.faults.append(Fault(10020))  # price changed: the sender would re-price and send
    fake.before_send.append(_move(2000.50, 2000.80))  # 50 points away from the first ask
    r = broker.open(OrderRequest("XAUUSD", "buy", 0.1))
    assert (r.ok, r.code) == (False, ResultCode.TRANSIENT)
    assert "moved 50 points against the first attempt's 2000.3" in r.message
    assert len(fake.requests) == 1 and fake.positions == {}


def test_hedge_and_close_go_at_any_price(fake: FakeMT5) -> None:
    """Protection is never held back by deviation: only a new exposure is."""
    broker = _mode(fake, MARKET, mask=1)
    ticket = fake.add_position("XAUUSD", 0, 0.2, 1990.0, magic=777)
    fake.faults.append(Fault(10020))
    fake.before_send.append(_move(1995.00, 1995.30))
    assert broker.hedge(ticket, 0.1).ok
    fake.faults.append(Fault(10020))
    fake.before_send.append(_move(1990.00, 1990.30))
    assert broker.close(ticket).ok
    assert [q["price"] for q in fake.requests] == [2000.0, 1995.0, 1995.0, 1990.0]
