"""A generic file's ``spread`` is in price units; MetaTrader's spreads are whole points.
Read as prices they are ruinous (12 points of EURUSD read as 12.0 lost a 10,000 account
a million in one trade), so such a column is refused with the fix, and a
``spread_points`` column is converted with the symbol's point."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hookspecs import SymbolInfo
from hostapp.market.csvdata import CsvError, load_csv


def write_bars(
    tmp_path: Path, price: float, step: float, spread: str, n: int = 60, column: str = "spread"
) -> Path:
    """``n`` M5 bars around ``price``, each ``step`` wide, with ``spread`` written as it
    stands in every row."""
    lines = [f"time,open,high,low,close,volume,{column}"]
    t = datetime(2024, 1, 2, tzinfo=UTC)
    for i in range(n):
        p = price + (i % 5) * step / 2
        when = (t + timedelta(minutes=5 * i)).strftime("%Y-%m-%d %H:%M")
        o, h, low, c = (round(x, 6) for x in (p, p + step, p - step / 4, p + step / 2))
        lines.append(f"{when},{o},{h},{low},{c},10,{spread}")
    path = tmp_path / "data.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("price", "step", "spread", "why"),
    [
        (1.08523, 0.0004, "12", "on average 12, 1105% of"),  # EURUSD points
        (150.123, 0.04, "15", "on average 15, 10% of"),  # USDJPY points
        (150.123, 0.04, "4", "wider than the bars' median range 0.05"),  # narrower, still
        (2035.12, 40.0, "30", "1.4% of the median close"),  # gold H4: wide bars, still points
    ],
)
def test_spreads_in_points_under_a_price_column_are_refused(
    tmp_path: Path, price: float, step: float, spread: str, why: str
) -> None:
    path = write_bars(tmp_path, price, step, spread)
    with pytest.raises(CsvError, match=r"data\.csv:1: spread: ") as e:
        load_csv(path)
    assert why in str(e.value) and "name the column spread_points" in str(e.value)


@pytest.mark.parametrize(
    ("price", "step", "spread"),
    [
        (1.0852, 0.0004, "0.00012"),  # EURUSD in price units
        (39000.5, 25.0, "2"),  # an index: whole-number spreads in price units, narrow
        (60000.25, 150.0, "10"),  # bitcoin
        (39000.0, 25.0, "30"),  # prices without decimals: a point is 1, nothing to tell
    ],
)
def test_spreads_in_price_units_load_as_written(
    tmp_path: Path, price: float, step: float, spread: str
) -> None:
    bars = load_csv(write_bars(tmp_path, price, step, spread))
    assert {b.spread for b in bars} == {float(spread)}


def test_a_spread_points_column_is_converted_with_the_point(tmp_path: Path) -> None:
    path = write_bars(tmp_path, 1.08523, 0.0004, "12", column="spread_points")
    assert {b.spread for b in load_csv(path)} == {0.00012}  # the prices' 5 decimals
    info = SymbolInfo("EURUSD", 6, 0.000001, 0.01, 0.01, 100.0, contract_size=100_000.0)
    assert {b.spread for b in load_csv(path, symbol_info=info)} == {0.000012}  # finer
    coarse = SymbolInfo("EURUSD", 4, 0.0001, 0.01, 0.01, 100.0, contract_size=100_000.0)
    assert {b.spread for b in load_csv(path, symbol_info=coarse)} == {0.00012}  # the file's
    both = tmp_path / "both.csv"
    both.write_text("time,open,high,low,close,spread,spread_points\n")
    with pytest.raises(CsvError, match="columns 'spread' and 'spread_points': only one"):
        load_csv(both)


def test_spreads_in_pips_are_refused_too(tmp_path: Path) -> None:
    path = write_bars(tmp_path, 1.08523, 0.0004, "2.7")  # 2.7 pips written as 2.7
    with pytest.raises(CsvError, match=r"data\.csv:1: spread: on average 2\.7, 249% of"):
        load_csv(path)


def test_the_point_of_small_prices_in_scientific_notation(tmp_path: Path) -> None:
    """pandas writes prices under 1e-4 as ``1.234e-05``: their decimals are 8, not 0 (a
    point of 1 read 25 points as 25.0, and a 10,000 account lost 10^11)."""
    lines = ["time,open,high,low,close,tick_volume,spread,real_volume"]
    for i in range(30):
        p = 1.234e-05 + i * 1e-09
        lines.append(f"{1704153600 + 300 * i},{p!r},{p + 2e-09!r},{p - 1e-09!r},{p!r},5,25,0")
    path = tmp_path / "PEPEUSD.csv"
    path.write_text("\n".join(lines) + "\n")
    spreads = {b.spread for b in load_csv(path)}
    assert len(spreads) == 1 and spreads.pop() <= 25e-08


def test_a_broker_quoting_gold_with_three_digits(tmp_path: Path) -> None:
    """Known rules (XAUUSD: two digits) give way to the three decimals the file shows:
    220 points are 0.22, not 2.20."""
    lines = ["<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<SPREAD>"]
    for i in range(30):
        p = 2035.125 + i * 0.01
        lines.append(
            f"2024.01.02\t00:{i:02d}:00\t{p:.3f}\t{p + 1:.3f}\t{p - 1:.3f}\t{p:.3f}\t9\t220"
        )
    path = tmp_path / "XAUUSD_M1_202401020000_202401020029.csv"
    path.write_text("\n".join(lines) + "\n")
    gold = SymbolInfo("XAUUSD", 2, 0.01, 0.01, 0.01, 100.0, contract_size=100.0)
    assert {b.spread for b in load_csv(path, symbol_info=gold)} == {0.22}
