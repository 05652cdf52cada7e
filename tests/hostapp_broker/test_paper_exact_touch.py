"""A stop or a target the price touches exactly fills, on a buy (closed at the bid, the
file's own price) as on a sell (closed at the ask, the bid plus the spread, a sum float
noise puts a unit in the last place under the level: 1.28361 + 0.00012 is
1.2837299999999998 < 1.28373), on prices near 1, near 0.00001 and near 100,000; a price
one point short of the level fills nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hookspecs import Bar, Direction, OrderRequest, SymbolInfo
from hostapp.brokers.paper import PaperBroker

T0 = datetime(2024, 1, 2, 10, 0, tzinfo=UTC)

#: (symbol, the price the levels start at, spreads in points): a pair near 1, a coin
#: near 0.00001 with 10 decimals, a coin near 100,000 with 2
MARKETS = {
    "GBPUSD": (SymbolInfo("GBPUSD", 5, 0.00001, 0.01, 0.01, 100.0, 0.0, 0.0, 100_000.0), 1.28361),
    "PEPUSD": (SymbolInfo("PEPUSD", 10, 1e-10, 1.0, 1.0, 1e9, 0.0, 0.0, 1.0), 0.0000123457),
    "BTCUSD": (SymbolInfo("BTCUSD", 2, 0.01, 0.01, 0.01, 10.0, 0.0, 0.0, 1.0), 98765.43),
}
SPREADS = (1, 3, 7, 12, 15, 23, 37, 59)  # points
LEVELS = 40  # levels a point apart from the start, for each spread


def _cases(symbol: str) -> list[tuple[float, float]]:
    """(level, spread) pairs on the symbol's grid: the level a bid plus the spread
    reaches exactly."""
    info, start = MARKETS[symbol]
    return [
        (round(start + k * info.point, info.digits), round(n * info.point, info.digits))
        for n in SPREADS
        for k in range(LEVELS)
    ]


def _broker(symbol: str) -> PaperBroker:
    return PaperBroker(symbols={symbol: MARKETS[symbol][0]})


def _closes(
    symbol: str, direction: Direction, kind: str, level: float, spread: float, short: int
) -> list[str]:
    """The reasons the position closes for, on a bar whose closing price (the bid for a
    buy, the ask for a sell) reaches ``short`` points short of ``level`` at its high (a
    buy's target, a sell's stop) or its low (a buy's stop, a sell's target)."""
    info = MARKETS[symbol][0]
    b = _broker(symbol)
    up = (kind == "stop_loss") == (direction == "sell")  # the level is above the price
    away = 100 * info.point * (-1 if up else 1)  # the quote, and the bar's open, far off
    cost = spread if direction == "sell" else 0.0  # a sell closes at the ask
    bid = round(level - cost + away, info.digits)
    b.set_quote(symbol, bid, round(bid + spread, info.digits), T0)
    stops = {"stop_loss": level} if kind == "stop_loss" else {"take_profit": level}
    opened = b.open(OrderRequest(symbol, direction, info.volume_min, **stops))  # type: ignore[arg-type]
    assert opened.ok, opened
    reach = round(level - cost + (-short if up else short) * info.point, info.digits)
    high, low = (reach, bid) if up else (bid, reach)
    bar = Bar(T0 + timedelta(minutes=5), bid, high, low, bid, 100.0, spread)
    return [reason for _, reason in b.on_bar(symbol, bar)]


@pytest.mark.parametrize("symbol", list(MARKETS))
@pytest.mark.parametrize("kind", ["stop_loss", "take_profit"])
@pytest.mark.parametrize("direction", ["buy", "sell"])
def test_an_exact_touch_fills_and_a_point_short_does_not(
    symbol: str, kind: str, direction: Direction
) -> None:
    cases = _cases(symbol)
    if direction == "sell":  # the sums that float noise puts past the level are among them
        info = MARKETS[symbol][0]
        noisy = [
            (level, spread)
            for level, spread in cases
            if round(level - spread, info.digits) + spread != level
        ]
        assert len(noisy) > len(cases) // 20
    missed = [c for c in cases if _closes(symbol, direction, kind, *c, short=0) != [kind]]
    assert missed == []
    filled = [c for c in cases[::7] if _closes(symbol, direction, kind, *c, short=1)]
    assert filled == []


def test_the_auditors_sell_stop_fills_at_its_price() -> None:
    """The case found: a GBPUSD sell's stop at 1.28373, the bid's high 1.28361 and the
    spread 0.00012."""
    b = _broker("GBPUSD")
    b.set_quote("GBPUSD", 1.28300, 1.28312, T0)
    opened = b.open(OrderRequest("GBPUSD", "sell", 0.1, stop_loss=1.28373))
    assert opened.ok, opened
    bar = Bar(T0 + timedelta(minutes=5), 1.28300, 1.28361, 1.28290, 1.28350, 100.0, 0.00012)
    ((trade, reason),) = b.on_bar("GBPUSD", bar)
    assert (reason, trade.close_price, trade.ticket) == ("stop_loss", 1.28373, opened.new_ticket)
