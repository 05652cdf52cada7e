"""Closed bars only, in UTC, spread in price units; timeframe names mapped."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from support.fake_mt5 import TIMEFRAMES, FakeMT5, FakeSymbol

from hookspecs import BrokerError, ProfitCalculator, Timeframe
from hostapp.brokers.mt5 import Mt5Broker
from hostapp.brokers.mt5_market import Mt5Market

T0 = int(datetime(2026, 3, 2, 9, 0, tzinfo=UTC).timestamp()) + 7200  # server clock


def _rows(n: int) -> list[tuple[int, float, float, float, float, int, int, int]]:
    return [(T0 + 300 * i, 2000.0 + i, 2001.0 + i, 1999.0 + i, 2000.5 + i, 100 + i, 30, 0)
            for i in range(n)]  # fmt: skip


def test_bars_exclude_the_forming_bar_and_are_utc(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.rates[("XAUUSD", 5)] = _rows(6)  # the last row is still forming
    bars = Mt5Market(broker).bars("XAUUSD", "M5", 3)
    assert [b.close for b in bars] == [2002.5, 2003.5, 2004.5]
    assert bars[0].time == datetime(2026, 3, 2, 9, 10, tzinfo=UTC)
    assert bars[0].spread == pytest.approx(0.30)  # 30 points × 0.01
    assert type(bars[0].open) is float and type(bars[0].volume) is float
    assert fake.calls[-1] == "copy_rates_from_pos"


def test_fewer_bars_when_history_is_short(broker: Mt5Broker, fake: FakeMT5) -> None:
    fake.rates[("XAUUSD", 16385)] = _rows(3)
    assert len(Mt5Market(broker).bars("XAUUSD", "h1", 10)) == 2


@pytest.mark.parametrize("name", [tf.value for tf in Timeframe])
def test_timeframe_names_map_to_api_constants(broker: Mt5Broker, name: str) -> None:
    assert Mt5Market(broker).timeframe(name) == TIMEFRAMES[name]


def test_bad_timeframe_and_failed_copy(
    broker: Mt5Broker, fake: FakeMT5, caplog: pytest.LogCaptureFixture
) -> None:
    """A symbol's failed read is no bars for it, said once until a read works again; a
    lost link to the terminal is a BrokerError (the cycle is skipped)."""
    caplog.set_level(logging.INFO)
    market = Mt5Market(broker)
    with pytest.raises(ValueError, match="timeframe"):
        market.bars("XAUUSD", "M7", 3)
    assert market.bars("XAUUSD", "M15", 3) == market.bars("XAUUSD", "M15", 3) == []
    said = [r.getMessage() for r in caplog.records if r.name.endswith("mt5_market")]
    assert len(said) == 1 and "Not found" in said[0]
    fake.rates[("XAUUSD", 15)] = _rows(3)
    assert len(market.bars("XAUUSD", "M15", 3)) == 2
    assert caplog.records[-1].getMessage() == "bars of XAUUSD read again, after 2 failed reads"
    assert caplog.records[-1].levelname == "WARNING"  # as its start: a log read at WARNING
    assert market.run_notes == [
        "bars of XAUUSD could not be read 2 times in 1 episode (the last: copy_rates_from_pos"
        "(..., M15) failed; last_error=(-4, 'Terminal: Not found')); the symbol had no new "
        "bars then, the others traded on"
    ]
    assert market.bars("XAUUSD", "M5", 0) == []
    fake.initialized = False  # the IPC link is gone
    with pytest.raises(BrokerError, match="No IPC connection"):
        market.bars("XAUUSD", "M15", 3)


def test_calc_profit_is_the_terminals_order_calc_profit(broker: Mt5Broker, fake: FakeMT5) -> None:
    """hookspecs.ProfitCalculator: the terminal converts a yen move into the account's
    dollars; an unknown symbol is ``None``, not an exception."""
    fake.add_symbol(FakeSymbol("USDJPY", bid=150.0, ask=150.01, digits=3, contract_size=1e5))
    assert isinstance(broker, ProfitCalculator)
    assert broker.calc_profit("XAUUSD", "sell", 0.1, 2000.3, 1995.0) == pytest.approx(53.0)
    assert fake.calls[-1] == "order_calc_profit"
    loss = broker.calc_profit("USDJPY", "buy", 1.0, 150.0, 149.8)
    assert loss == pytest.approx(-133.51)  # 0.2 × 100,000 yen / 149.8
    assert broker.calc_profit("NOSUCH", "buy", 1.0, 1.0, 2.0) is None
