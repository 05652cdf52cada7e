"""Digits guessed through float noise: yfinance keeps prices in single precision and
writes them with ten significant digits (the S&P 500's 1229.23 as ``1229.22998``), which
read as six decimals; the assumed spread of ten points was then 0.000010 on an index near
1,200, a trade that cost nothing. The guess reads such a price as the number it stands
for, and the assumed spread is never under half a basis point of the price."""

from __future__ import annotations

import json
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostapp_loop.replay_cli import replay

from hookspecs import Bar
from hostapp.brokers.paper_rules import default_spread
from hostapp.symbol_rules import _decimals, symbol_infos

T0 = datetime(1999, 1, 4, tzinfo=UTC)


def yfinance_text(price: float) -> str:
    """``price`` as yfinance writes it: a float32, ten significant digits."""
    return f"{struct.unpack('f', struct.pack('f', price))[0]:.10g}"


@pytest.mark.parametrize(
    ("written", "digits"),
    [
        ("1229.22998", 2),  # the first open of a yfinance ^GSPC download
        ("1248.810059", 2),
        ("1219.099976", 1),
        ("1272.5", 1),
        (yfinance_text(1.08765), 5),  # 1.087649941
        (yfinance_text(150.123), 3),  # a yen pair
        (yfinance_text(2035.12), 2),  # gold
        (yfinance_text(60123.45), 2),  # a coin
        ("100000.01", 2),  # a cent at 100,000 is not float32 noise (its step is 0.0078)
    ],
)
def test_a_price_written_from_single_precision_has_its_own_decimals(
    written: str, digits: int
) -> None:
    assert _decimals(float(written)) == digits


def closes(n: int, base: float, cents: bool = True) -> list[float]:
    """``n`` prices a cent apart around ``base``, every cent digit used."""
    return [round(base + (i * 37 % 1000) * 0.01, 2 if cents else 5) for i in range(n)]


def noisy_bars(symbol_prices: list[float]) -> list[Bar]:
    out = []
    for i, price in enumerate(symbol_prices):
        o, h, low, c = (float(yfinance_text(p)) for p in (price, price + 3, price - 2, price + 1))
        out.append(Bar(T0 + timedelta(days=i), o, h, low, c, 1.0))
    return out


def test_the_guess_reads_a_yfinance_index_to_the_cent_and_costs_it_a_spread() -> None:
    info = symbol_infos({"US500": noisy_bars(closes(300, 1200.0))})["US500"]
    assert info.digits == 2 and info.point == 0.01
    spread = default_spread("US500", info, 1229.23)
    assert spread == 0.1  # ten points: 0.8 of a basis point, not 0.000010


def test_the_assumed_spread_is_at_least_half_a_basis_point_and_in_points() -> None:
    coin = symbol_infos({"COIN1": noisy_bars(closes(300, 60000.0))})["COIN1"]
    assert coin.digits == 2
    assert default_spread("COIN1", coin, 60000.0) == 3.0  # not ten points, 0.10
    # a price that still reads as six decimals is capped at eight significant digits
    # and charged half a basis point, in its points
    noisy = [Bar(T0, 1229.123457, 1229.223457, 1229.023457, 1229.123457, 1.0)]
    info = symbol_infos({"IDX": noisy})["IDX"]
    assert info.digits == 4
    assert default_spread("IDX", info, 1229.12) == pytest.approx(0.0615)


def write_yfinance_csv(path: Path, prices: list[float]) -> Path:
    lines = ["Date,Open,High,Low,Close,Adj Close,Volume"]
    for i, p in enumerate(prices):
        day = T0 + timedelta(days=i)
        o, h, low, c = (yfinance_text(x) for x in (p, p + 3, p - 2, p + 1))
        lines.append(f"{day:%m/%d/%Y},{o},{h},{low},{c},{c},877000000")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_replay_of_a_yfinance_index_says_two_digits_and_a_real_spread(tmp_path: Path) -> None:
    prices = [1200.0 + 50 * ((i % 40) - 20) / 20 + i * 0.37 for i in range(400)]
    write_yfinance_csv(tmp_path / "US500.csv", [round(p, 2) for p in prices])
    proc = replay(tmp_path, "US500.csv", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    notes = json.loads((tmp_path / "rep" / "summary.json").read_text())["host_notes"]
    assert any("US500: 2 digits" in n for n in notes), notes
    (costs,) = [n for n in notes if n.startswith("costs:")]
    assert "US500's assumed, 0.10, on the 400 bars without one" in costs, costs
