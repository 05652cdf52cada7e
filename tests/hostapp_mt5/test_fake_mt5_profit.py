"""The fake terminal counts money as the real one does, in the account's currency: a
USDJPY position's profit and its closing deal's were its yen counted as dollars
(99,000.00 for a yen's move on a lot) while order_calc_profit turned them into dollars
(655.63), so a test of the adapter's money passed on either."""

from __future__ import annotations

from typing import Any

import pytest
from hostapp_mt5.test_fake_mt5 import GOOD
from support.fake_mt5 import FakeMT5, FakeSymbol


def terminal(currency: str, *symbols: FakeSymbol) -> FakeMT5:
    fake = FakeMT5(currency=currency)
    for s in symbols:
        fake.add_symbol(s)
    fake.initialize()
    return fake


def pair(name: str, bid: float, spread: float, digits: int) -> FakeSymbol:
    return FakeSymbol(name, bid=bid, ask=round(bid + spread, digits), digits=digits,
                      contract_size=100_000.0)  # fmt: skip


def three_ways(fake: FakeMT5, name: str, to_bid: float) -> tuple[float, float, float, float]:
    """A buy of 1 lot of ``name`` moved to ``to_bid``: its position's profit,
    order_calc_profit of the same move, its closing deal's profit and the balance's
    change."""
    s = fake.symbols[name]
    opened = fake.order_send({**GOOD, "symbol": name, "volume": 1.0, "price": s.ask})
    assert opened.retcode == 10009
    s.ask, s.bid = round(to_bid + (s.ask - s.bid), s.digits), to_bid
    (position,) = fake.positions_get(symbol=name)
    calc = fake.order_calc_profit(0, name, 1.0, position.price_open, to_bid)
    before = fake.balance
    close: dict[str, Any] = {**GOOD, "symbol": name, "volume": 1.0, "type": 1, "price": to_bid}
    del close["sl"], close["tp"]  # a close carries no stops
    assert fake.order_send({**close, "position": position.ticket}).retcode == 10009
    deal = fake.history_deals_get(position=position.identifier)[-1]
    return position.profit, calc, deal.profit, round(fake.balance - before, 2)


def test_a_usdjpy_position_its_deal_and_order_calc_profit_agree_in_dollars() -> None:
    fake = terminal("USD", pair("USDJPY", 150.0, 0.01, 3))
    money = three_ways(fake, "USDJPY", 151.0)
    assert money == (655.63,) * 4  # 0.99 × 100,000 yen at 151.00 to the dollar
    assert fake.symbol_info("USDJPY").currency_profit == "JPY"


def test_a_cross_rate_turns_a_profit_into_the_accounts_currency() -> None:
    """EURUSD's dollars on a yen account, at USDJPY's price; on a euro account, USDJPY's
    yen at EURJPY's; a currency the terminal has no rate to is refused, not guessed."""
    fake = terminal("JPY", pair("EURUSD", 1.1, 0.0001, 5), pair("USDJPY", 150.0, 0.01, 3))
    money = three_ways(fake, "EURUSD", 1.1019)  # 0.0018 × 100,000 dollars
    assert money == (pytest.approx(180 * 150.005, abs=0.01),) * 4
    euro = terminal("EUR", pair("USDJPY", 150.0, 0.01, 3), pair("EURJPY", 160.0, 0.02, 3))
    assert three_ways(euro, "USDJPY", 151.0) == (pytest.approx(99_000 / 160.01, abs=0.01),) * 4
    alone = terminal("EUR", pair("GBPUSD", 1.3, 0.0001, 5))
    with pytest.raises(LookupError, match="no rate from USD to the account's EUR"):
        alone.order_calc_profit(0, "GBPUSD", 1.0, 1.3, 1.31)
