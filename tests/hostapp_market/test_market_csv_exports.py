"""CSV import of what other tools export: Dukascopy (GMT or local time, its flat filler
bars left out), MetaTrader 4's header-less History Center lines, HistData.com's
semicolon lines in Eastern Standard Time, Binance's klines (epoch milli- or
microseconds, with or without their header) and other exchanges' epoch lines (Kraken),
``Date,Time,Open,…`` files and semicolon-separated generic files; errors name file and
line. One replay of a HistData file runs as a real ``hostapp`` process."""

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_text as write

from hookspecs import Bar
from hostapp.market.csvdata import CsvError, load_csv, symbol_of_file
from hostapp.market.csvrows import parse_zone

ROOT = Path(__file__).resolve().parents[2]


def at(d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2024, 1, d, hour, minute, tzinfo=UTC)


def test_dukascopy_gmt_export_leaves_out_its_flat_filler_bars(tmp_path: Path) -> None:
    text = (
        "Gmt time,Open,High,Low,Close,Volume\n"
        "05.01.2024 21:55:00.000,2045.125,2046.5,2044.9,2045.3,1520.34\n"
        "06.01.2024 00:00:00.000,2045.3,2045.3,2045.3,2045.3,0\n"  # Saturday: a filler
        "07.01.2024 22:00:00.000,2046.1,2047.0,2045.8,2046.9,310.5\n"
    )
    notes: list[str] = []
    assert load_csv(write(tmp_path, text), notes=notes) == [
        Bar(at(5, 21, 55), 2045.125, 2046.5, 2044.9, 2045.3, 1520.34, 0.0),
        Bar(at(7, 22, 0), 2046.1, 2047.0, 2045.8, 2046.9, 310.5, 0.0),
    ]
    assert notes == [  # left out without a word before
        f"{tmp_path / 'data.csv'}: left out 1 flat zero-volume filler bar Dukascopy writes "
        "for the hours the market is closed (line 3)"
    ]


def test_the_replay_counts_the_dukascopy_fillers_it_left_out(tmp_path: Path) -> None:
    """A weekend of Dukascopy's H1 fillers: the bars the replay trades are fewer than the
    file's rows, and the notes say by how many and why."""
    from hostapp_cli_errors.test_run_replay_errors import hostapp

    from hostapp.market.synthetic import generate_bars

    bars = generate_bars("XAUUSD", datetime(2024, 1, 1, tzinfo=UTC), 300, timeframe="H1", seed=4)
    lines = ["Gmt time,Open,High,Low,Close,Volume"]
    for i, b in enumerate(bars):
        when = f"{b.time:%d.%m.%Y %H:%M:%S}.000"
        if 100 <= i < 148:  # Saturday and Sunday: flat at the last close, no volume
            c = bars[99].close
            lines.append(f"{when},{c},{c},{c},{c},0")
        else:
            lines.append(f"{when},{b.open},{b.high},{b.low},{b.close},{b.volume + 1}")
    name = "XAUUSD_Candlestick_1_Hour_BID_01.01.2024-13.01.2024.csv"
    (tmp_path / name).write_text("\n".join(lines) + "\n")
    proc = hostapp(tmp_path, "replay", name, "--json", "--report", "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (
        f"{name}: left out 48 flat zero-volume filler bars Dukascopy writes for the hours the "
        "market is closed (lines 102, 103, 104, …)"
    ) in json.loads(proc.stdout)["host_notes"]


def test_dukascopy_local_time_is_converted_to_utc(tmp_path: Path) -> None:
    text = (
        "Local time,Open,High,Low,Close,Volume\n"
        "02.01.2024 02:05:00.000 GMT+0200,1.1042,1.1045,1.104,1.1043,12.5\n"
        "01.01.2024 19:10:00.000 GMT-0500,1.1043,1.1046,1.1041,1.1044,9\n"
    )
    bars = load_csv(write(tmp_path, text))
    assert [b.time for b in bars] == [at(2, 0, 5), at(2, 0, 10)]


@pytest.mark.parametrize(
    ("row", "line", "message"),
    [
        ("2024-01-02 00:05,1,1,1,1,1\n", 2, "is not 'DD.MM.YYYY HH:MM:SS[.mmm][ GMT+HHMM]'"),
        ("31.02.2024 00:05:00.000,1,1,1,1,1\n", 2, "day is out of range"),
        ("02.01.2024 00:05:00.000,1,1,1,1\n", 2, "5 values but the header has 6"),
        ("02.01.2024 00:05:00.000,1,x,1,1,1\n", 2, "high 'x' is not a number"),
        ("01.01.0001 00:30:00.000 GMT+0200,1,1,1,1,1\n", 2, "is out of range in UTC"),
    ],
)
def test_dukascopy_errors_name_the_line(tmp_path: Path, row: str, line: int, message: str) -> None:
    path = write(tmp_path, "Gmt time,Open,High,Low,Close,Volume\n" + row)
    with pytest.raises(CsvError, match=rf"data\.csv:{line}: .*{re.escape(message)}"):
        load_csv(path)


def test_metatrader4_history_center_lines_need_no_header(tmp_path: Path) -> None:
    text = (
        "2024.01.02,00:05,2063.41,2064.02,2062.88,2063.5,412\n"
        "2024.01.02,00:10,2063.5,2063.9,2062.1,2062.3,388\n"
    )
    assert load_csv(write(tmp_path, text)) == [
        Bar(at(2, 0, 5), 2063.41, 2064.02, 2062.88, 2063.5, 412.0, 0.0),
        Bar(at(2, 0, 10), 2063.5, 2063.9, 2062.1, 2062.3, 388.0, 0.0),
    ]


def test_histdata_ascii_bars_are_eastern_standard_time(tmp_path: Path) -> None:
    text = (
        "20240102 000500;1.104720;1.104750;1.104700;1.104740;0\n"
        "20240702 000600;1.104740;1.104800;1.104730;1.104790;0\n"  # July: still UTC-5
    )
    bars = load_csv(write(tmp_path, text))
    assert [b.time for b in bars] == [at(2, 5, 5), datetime(2024, 7, 2, 5, 6, tzinfo=UTC)]
    assert bars[0] == Bar(at(2, 5, 5), 1.10472, 1.10475, 1.1047, 1.10474, 0.0, 0.0)


KLINE_1 = (
    "1704153600000,42000.0,42100.5,41900.0,42050.1,12.5,1704153899999,525000.0,186,6.2,260000.0,0"
)
KLINE_2 = (
    "1704153900000,42050.1,42080.0,42000.0,42010.0,8.0,1704154199999,336000.0,99,4.0,168000.0,0"
)


@pytest.mark.parametrize(
    "header",
    [
        "",  # the monthly files of data.binance.vision: no header line
        "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
        "taker_buy_volume,taker_buy_quote_volume,ignore\n",
    ],
)
def test_binance_klines_in_milliseconds(tmp_path: Path, header: str) -> None:
    bars = load_csv(write(tmp_path, f"{header}{KLINE_1}\n{KLINE_2}\n"))
    assert bars == [
        Bar(at(2), 42000.0, 42100.5, 41900.0, 42050.1, 12.5, 0.0),
        Bar(at(2, 0, 5), 42050.1, 42080.0, 42000.0, 42010.0, 8.0, 0.0),
    ]


def test_binance_spot_klines_in_microseconds(tmp_path: Path) -> None:
    """Binance's spot files from 2025 on write times in microseconds (16 digits)."""
    row = KLINE_1.replace("1704153600000", "1704153600000000", 1)
    assert load_csv(write(tmp_path, row + "\n"))[0].time == at(2)
    bad = KLINE_1 + "\n" + KLINE_2.replace("1704153900000", "17041539x0000", 1) + "\n"
    with pytest.raises(CsvError, match=r"data\.csv:2: open time '17041539x0000' is not epoch"):
        load_csv(write(tmp_path, bad))


def test_kraken_ohlcvt_and_bare_epoch_lines(tmp_path: Path) -> None:
    """Kraken's OHLCVT (seconds, then open, high, low, close, volume, trade count) and a
    bare ``epoch,open,high,low,close`` file need no header either; later columns are not
    read."""
    kraken = (
        "1704153600,42000,42100.5,41900,42050.1,12.5,186\n"
        "1704153900,42050.1,42080,42000,42010,8,99\n"
    )
    bars = load_csv(write(tmp_path, kraken))
    assert bars[1] == Bar(at(2, 0, 5), 42050.1, 42080.0, 42000.0, 42010.0, 8.0, 0.0)
    bare = load_csv(write(tmp_path, "1704153600,1.1,1.2,1.0,1.15\n"))
    assert bare == [Bar(at(2), 1.1, 1.2, 1.0, 1.15, 0.0, 0.0)]
    short = kraken.replace(",99", "") + "1704154200,42010,42020,42000,42010,1,5\n"
    with pytest.raises(CsvError, match=r"data\.csv:2: 6 values where the first line has 7"):
        load_csv(write(tmp_path, short))  # a short line but the last is a cut-off one
    with pytest.raises(CsvError, match=r"data\.csv:1: no header line"):  # prices, not words
        load_csv(write(tmp_path, "1704153600,open,high,low,close\n"))


MT5_HEADER = "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"


def test_times_without_an_offset_are_read_in_the_zone_the_user_names(tmp_path: Path) -> None:
    """A MetaTrader server on Athens time (UTC+2, UTC+3 in summer): its 02:00 in January
    and 03:00 in July are both midnight UTC. Times that say their offset, and epoch
    times, are what they say whatever the zone."""
    athens = parse_zone("Europe/Athens")
    mt5 = (
        MT5_HEADER
        + "2024.01.02\t02:00:00\t2060\t2061\t2059\t2060.5\t100\t0\t12\n"
        + "2024.07.01\t03:00:00\t2330\t2331\t2329\t2330.5\t120\t0\t12\n"
    )
    got = load_csv(write(tmp_path, mt5), zone=athens)
    assert [b.time for b in got] == [at(2), datetime(2024, 7, 1, tzinfo=UTC)]
    mt4 = "2024.01.02,02:05,1,1,1,1,1\n"
    assert load_csv(write(tmp_path, mt4), zone=athens)[0].time == at(2, 0, 5)
    generic = (
        "time,open,high,low,close\n"
        "2024-01-02 02:10,1,1,1,1\n"  # no offset: in the zone
        "2024-01-02T00:15:00Z,1,1,1,1\n"  # says UTC
        "1704154800,1,1,1,1\n"  # epoch: absolute
    )
    got = load_csv(write(tmp_path, generic), zone=parse_zone("+02:00"))
    assert [b.time for b in got] == [at(2, 0, 10), at(2, 0, 15), at(2, 0, 20)]
    pandas = "Date,Open,High,Low,Close\n2024-01-01 19:00:00,1,1,1,1\n"
    assert load_csv(write(tmp_path, pandas), zone=parse_zone("-5"))[0].time == at(2)
    histdata = "20240102 000500;1;1;1;1;0\n"  # Eastern Standard Time unless the user says
    assert load_csv(write(tmp_path, histdata))[0].time == at(2, 5, 5)
    assert load_csv(write(tmp_path, histdata), zone=athens)[0].time == at(1, 22, 5)
    assert load_csv(write(tmp_path, histdata), zone=UTC)[0].time == at(2, 0, 5)


@pytest.mark.parametrize(
    ("text", "offset"),
    [("UTC", 0), ("+02:00", 120), ("-5", -300), ("GMT+3", 180), ("+0530", 330)],
)
def test_fixed_zones(text: str, offset: int) -> None:
    zone = parse_zone(text)
    assert zone.utcoffset(None) == timedelta(minutes=offset)


def test_unknown_or_impossible_zones_name_what_is_accepted() -> None:
    for text in ("Mars/Olympus", "+15:00", "+02:75", "2"):
        with pytest.raises(ValueError, match=r"unknown time zone|out of range"):
            parse_zone(text)


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("BTCUSDT-5m-2024-01.csv", "BTCUSDT"),
        ("ETHUSDT-1h-2024-03-15.csv", "ETHUSDT"),
        # a download joined over years, or renamed: the interval still ends the symbol
        ("BTCUSDT-1h-2017-2019.csv", "BTCUSDT"),
        ("ETHUSDT-4h.csv", "ETHUSDT"),
        ("1INCHUSDT-15m-all.csv", "1INCHUSDT"),
        ("BNBUSDT-1mo-2020.csv", "BNBUSDT"),
        ("SOLUSDT-1w-2021-2024 (1).csv", "SOLUSDT"),
        # no interval after the dash: not Binance's
        ("BTC-USD.csv", "BTC-USD"),
        ("BRK-B.csv", "BRK-B"),
        ("my-5m-data.csv", "my-5m-data"),
    ],
)
def test_the_symbol_of_a_binance_file(name: str, symbol: str) -> None:
    assert symbol_of_file(f"/data/{name}") == symbol


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (
            "2024.01.02,00:05,1,1,1,1,1\n2024.01.02,00:10,1,1,1,1\n2024.01.02,00:15,1,1,1,1,1\n",
            2,
            "6 values where the first line has 7",
        ),
        ("2024.01.02,00:05,1,1,1,1,1\n2024.13.02,00:10,1,1,1,1,1\n", 2, "is not 'YYYY.MM.DD'"),
        ("2024.01.02,00:05,1,1,1,1,1\n2024.01.02,00:05,1,1,1,1,2\n", 2, "duplicate time"),
        ("20240102 000500;1;1;1;1;0\n20240102 99;1;1;1;1;0\n", 2, "is not 'YYYYMMDD HHMMSS'"),
        ("99991231 230000;1;1;1;1;0\n", 1, "is out of range in UTC"),
        ("20240102 000500;1;1;2;1;0\n", 1, "high 1 is below low 2"),
    ],
)
def test_headerless_errors_name_the_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    with pytest.raises(CsvError, match=rf"data\.csv:{line}: .*{re.escape(message)}"):
        load_csv(write(tmp_path, text))


@pytest.mark.parametrize("date", ["2024.01.02", "2024-01-02"])
def test_date_and_time_in_columns_of_their_own(tmp_path: Path, date: str) -> None:
    text = (
        "Date,Time,Open,High,Low,Close,Volume\n"
        f"{date},00:05,2063.41,2064.02,2062.88,2063.5,412\n"
        f"{date},00:10:00,2063.5,2063.9,2062.1,2062.3,388\n"
    )
    assert load_csv(write(tmp_path, text)) == [
        Bar(at(2, 0, 5), 2063.41, 2064.02, 2062.88, 2063.5, 412.0, 0.0),
        Bar(at(2, 0, 10), 2063.5, 2063.9, 2062.1, 2062.3, 388.0, 0.0),
    ]
    no_time = "Date,Time,Open,High,Low,Close\n2024.01.02,,1,1,1,1\n"
    with pytest.raises(CsvError, match=r"data\.csv:2: missing value for time"):
        load_csv(write(tmp_path, no_time))
    bad = "Date,Time,Open,High,Low,Close\n2024.13.02,00:05,1,1,1,1\n"
    with pytest.raises(CsvError, match=r"data\.csv:2: time '2024.13.02 00:05' is not"):
        load_csv(write(tmp_path, bad))


def test_semicolon_separated_generic_file(tmp_path: Path) -> None:
    text = "time;open;high;low;close;volume\n2024-01-02 00:05;2063.4;2064;2062.9;2063.5;412\n"
    assert load_csv(write(tmp_path, text)) == [
        Bar(at(2, 0, 5), 2063.4, 2064.0, 2062.9, 2063.5, 412.0, 0.0)
    ]
    comma_decimals = "time;open;high;low;close;volume\n2024-01-02 00:05;2063,4;2064;2062;2063;1\n"
    assert load_csv(write(tmp_path, comma_decimals))[0].open == 2063.4  # Europe's Excel
    grouped = "time;open;high;low;close;volume\n2024-01-02 00:05;2.063,4;2064;2062;2063;1\n"
    assert load_csv(write(tmp_path, grouped))[0].open == 2063.4  # a point between thousands
    misgrouped = "time;open;high;low;close;volume\n2024-01-02 00:05;20.63,4;2064;2062;2063;1\n"
    with pytest.raises(CsvError, match=r"data\.csv:2: open '20.63,4' is not a number"):
        load_csv(write(tmp_path, misgrouped))


def test_a_line_that_is_no_known_layout_still_asks_for_a_header(tmp_path: Path) -> None:
    with pytest.raises(CsvError, match=r"data\.csv:1: no header line"):
        load_csv(write(tmp_path, "02/01/2024,00:05,1,1,1,1,1\n"))
    with pytest.raises(CsvError, match=r"data\.csv:1: missing column\(s\) time, open, high, low"):
        load_csv(write(tmp_path, "x02/01/2024,00:05,1,1,1,1,1\n"))


def test_hostapp_replays_a_histdata_file(tmp_path: Path) -> None:
    """As a user runs it: the file's symbol from its name, the bars in UTC."""
    lines = []
    price = 1.1
    for i in range(600):
        minute = i * 5
        stamp = f"202401{2 + minute // 1440:02d} {minute % 1440 // 60:02d}{minute % 60:02d}00"
        o, c = price, price + (0.0004 if i % 7 < 4 else -0.0003)
        lines.append(f"{stamp};{o:.5f};{max(o, c) + 0.0002:.5f};{min(o, c) - 0.0002:.5f};{c:.5f};0")
        price = c
    write(tmp_path, "\n".join(lines) + "\n", "EURUSD.csv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "DTMS_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", "EURUSD.csv", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["bars"] == 600
    assert summary["symbols"] == ["EURUSD"] and summary["timeframe"] == "M5"
