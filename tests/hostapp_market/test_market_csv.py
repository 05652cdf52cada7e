"""CSV import: the generic format, MetaTrader's export, and errors that name file and line."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_text as write

from hookspecs import Bar, SymbolInfo
from hostapp.market.csvdata import CsvError, load_csv, symbol_of_file
from hostapp.market.synthetic import generate_bars

GOLD = SymbolInfo("XAUUSD", 2, 0.01, 0.01, 0.01, 100.0, contract_size=100.0)


def test_generic_with_all_time_formats_and_optional_spread(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "time,open,high,low,close,volume\n"
        "2024-01-02T00:00:00Z,1.1,1.2,1.0,1.15,10\n"
        "2024-01-02 00:05,1.15,1.2,1.1,1.12,11\n"
        "\n"
        "2024-01-02 00:10:00,1.12,1.13,1.11,1.12,12\n"
        "2024-01-02T02:15:00+02:00,1.12,1.13,1.11,1.125,13\n"
        "1704154800,1.125,1.13,1.12,1.126,14\n",
    )
    bars = load_csv(p)
    assert [b.time.minute for b in bars] == [0, 5, 10, 15, 20]
    assert all(b.time.tzinfo is UTC for b in bars)
    assert bars[0] == Bar(datetime(2024, 1, 2, tzinfo=UTC), 1.1, 1.2, 1.0, 1.15, 10.0, 0.0)
    assert bars[4].volume == 14.0


def test_epoch_milliseconds_as_binance_writes_them(tmp_path: Path) -> None:
    """Binance's klines and JavaScript tools write the open time in milliseconds: 13
    digits, which as seconds would be past the year 5000."""
    text = (
        "time,open,high,low,close,volume\n"
        "1704153600000,42000,42100,41900,42050,12.5\n"
        "1704153900000,42050,42080,42000,42010,8\n"
        "99999999999,1,1,1,1,1\n"  # the largest whole number still read as seconds
    )
    bars = load_csv(write(tmp_path, text))
    assert [b.time.isoformat() for b in bars] == [
        "2024-01-02T00:00:00+00:00",
        "2024-01-02T00:05:00+00:00",
        "5138-11-16T09:46:39+00:00",
    ]


def test_generic_columns_in_any_order_with_spread(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        "Time,Volume,Open,High,Low,Close,Spread\n2024-01-02 00:00,5,2000,2001.5,1999,2001,0.3\n",
    )
    (bar,) = load_csv(p)
    assert (bar.open, bar.high, bar.low, bar.close, bar.volume, bar.spread) == (
        2000.0,
        2001.5,
        1999.0,
        2001.0,
        5.0,
        0.3,
    )


def test_round_trip_of_generated_bars(tmp_path: Path) -> None:
    bars = generate_bars("XAUUSD", datetime(2024, 3, 1, tzinfo=UTC), 200, seed=4)
    lines = ["time,open,high,low,close,volume,spread"] + [
        f"{b.time.isoformat()},{b.open},{b.high},{b.low},{b.close},{b.volume},{b.spread}"
        for b in bars
    ]
    assert load_csv(write(tmp_path, "\n".join(lines) + "\n")) == bars


MT5_TEXT = (
    "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
    "2024.01.02\t00:00:00\t2062.50\t2063.10\t2061.80\t2062.90\t812\t0\t25\n"
    "2024.01.02\t00:05:00\t2062.90\t2064.00\t2062.40\t2063.70\t655\t0\t30\n"
)


def test_mt5_export_with_symbol_point(tmp_path: Path) -> None:
    bars = load_csv(write(tmp_path, MT5_TEXT, "XAUUSD_M5.csv"), symbol_info=GOLD)
    assert bars[0] == Bar(
        datetime(2024, 1, 2, tzinfo=UTC), 2062.5, 2063.1, 2061.8, 2062.9, 812.0, 0.25
    )
    assert bars[1].time == datetime(2024, 1, 2, 0, 5, tzinfo=UTC)
    assert bars[1].spread == 0.3


def test_mt5_export_infers_the_point_from_the_price_digits(tmp_path: Path) -> None:
    gold = load_csv(write(tmp_path, MT5_TEXT, "g.csv"))
    assert [b.spread for b in gold] == [0.25, 0.3]
    eur = (
        "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
        "2024.01.02\t00:00:00\t1.10420\t1.10452\t1.10400\t1.10431\t120\t0\t7\n"
    )
    (bar,) = load_csv(write(tmp_path, eur, "e.csv"))
    assert bar.spread == 0.00007


def test_mt5_daily_export_without_time_and_utf16(tmp_path: Path) -> None:
    text = (
        "<DATE>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"
        "2024.01.02\t1.10420\t1.10952\t1.09400\t1.10431\t120000\t0\t5\n"
        "2024.01.03\t1.10431\t1.10500\t1.09000\t1.09100\t130000\t0\t6\n"
    )
    p = tmp_path / "d1.csv"
    p.write_bytes(text.encode("utf-16"))
    bars = load_csv(p)
    assert [b.time for b in bars] == [
        datetime(2024, 1, 2, tzinfo=UTC),
        datetime(2024, 1, 3, tzinfo=UTC),
    ]
    assert bars[1].low == 1.09


HEADER = "time,open,high,low,close,volume\n"
OK_ROW = "2024-01-02 00:00,1.1,1.2,1.0,1.15,10\n"
GOOD = HEADER + OK_ROW  # a good line 2: the bad line is line 3
MT5_HEAD = "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (GOOD + "2024-01-02 00:05,1.25,1.2,1.3,1.25,1\n", 3, "high 1.2 is below low 1.3"),
        (
            GOOD + "2024-01-02 00:05,1.1,1.2,1.0,1.25,1\n",
            3,
            "high 1.2 is below open 1.1 or close 1.25",
        ),
        (
            GOOD + "2024-01-02 00:05,1.1,1.2,1.12,1.15,1\n",
            3,
            "low 1.12 is above open 1.1 or close 1.15",
        ),
        (
            GOOD + OK_ROW.replace(",10", ",11"),
            3,
            "duplicate time 2024-01-02T00:00:00+00:00, also on line 2 with other values",
        ),
        (
            GOOD + "2024-01-02 00:05,1.1,1.2,1.0,1.15,1\n2024-01-01 23:55,1.1,1.2,1.0,1.15,1\n",
            4,
            "is before the previous line's",
        ),
        (GOOD + "2024-01-02 00:05,1.1,abc,1.0,1.15,1\n", 3, "high 'abc' is not a number"),
        (GOOD + "2024-01-02 00:05,1.1,nan,1.0,1.15,1\n", 3, "high 'nan' is not a finite number"),
        (GOOD + "2024-01-02 00:05,1.1,1.2,1.0\n" + OK_ROW, 3, "missing value for close"),
        (GOOD + "2024-01-02 00:05,1.1,1.2,1.0,1.1,1,9\n", 3, "7 values but the header has 6"),
        (HEADER + "yesterday,1.1,1.2,1.0,1.15,1\n", 2, "time 'yesterday' is not ISO 8601"),
        (HEADER + "2024-01-02 00:05,0,1.2,0,1.15,1\n", 2, "open 0 is not a positive price"),
        (HEADER + "2024-01-02 00:05,1.1,1.2,1.0,1.15,-3\n", 2, "volume -3 is negative"),
        ("time,open,high,low,volume\n" + OK_ROW, 1, "missing column(s) close"),
        ("time,open,high,low,close,volumne\n", 1, "column 'volumne' is one letter off 'volume'"),
        ("time,open,high,low,close,volume,open\n", 1, "column 'open' appears twice"),
        (OK_ROW, 1, "no header line"),
        (HEADER, 1, "no bars after the header"),
        (
            MT5_HEAD + "\t<TICKVOL>\n2024.13.02\t00:00\t1\t1\t1\t1\t1\n",
            2,
            "date/time '2024.13.02' '00:00' is not 'YYYY.MM.DD' 'HH:MM[:SS]'",
        ),
        (MT5_HEAD + "\n", 1, "missing column(s) <TICKVOL>"),
    ],
)
def test_bad_files_name_the_file_and_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    p = write(tmp_path, text)
    with pytest.raises(CsvError) as info:
        load_csv(p)
    err = info.value
    assert (err.path, err.line) == (str(p), line)
    assert str(err).startswith(f"{p}:{line}: ")
    assert message in str(err)
    assert isinstance(err, ValueError)


def test_empty_missing_and_binary_files(tmp_path: Path) -> None:
    empty = write(tmp_path, "\n\n", "empty.csv")
    with pytest.raises(CsvError, match=r"empty\.csv: the file is empty") as info:
        load_csv(empty)
    assert info.value.line == 0
    with pytest.raises(CsvError, match=r"nope\.csv: cannot read the file"):
        load_csv(tmp_path / "nope.csv")
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\x89PNG\x00\xff\xfe\xfd")
    with pytest.raises(CsvError, match=r"bin\.csv: not UTF-8"):
        load_csv(binary)


def test_exact_message_format(tmp_path: Path) -> None:
    p = write(tmp_path, HEADER + OK_ROW * 1 + "2024-01-02 00:05,1.25,1.2,1.3,1.25,1\n")
    with pytest.raises(CsvError) as info:
        load_csv(p)
    assert str(info.value) == f"{p}:3: high 1.2 is below low 1.3"


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("XAUUSD.csv", "XAUUSD"),
        ("XAUUSD_M5_202401020000_202412312355.csv", "XAUUSD"),  # MetaTrader's bars export
        ("EURUSD_202401020000_202401051159.csv", "EURUSD"),  # and its ticks export
        ("US30_H1.csv", "US30"),
        ("EURUSD_Daily_200001030000_202312290000.csv", "EURUSD"),
        ("XAGUSD_Weekly.csv", "XAGUSD"),
        ("GBPUSD_mn1.csv", "GBPUSD"),
        ("BTC-USD.csv", "BTC-USD"),  # yfinance
        ("my_data.csv", "my_data"),
        ("M5.csv", "M5"),
        ("EURUSD_H2.csv", "EURUSD"),  # MetaTrader 5's other periods too
        ("EURUSD_H5.csv", "EURUSD_H5"),  # not a timeframe: left as it is
        ("DAT_ASCII_EURUSD_M1_2024.csv", "EURUSD"),  # HistData.com
        ("DAT_MT_XAUUSD_M1_202401.csv", "XAUUSD"),
        ("EURUSD_Candlestick_5_M_BID_01.01.2024-31.12.2024.csv", "EURUSD"),  # Dukascopy
        ("USA500.IDX_Candlestick_1_Hour_BID_01.01.2024-31.12.2024.csv", "USA500.IDX"),
        ("USDJPY60.csv", "USDJPY"),  # MetaTrader 4's History Center: period in minutes
        ("EURUSD1.csv", "EURUSD"),
        ("XAUUSD43200.csv", "XAUUSD"),
        ("EURUSDm1440.csv", "EURUSDm"),  # a broker's suffix stays
        ("USDJPY.m60.csv", "USDJPY.m"),
        ("EURUSD2024.csv", "EURUSD2024"),  # not a period
        ("WALLSTREET30.csv", "WALLSTREET30"),  # an index named with its number
        ("US30.csv", "US30"),
        ("GER40.csv", "GER40"),
        ("XBTUSD_60.csv", "XBTUSD"),  # Kraken's OHLCVT
        ("XBTUSD_720.csv", "XBTUSD"),
        ("1INCHEUR_5.csv", "1INCHEUR"),
        ("XBTUSD_2024.csv", "XBTUSD"),  # a year's file: not Kraken's period
        ("my_data_5.csv", "my_data_5"),
        ("USDJPY.m_H1_202401020000_202412312355.csv", "USDJPY.m"),  # the broker's name
        # a year's (a month's, a day's) export named by hand: symbol, period, years
        ("EURUSD_M1_2020.csv", "EURUSD"),
        ("XAUUSD-H1-2019-2024.csv", "XAUUSD"),
        ("EURUSD_Daily_202001.csv", "EURUSD"),
        ("USDJPY.m_H1_20240304.csv", "USDJPY.m"),
        ("my_data_H1_2020.csv", "my_data_H1_2020"),  # no one word before the period
        # or with no period: symbol, then years, months or days
        ("XAUUSD_2024.csv", "XAUUSD"),
        ("XAUUSD-2023.csv", "XAUUSD"),
        ("EURUSD_2020_2021.csv", "EURUSD"),
        ("XAUUSD-2023-01.csv", "XAUUSD"),
        ("XAUUSD_2024_01.csv", "XAUUSD"),  # a month's, written with _ as the rest
        ("MYINDEX_2024_01_02.csv", "MYINDEX"),  # any symbol's, not a known one's only
        ("USDJPY.m_2024_03.csv", "USDJPY.m"),
        ("EURUSD_2024_13.csv", "EURUSD_2024_13"),  # no month: not a date
        ("XAUUSD_2024_01_99.csv", "XAUUSD_2024_01_99"),  # no day
        ("EURUSD_202001.csv", "EURUSD"),
        ("USDJPY.m_20240304.csv", "USDJPY.m"),
        ("EURUSD_1850.csv", "EURUSD_1850"),  # not a year of electronic trading
        ("SBER_240103_240103.csv", "SBER_240103_240103"),  # Finam's: file_symbols reads it
        ("EURUSD_M1_1850.csv", "EURUSD_M1_1850"),  # not a year of electronic trading
    ],
)
def test_the_symbol_of_a_file_is_its_name_without_the_exporters_additions(
    name: str, symbol: str
) -> None:
    assert symbol_of_file(f"/data/{name}") == symbol


def test_generic_without_volume_is_volume_zero(tmp_path: Path) -> None:
    """A TradingView export of a forex chart: time (epoch seconds), prices, no volume."""
    text = "time,open,high,low,close\n1704153600,1.1,1.2,1.0,1.15\n1704153900,1.15,1.2,1.1,1.12\n"
    bars = load_csv(write(tmp_path, text))
    assert [(b.time.isoformat(), b.close, b.volume) for b in bars] == [
        ("2024-01-02T00:00:00+00:00", 1.15, 0.0),
        ("2024-01-02T00:05:00+00:00", 1.12, 0.0),
    ]
