"""Real layouts read besides the README's first ones: CryptoDataDownload's (a web address
first, ``unix,date,symbol,…``, newest first, ``Volume BTC`` and ``Volume USDT``),
Gemini's ``Unix Timestamp``, Bitstamp's ``Volume_(BTC)``, Finam's and Stooq's MetaStock
``<TICKER>,<PER>,<DATE>,<TIME>,…``, Excel's ``sep=,`` line and MetaTrader 4 scripts' date
and time in one cell. Tick files are refused as tick data, saying how to export bars,
and a layout not read names the ones that are. One CryptoDataDownload file replays
through the real ``hostapp`` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_text as write

from hostapp.market.csvdata import CsvError, load_csv
from hostapp.market.csvrows import parse_zone


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, minute, tzinfo=UTC)


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


CDD_HEADER = "unix,date,symbol,open,high,low,close,Volume BTC,Volume USDT,tradecount\n"


def cdd_rows(hours: int) -> str:
    """CryptoDataDownload's rows, newest first as it writes them."""
    rows = []
    for h in reversed(range(hours)):
        t = at(2) + timedelta(hours=h)
        rows.append(
            f"{ms(t)},{t:%Y-%m-%d %H:%M:%S},BTC/USDT,{42000 + h},{42010 + h},{41990 + h},"
            f"{42005 + h},{1.5 + h},{63000.0 + h},{100 + h}\n"
        )
    return "".join(rows)


def test_cryptodatadownload_reads_the_unix_time_and_the_base_volume(tmp_path: Path) -> None:
    text = "https://www.CryptoDataDownload.com\n" + CDD_HEADER + cdd_rows(3)
    left_out: list[str] = []
    notes: list[str] = []
    bars = load_csv(write(tmp_path, text), left_out=left_out, notes=notes)
    assert [b.time for b in bars] == [at(2, 0), at(2, 1), at(2, 2)]
    assert [b.close for b in bars] == [42005, 42006, 42007]
    assert [b.volume for b in bars] == [1.5, 2.5, 3.5]  # Volume BTC, not Volume USDT
    assert left_out == ["date", "symbol", "Volume USDT", "tradecount"]
    said = " ".join(notes)
    assert "the volume is column 'Volume BTC'" in said
    assert "reversed to oldest first" in said


def test_cryptodatadownload_without_its_address_line_reads_the_same(tmp_path: Path) -> None:
    with_url = write(tmp_path, "https://www.CryptoDataDownload.com\n" + CDD_HEADER + cdd_rows(3))
    without = write(tmp_path, CDD_HEADER + cdd_rows(3), "plain.csv")
    assert load_csv(with_url) == load_csv(without)


def test_cryptodatadownload_older_layout_with_its_note_and_hours_am_pm(tmp_path: Path) -> None:
    """Its older files open with a note before the web address and write the hour alone
    (``09-AM``): it was refused as a header missing its columns, the note's line quoted."""
    text = (
        "Timestamps are UTC timezone,https://www.CryptoDataDownload.com\n"
        "date,symbol,open,high,low,close,volume_btc,volume\n"
        "2019-10-17 01-PM,BTCUSD,8060,8070,8050,8065,3.5,28227.5\n"
        "2019-10-17 12-PM,BTCUSD,8051,8066,8040,8060,2.5,20150\n"
        "2019-10-17 11-AM,BTCUSD,8035.88,8056.83,8021.23,8051,61.25,492394.56\n"
    )
    midnight = text.replace("2019-10-17 12-PM", "2019-10-17 12-AM", 1)
    bars = load_csv(write(tmp_path, text))
    hours = datetime(2019, 10, 17, 11, tzinfo=UTC), datetime(2019, 10, 17, 12, tzinfo=UTC)
    assert [b.time for b in bars] == [*hours, datetime(2019, 10, 17, 13, tzinfo=UTC)]
    assert bars[0].close == 8051
    with pytest.raises(CsvError, match=r"data\.csv:4: time 2019-10-17T00:00:00\+00:00 is "):
        load_csv(write(tmp_path, midnight))  # 12 AM is midnight: out of place there


def test_cryptocompare_volumefrom_is_the_base_volume(tmp_path: Path) -> None:
    """Bitfinex's hourly history keeps CryptoCompare's names: ``VolumeFrom`` is the base
    asset's volume (BTC of BTC/USD), ``VolumeTo`` the quote's. Neither was read: the bars
    had no volume, and DTMS's volume signal none to read."""
    text = (
        "Date,Symbol,Open,High,Low,Close,VolumeFrom,VolumeTo\n"
        "2019-07-04 01:00,BTCUSD,11849.99,11880.0,11790.01,11849.69,303.61,3589525.18\n"
        "2019-07-04 00:00,BTCUSD,11976.42,12064.26,11812.01,11849.99,1627.53,19416056.06\n"
    )
    path = write(tmp_path, text)
    left_out: list[str] = []
    notes: list[str] = []
    bars = load_csv(path, left_out=left_out, notes=notes)
    assert [b.volume for b in bars] == [1627.53, 303.61]
    assert left_out == ["Symbol", "VolumeTo"]
    assert (
        f"{path}: the volume is column 'VolumeFrom' (no column is named volume: CryptoCompare's "
        "volume of the base asset; its VolumeTo is the quote's)"
    ) in notes


def test_gemini_unix_timestamp_is_the_time_over_its_date_text(tmp_path: Path) -> None:
    text = (
        "Unix Timestamp,Date,Symbol,Open,High,Low,Close,Volume\n"
        f"{ms(at(2, 1))},2024-01-02 01:00:00,BTCUSD,42001,42011,41991,42006,2.5\n"
        f"{ms(at(2, 0))},2024-01-02 00:00:00,BTCUSD,42000,42010,41990,42005,1.5\n"
    )
    bars = load_csv(write(tmp_path, text))
    assert [(b.time, b.volume) for b in bars] == [(at(2, 0), 1.5), (at(2, 1), 2.5)]


def test_bitstamp_volume_of_the_base_asset_is_the_volume(tmp_path: Path) -> None:
    text = (
        "Timestamp,Open,High,Low,Close,Volume_(BTC),Volume_(Currency),Weighted_Price\n"
        "1704067200,42000.0,42013.39,41976.89,42011.78,3.303,138764.91,42005.89\n"
        "1704067260,42011.78,42018.04,41889.04,41902.06,0.645,27026.83,41956.92\n"
    )
    left_out: list[str] = []
    notes: list[str] = []
    bars = load_csv(write(tmp_path, text), left_out=left_out, notes=notes)
    assert [b.volume for b in bars] == [3.303, 0.645]
    assert left_out == ["Volume_(Currency)", "Weighted_Price"]
    assert any("the volume is column 'Volume_(BTC)'" in n for n in notes)


def test_a_date_first_file_reads_its_asset_volume_too(tmp_path: Path) -> None:
    text = (
        "date,symbol,open,high,low,close,Volume BTC,Volume USDT\n"
        "2024-01-02 00:00:00,BTC/USDT,42000,42010,41990,42005,1.5,63000\n"
        "2024-01-02 01:00:00,BTC/USDT,42001,42011,41991,42006,2.5,105000\n"
    )
    assert [b.volume for b in load_csv(write(tmp_path, text))] == [1.5, 2.5]


def test_a_plain_volume_wins_and_a_moving_average_is_no_volume(tmp_path: Path) -> None:
    text = (
        "time,open,high,low,close,Volume MA,volume,Volume USDT\n"
        "2024-01-02 00:00,1.1,1.2,1.0,1.15,50,7,70\n"
    )
    notes: list[str] = []
    assert load_csv(write(tmp_path, text), notes=notes)[0].volume == 7
    assert notes == []
    only_ma = "time,open,high,low,close,Volume MA\n2024-01-02 00:00,1.1,1.2,1.0,1.15,50\n"
    assert load_csv(write(tmp_path, only_ma, "ma.csv"))[0].volume == 0


def test_finam_metastock_layout_in_the_data_zone(tmp_path: Path) -> None:
    text = (
        "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>\n"
        "SBER,60,20240103,100000,271.9,273.5,271.5,273.0,1000\n"
        "SBER,60,20240103,110000,273.0,274.5,272.5,274.0,1200\n"
    )
    left_out: list[str] = []
    bars = load_csv(write(tmp_path, text), zone=parse_zone("+03:00"), left_out=left_out)
    assert [b.time for b in bars] == [at(3, 7), at(3, 8)]
    assert [(b.open, b.close, b.volume) for b in bars] == [
        (271.9, 273.0, 1000),
        (273.0, 274.0, 1200),
    ]
    assert left_out == []


def test_stooq_daily_metastock_with_short_times_and_open_interest(tmp_path: Path) -> None:
    text = (
        "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,<OPENINT>\n"
        "XAUUSD,D,20240102,000000,2063.0,2079.0,2057.0,2071.0,0,0\n"
        "XAUUSD,D,240103,0,2071.0,2072.0,2031.0,2042.0,0,0\n"
    )
    assert [b.time for b in load_csv(write(tmp_path, text))] == [at(2), at(3)]


def test_metastock_bad_time_names_the_line(tmp_path: Path) -> None:
    text = (
        "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>\n"
        "SBER,60,20240103,1000000,271.9,273.5,271.5,273.0,1000\n"
    )
    with pytest.raises(CsvError, match=r":2: date/time '20240103' '1000000' is not"):
        load_csv(write(tmp_path, text))


@pytest.mark.parametrize("sep", [",", ";"])
def test_excel_sep_line_names_the_delimiter(tmp_path: Path, sep: str) -> None:
    rows = [
        "time,open,high,low,close,volume",
        "2024-01-02 00:00:00,1.1,1.2,1.0,1.15,5",
        "2024-01-02 01:00:00,1.15,1.25,1.1,1.2,6",
    ]
    text = f"sep={sep}\n" + "\n".join(r.replace(",", sep) for r in rows) + "\n"
    bars = load_csv(write(tmp_path, text))
    assert [(b.time, b.close) for b in bars] == [(at(2, 0), 1.15), (at(2, 1), 1.2)]


def test_an_error_after_a_sep_line_names_the_files_own_line(tmp_path: Path) -> None:
    text = "sep=,\ntime,open,high,low,close\n2024-01-02 00:00,1.1,x,1.0,1.15\n"
    with pytest.raises(CsvError, match=r":3: high 'x' is not a number"):
        load_csv(write(tmp_path, text))


def test_metatrader4_script_date_and_time_in_one_cell(tmp_path: Path) -> None:
    text = (
        "2024.01.02 00:00,1.10000,1.10063,1.09810,1.09957,1101\n"
        "2024.01.02 01:00,1.09957,1.10122,1.09917,1.10023,1704\n"
    )
    bars = load_csv(write(tmp_path, text), zone=parse_zone("+02:00"))
    assert [(b.time, b.volume) for b in bars] == [
        (datetime(2024, 1, 1, 22, tzinfo=UTC), 1101),
        (datetime(2024, 1, 1, 23, tzinfo=UTC), 1704),
    ]


@pytest.mark.parametrize(
    ("text", "whose", "how"),
    [
        (
            "<DATE>\t<TIME>\t<BID>\t<ASK>\t<LAST>\t<VOLUME>\t<FLAGS>\n"
            "2024.01.02\t00:00:00.123\t1.10410\t1.10420\t\t\t6\n",
            "MetaTrader 5's tick data",
            "Export Bars",
        ),
        (
            "Gmt time,Ask,Bid,AskVolume,BidVolume\n02.01.2024 00:00:00.123,1.1042,1.1041,1.5,1.2\n",
            "Dukascopy's tick data",
            "download candles instead",
        ),
        ("20240102 000000123,1.104100,1.104200,0\n", "HistData.com's tick data", "M1 files"),
        ("time,bid,ask\n2024-01-02 00:00:00.1,1.1041,1.1042\n", "tick data", "export bars"),
    ],
)
def test_tick_files_are_refused_as_ticks(tmp_path: Path, text: str, whose: str, how: str) -> None:
    with pytest.raises(CsvError) as info:
        load_csv(write(tmp_path, text))
    assert info.value.line == 1
    assert info.value.reason.startswith(f"{whose} (bid/ask quotes), not bars")
    assert how in info.value.reason


@pytest.mark.parametrize(
    "text",
    [
        "when,o,h,l,c\n2024-01-02,1,1,1,1\n",
        "2024-01-02;1;1;1;1\n",
    ],
)
def test_a_layout_not_read_names_the_ones_that_are(tmp_path: Path, text: str) -> None:
    with pytest.raises(CsvError) as info:
        load_csv(write(tmp_path, text))
    assert "the layouts read are" in info.value.reason
    assert "CryptoDataDownload" in info.value.reason and "MetaStock" in info.value.reason


def test_hostapp_replays_a_cryptodatadownload_file(tmp_path: Path) -> None:
    """As a user runs it: the file as downloaded, its volume read and said."""
    write(
        tmp_path,
        "https://www.CryptoDataDownload.com\n" + CDD_HEADER + cdd_rows(24 * 5),
        "Binance_BTCUSDT_1h.csv",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "DTMS_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", "Binance_BTCUSDT_1h.csv", "--json"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["bars"] == 120 and summary["timeframe"] == "H1"
    notes = " ".join(summary["host_notes"])
    assert "the volume is column 'Volume BTC'" in notes
