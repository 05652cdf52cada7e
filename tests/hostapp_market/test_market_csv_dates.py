"""Dates as spreadsheets, MetaTrader and European exports write them (``2024.01.02``,
``02.01.2024``, ``01/02/2024`` day or month first as the file shows, ``0:05``, AM/PM),
ccxt's ``timestamp`` column, pandas' row numbers, and MetaTrader 5's Python API bars
saved with pandas (server time, spread in points). One replay of such a file runs as a
real ``hostapp`` process."""

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_text as write

from hookspecs import Bar, SymbolInfo
from hostapp.market.csvdata import CsvError, load_csv
from hostapp.market.csvdates import DateOrderError, as_iso, date_order
from hostapp.market.csvrows import parse_zone
from hostapp.market.synthetic import generate_bars


@pytest.mark.parametrize(
    ("text", "order", "iso"),
    [
        ("2024.01.02 00:05", None, "2024-01-02 00:05"),
        ("2024/1/2 00:05:30", None, "2024-01-02 00:05:30"),
        ("2024.01.02", None, "2024-01-02"),
        ("02.01.2024 00:05", None, "2024-01-02 00:05"),
        ("02.01.2024 00:05", "mdy", "2024-01-02 00:05"),  # dots: always day first
        ("01/02/2024 00:05", "mdy", "2024-01-02 00:05"),
        ("01/02/2024 00:05", "dmy", "2024-02-01 00:05"),
        ("1-2-2024 0:05", "mdy", "2024-01-02 00:05"),
        ("1/2/2024 9:05:07.250", "mdy", "2024-01-02 09:05:07.250"),
        ("1/2/2024 12:05 AM", "mdy", "2024-01-02 00:05"),
        ("1/2/2024 12:05:00 PM", "mdy", "2024-01-02 12:05:00"),
        ("1/2/2024 1:05pm", "mdy", "2024-01-02 13:05"),
        ("2024.01.02T00:05+02:00", None, "2024-01-02 00:05+02:00"),
        ("2024-01-02 00:05", None, "2024-01-02 00:05"),
        ("2024-1-2 0:05", None, "2024-01-02 00:05"),  # nearly ISO
        ("2024-01-02T0:05+02:00", None, "2024-01-02 00:05+02:00"),
        ("2024-01-02 12:05 PM", None, "2024-01-02 12:05"),
        ("Jan 2 2024", None, "Jan 2 2024"),  # not a known form: ISO 8601 judges it
    ],
)
def test_dates_are_rewritten_as_iso(text: str, order: str | None, iso: str) -> None:
    assert as_iso(text, order) == iso  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["01/02/2024 00:05", "1-2-2024"])
def test_a_day_or_month_first_date_needs_the_files_order(text: str) -> None:
    with pytest.raises(ValueError, match="day or the month"):
        as_iso(text)


def test_a_pm_hour_above_twelve_is_not_a_time() -> None:
    with pytest.raises(ValueError, match="hour 13 with AM/PM"):
        as_iso("1/2/2024 13:05 PM", "mdy")


def test_the_order_comes_from_a_day_above_twelve() -> None:
    us = [(2, "01/12/2024 00:00"), (3, "01/13/2024 00:00"), (4, "02/01/2024 00:00")]
    assert date_order(us) == "mdy"
    eu = [(2, "12/01/2024 00:00"), (3, "13/01/2024 00:00")]
    assert date_order(eu) == "dmy"
    assert date_order([(2, "2024-01-02"), (3, "13/01/2024")]) is None  # ISO first: all ISO
    assert date_order([(2, "02.01.2024")]) is None  # dots: always day first
    assert date_order([]) is None
    with pytest.raises(DateOrderError, match="no date in the file has a day above 12") as e:
        date_order([(2, "01/02/2024 00:00"), (3, "01/03/2024 00:00")])
    assert e.value.line == 2
    with pytest.raises(DateOrderError, match="line 3 has '13/01/2024', day first") as e:
        date_order([(2, "01/12/2024"), (3, "13/01/2024"), (9, "01/14/2024")])
    assert e.value.line == 9


def bars_text(header: str, stamp: str, n: int = 80, sep: str = ",") -> str:
    """``n`` H1 bars from 2024-01-10 22:00 UTC (past midnight, into days above 12),
    times written with the ``stamp`` strftime format."""
    lines = [header]
    start = datetime(2024, 1, 10, 22)
    for i in range(n):
        t = start + timedelta(hours=i)
        p = 2000.0 + i
        lines.append(sep.join([t.strftime(stamp), f"{p}", f"{p + 2}", f"{p - 1}", f"{p + 1}"]))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    "stamp",
    [
        "%Y.%m.%d %H:%M",  # MetaTrader
        "%Y/%m/%d %H:%M:%S",
        "%d.%m.%Y %H:%M",  # European dots
        "%d/%m/%Y %H:%M",  # day first: the 13th tells
        "%m/%d/%Y %H:%M",  # month first (the United States): the 13th tells
        "%m/%d/%Y %I:%M %p",  # with AM/PM
        "%d-%m-%Y %H:%M",
        "%Y-%m-%d %I:%M %p",  # ISO dates, AM/PM times
    ],
)
def test_a_generic_file_in_each_date_form_gives_the_iso_files_bars(
    tmp_path: Path, stamp: str
) -> None:
    iso = load_csv(write(tmp_path, bars_text("time,open,high,low,close", "%Y-%m-%d %H:%M")))
    other = load_csv(write(tmp_path, bars_text("time,open,high,low,close", stamp), "b.csv"))
    assert other == iso
    assert iso[0].time == datetime(2024, 1, 10, 22, tzinfo=UTC)


def test_excel_writes_one_digit_hours(tmp_path: Path) -> None:
    text = "Time,Open,High,Low,Close\n1/13/2024 0:05,2,3,1,2\n1/13/2024 10:05,2,3,1,2\n"
    bars = load_csv(write(tmp_path, text))
    assert [b.time.hour for b in bars] == [0, 10]
    assert bars[0].time == datetime(2024, 1, 13, 0, 5, tzinfo=UTC)


def test_a_data_tz_applies_to_dates_written_another_way(tmp_path: Path) -> None:
    text = bars_text("time,open,high,low,close", "%d.%m.%Y %H:%M", n=2)
    bars = load_csv(write(tmp_path, text), zone=parse_zone("Europe/Athens"))
    assert bars[0].time == datetime(2024, 1, 10, 20, tzinfo=UTC)  # UTC+2 in winter


def test_dates_that_cannot_tell_their_order_name_the_line(tmp_path: Path) -> None:
    short = "time,open,high,low,close\n01/02/2024 00:00,2,3,1,2\n01/02/2024 00:05,2,3,1,2\n"
    with pytest.raises(CsvError, match=r"data\.csv:2: date '01/02/2024 00:00' may be day"):
        load_csv(write(tmp_path, short))
    mixed = "Date,Open,High,Low,Close\n12/01/2024,2,3,1,2\n13/01/2024,2,3,1,2\n01/14/2024,2,3,1,2\n"
    with pytest.raises(CsvError, match=r"data\.csv:4: date '01/14/2024' is month first"):
        load_csv(write(tmp_path, mixed))


def test_a_date_that_is_no_date_names_the_forms(tmp_path: Path) -> None:
    text = "time,open,high,low,close\n2024.01.02 00:00,2,3,1,2\n2024.02.30 00:05,2,3,1,2\n"
    with pytest.raises(CsvError, match=r"data\.csv:3: time '2024.02.30 00:05' is not ISO"):
        load_csv(write(tmp_path, text))


def test_timestamp_is_the_time_column_as_ccxt_names_it(tmp_path: Path) -> None:
    ms = int(datetime(2024, 1, 2, tzinfo=UTC).timestamp() * 1000)
    text = f"timestamp,open,high,low,close,volume\n{ms},2,3,1,2,7\n{ms + 300_000},2,3,1,2,8\n"
    bars = load_csv(write(tmp_path, text))
    assert [b.time.minute for b in bars] == [0, 5] and bars[1].volume == 8.0
    both = "time,timestamp,open,high,low,close\n"
    with pytest.raises(CsvError, match="columns 'time' and 'timestamp' are both the time"):
        load_csv(write(tmp_path, both))


@pytest.mark.parametrize("header", [",timestamp,open,high,low,close", ",Date,Open,High,Low,Close"])
def test_pandas_row_numbers_before_the_time_are_skipped(tmp_path: Path, header: str) -> None:
    text = f"{header}\n0,2024-01-02 00:00,2,3,1,2\n1,2024-01-02 00:05,2,3,1.5,2\n"
    bars = load_csv(write(tmp_path, text))
    assert [(b.time.minute, b.low) for b in bars] == [(0, 1.0), (5, 1.5)]


def rates_text(start: datetime, n: int, row_numbers: bool = False, dates: bool = False) -> str:
    """``pd.DataFrame(mt5.copy_rates_from_pos(...)).to_csv(...)``: the API's field names;
    ``time`` the server's wall clock in epoch seconds (or converted to dates)."""
    head = "time,open,high,low,close,tick_volume,spread,real_volume"
    lines = [("," if row_numbers else "") + head]
    for i in range(n):
        t = start + timedelta(minutes=5 * i)
        stamp = t.strftime("%Y-%m-%d %H:%M:%S") if dates else str(int(t.timestamp()))
        p = 1.10423 + i * 0.0001
        row = f"{stamp},{p:.5f},{p + 0.0003:.5f},{p - 0.0002:.5f},{p + 0.0001:.5f},{50 + i},12,0"
        lines.append((f"{i}," if row_numbers else "") + row)
    return "\n".join(lines) + "\n"


def test_mt5_python_api_bars_are_server_time_with_spreads_in_points(tmp_path: Path) -> None:
    server_noon = datetime(2024, 7, 1, 12, tzinfo=UTC)  # the server's wall clock, as UTC
    path = write(tmp_path, rates_text(server_noon, 3), "EURUSD.csv")
    bars = load_csv(path)
    assert bars[0] == Bar(server_noon, 1.10423, 1.10453, 1.10403, 1.10433, 50.0, 0.00012)
    athens = load_csv(path, zone=parse_zone("Europe/Athens"))
    assert athens[0].time == datetime(2024, 7, 1, 9, tzinfo=UTC)  # UTC+3 in summer
    info = SymbolInfo("EURUSD", 5, 0.00001, 0.01, 0.01, 100_000.0)
    assert load_csv(path, symbol_info=info)[0].spread == pytest.approx(0.00012)
    two = SymbolInfo("EURUSD", 2, 0.01, 0.01, 0.01, 100.0)  # prices show 5 digits: those
    assert load_csv(path, symbol_info=two)[0].spread == pytest.approx(0.00012)
    six = SymbolInfo("EURUSD", 6, 0.000001, 0.01, 0.01, 100_000.0)  # finer than shown
    assert load_csv(path, symbol_info=six)[0].spread == pytest.approx(0.000012)
    with_dates = write(tmp_path, rates_text(server_noon, 3, row_numbers=True, dates=True))
    assert load_csv(with_dates, zone=parse_zone("Europe/Athens")) == athens


def test_mt5_python_api_bars_errors_name_the_line(tmp_path: Path) -> None:
    text = rates_text(datetime(2024, 7, 1, 12, tzinfo=UTC), 3).replace(",12,0\n", ",x,0\n", 2)
    with pytest.raises(CsvError, match=r"data\.csv:2: spread 'x' is not a number"):
        load_csv(write(tmp_path, text))
    missing = "time,open,high,low,tick_volume\n"
    with pytest.raises(CsvError, match=r"data\.csv:1: missing column\(s\) close"):
        load_csv(write(tmp_path, missing))


def test_hostapp_replays_mt5_python_api_bars_in_the_servers_zone(tmp_path: Path) -> None:
    """As a user runs it: bars saved from ``copy_rates`` replayed with the server's zone
    (``--data-tz``); every entry comes three hours (summer) earlier in UTC than the
    server's clock wrote, and the report says the zone."""
    bars = generate_bars("EURUSD", datetime(2024, 7, 1, tzinfo=UTC), 400, seed=3)
    lines = ["time,open,high,low,close,tick_volume,spread,real_volume"]
    for b in bars:
        epoch = int(b.time.timestamp())
        lines.append(f"{epoch},{b.open:.5f},{b.high:.5f},{b.low:.5f},{b.close:.5f},9,12,0")
    write(tmp_path, "\n".join(lines) + "\n", "EURUSD.csv")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "DTMS_"))}
    opened = {}
    for zone in ("UTC", "Europe/Athens"):
        proc = subprocess.run(
            [sys.executable, "-m", "hostapp.cli", "replay", "EURUSD.csv", "--data-tz", zone,
             "--compare", "--jobs", "1", "--report", zone.replace("/", "-")],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert proc.returncode in (0, 3), proc.stderr[-2000:]
        report = tmp_path / zone.replace("/", "-")
        summary = json.loads((report / "summary.json").read_text())
        assert summary["same_entries"]["without"]["data_tz"] == zone
        assert summary["same_entries"]["without"]["symbols"] == ["EURUSD"]
        with (report / "trades.csv").open(newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["run"] == "without"]
        opened[zone] = [datetime.fromisoformat(r["opened_at"]) for r in rows]
    assert opened["UTC"] and len(opened["UTC"]) == len(opened["Europe/Athens"])
    shifts = {a - b for a, b in zip(opened["UTC"], opened["Europe/Athens"], strict=True)}
    assert shifts == {timedelta(hours=3)}


def mt5_export(sep: str, date: str, clock: str, decimal: str = ".") -> str:
    """A MetaTrader history export of EURUSD as a spreadsheet saves it again: its
    separator, its date and time forms, its decimal mark."""
    lines = [sep.join(["<DATE>", "<TIME>", "<OPEN>", "<HIGH>", "<LOW>", "<CLOSE>", "<TICKVOL>"])]
    start = datetime(2024, 1, 10, 22)
    for i in range(80):
        t = start + timedelta(hours=i)
        p = 1.08523 + i * 0.0001
        prices = [f"{x:.5f}".replace(".", decimal) for x in (p, p + 0.0003, p - 0.0002, p)]
        lines.append(sep.join([t.strftime(date), t.strftime(clock), *prices, str(40 + i)]))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("sep", "date", "clock", "decimal"),
    [
        (";", "%d.%m.%Y", "%H:%M:%S", ","),  # German Excel: semicolons, decimal commas
        (",", "%m/%d/%Y", "%H:%M", "."),  # US Excel
        (";", "%d/%m/%Y", "%H:%M", ","),  # French Excel
    ],
)
def test_an_mt5_export_saved_again_by_a_spreadsheet_reads_the_same(
    tmp_path: Path, sep: str, date: str, clock: str, decimal: str
) -> None:
    original = load_csv(write(tmp_path, mt5_export("\t", "%Y.%m.%d", "%H:%M:%S"), "a.csv"))
    saved = load_csv(write(tmp_path, mt5_export(sep, date, clock, decimal), "b.csv"))
    assert saved == original
    assert original[0].open == 1.08523 and original[0].time == datetime(2024, 1, 10, 22, tzinfo=UTC)


def test_decimal_commas_in_a_semicolon_file_points_in_a_comma_file(tmp_path: Path) -> None:
    text = "time;open;high;low;close\n2024-01-02 00:05;1,5;2,25;1,25;2\n"
    assert load_csv(write(tmp_path, text))[0].high == 2.25
    comma_file = "time,open,high,low,close\n2024-01-02 00:05,1.5,2.25,1.25,2\n"
    assert load_csv(write(tmp_path, comma_file, "c.csv"))[0].high == 2.25


def test_points_between_thousands_in_a_decimal_comma_file(tmp_path: Path) -> None:
    """A German spreadsheet's index prices: ``1.821,72`` is 1821.72; a point that does not
    group three digits is no separator, and the number stays refused."""
    text = (
        "time;open;high;low;close\n"
        "19.04.2017 09:00;1.821,72;1.822,74;1.820,41;1.822,72\n"
        "19.04.2017 10:00;1.822,72;12.345,5;999,5;1.000,25\n"
    )
    bars = load_csv(write(tmp_path, text))
    assert [(b.open, b.high, b.low, b.close) for b in bars] == [
        (1821.72, 1822.74, 1820.41, 1822.72),
        (1822.72, 12345.5, 999.5, 1000.25),
    ]
    bad = "time;open;high;low;close\n2024-01-02 00:05;1.82,72;2;1;2\n"
    with pytest.raises(CsvError, match=r"open '1.82,72' is not a number"):
        load_csv(write(tmp_path, bad, "bad.csv"))


def test_the_hour_a_clock_change_back_repeats_is_read_in_order(tmp_path: Path) -> None:
    """An MT5 export in Athens time across the last Sunday of October 2024: 03:00 to
    03:55 come twice (EEST, then EET); the second pass is the later hour, not a step
    back, and the bars are 5 minutes apart in UTC throughout."""
    start = datetime(2024, 10, 26, 23, 0, tzinfo=UTC)  # 02:00 Athens summer time
    athens = parse_zone("Europe/Athens")
    lines = ["<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>"]
    for i in range(48):  # four hours of M5 bars
        local = (start + timedelta(minutes=5 * i)).astimezone(athens)
        o = 2.5 + i / 100  # each bar its own: a row repeated exactly would be dropped
        lines.append(f"{local:%Y.%m.%d}\t{local:%H:%M:%S}\t{o}\t{o + 0.5}\t{o - 0.5}\t{o}\t7")
    assert sum(1 for ln in lines if "\t03:00:00\t" in ln) == 2  # the repeated hour
    bars = load_csv(write(tmp_path, "\n".join(lines) + "\n"), zone=athens)
    assert [b.time for b in bars] == [start + timedelta(minutes=5 * i) for i in range(48)]
    with pytest.raises(CsvError, match="a clock that repeats this hour"):  # UTC: no second hour
        load_csv(write(tmp_path, "\n".join(lines) + "\n", "b.csv"))


def test_histdatas_metatrader_layout_is_eastern_standard_time(tmp_path: Path) -> None:
    """HistData writes every file in EST (UTC-5 all year), its MetaTrader layout too: a
    ``DAT_MT_…`` file's 19:00 of the 1st is midnight UTC of the 2nd."""
    text = (
        "2024.01.01,19:00,1.085,1.086,1.084,1.0855,0\n2024.01.01,19:01,1.085,1.086,1.084,1.0855,0\n"
    )
    bars = load_csv(write(tmp_path, text, "DAT_MT_EURUSD_M1_2024.csv"))
    assert bars[0].time == datetime(2024, 1, 2, 0, 0, tzinfo=UTC)
    assert load_csv(write(tmp_path, text, "EURUSD.csv"))[0].time.hour == 19  # an MT4 file


def test_quoted_values_after_a_space_are_read(tmp_path: Path) -> None:
    """``a, "1.0850"``: a space after the comma, then a quoted number, as some tools
    write; the quotes are the CSV's, not part of the value."""
    text = 'time, open, high, low, close\n2024-01-02 00:05, "1.0850", "1.086", "1.084", "1.0855"\n'
    (bar,) = load_csv(write(tmp_path, text))
    assert (bar.open, bar.close) == (1.085, 1.0855)
