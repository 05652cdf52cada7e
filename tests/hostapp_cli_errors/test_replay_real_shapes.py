"""Real files' shapes through the real ``hostapp replay`` and ``[host] data``: pandas' row
numbers before a ``Date`` column (ETHUSDT_a.csv was "cannot tell the timeframe (bar gaps
in seconds [1])", and with ``--timeframe M5`` traded its row numbers as M5 bars of
1970), ``--timeframe`` naming the spacing of bars whose gaps say another, a file of
several symbols, and MetaTrader 4's clock said under the shipped plugins.toml (its
``data_tz = "UTC"`` counted as the user's word, so the note never showed)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hostapp_cli_errors.test_run_replay_errors import hostapp, one_error_line
from hostapp_loop.csvfiles import write_text
from hostapp_loop.replay_cli import ROOT

from hostapp.config import load_config
from hostapp.data import config_series
from hostapp.market.synthetic import generate_bars

START = datetime(2024, 3, 4, tzinfo=UTC)
BARS = generate_bars("ETHUSDT", START, 400, timeframe="M5", seed=5)


def ethusdt_a(folder: Path) -> Path:
    """ETHUSDT_a.csv's columns: row numbers, two times (one at +03:30), an amount."""
    rows = [",TimeOfCandle,Amount,Date,Open,High,Low,Close,Volume"]
    for i, b in enumerate(BARS):
        local = (b.time + timedelta(hours=3, minutes=30)).replace(tzinfo=None)
        rows.append(
            f"{i},{local:%Y-%m-%dT%H:%M:%S}+03:30,1000.5,{local:%Y-%m-%d %H:%M:%S}+03:30,"
            f"{b.open},{b.high},{b.low},{b.close},{b.volume}"
        )
    return write_text(folder, "\n".join(rows) + "\n", "ETHUSDT_a.csv")


def test_row_numbers_then_a_date_column_replay_on_the_dates(tmp_path: Path) -> None:
    data = ethusdt_a(tmp_path)
    proc = hostapp(tmp_path, "replay", data.name, "--symbol", "ETHUSDT", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["base_timeframe"] == "M5" and summary["bars"] == len(BARS)
    assert f"{data.name}: the time is column 'Date' (no column is named time; " in "".join(
        summary["host_notes"]
    )


def test_timeframe_does_not_relabel_bars_a_second_apart(tmp_path: Path) -> None:
    rows = ["time,open,high,low,close"] + [
        f"{START + timedelta(seconds=i):%Y-%m-%d %H:%M:%S},1,1.1,0.9,1" for i in range(300)
    ]
    write_text(tmp_path, "\n".join(rows) + "\n", "ticks.csv")
    line = one_error_line(hostapp(tmp_path, "replay", "ticks.csv", "--timeframe", "M5"))
    assert line == (
        "hostapp: --timeframe M5: ticks.csv has bars 1 s apart (its most common gap; gaps "
        "in seconds [1]), which are no M5 bars; the timeframe names the file's spacing only "
        "when its gaps are M5 or whole multiples of it"
    )


def test_row_numbers_read_as_times_are_refused_not_traded(tmp_path: Path) -> None:
    rows = [",Open,High,Low,Close"] + [f"{i},1,1.1,0.9,1" for i in range(300)]
    write_text(tmp_path, "\n".join(rows) + "\n", "rows.csv")
    for extra in ((), ("--timeframe", "M5")):
        line = one_error_line(hostapp(tmp_path, "replay", "rows.csv", *extra))
        assert line.startswith("hostapp: rows.csv:2: the times read as 1970-01-01 00:00:00, ")


def two_tickers(folder: Path) -> Path:
    """bokeh's stocks.csv layout: each ticker's days in a block of its own."""
    rows = ["Ticker,Date,Open,High,Low,Close,Volume,Adj Close"]
    for ticker, seed in (("AAPL", 1), ("MSFT", 2)):
        for b in generate_bars(ticker, START, 300, timeframe="D1", seed=seed):
            rows.append(f"{ticker},{b.time:%Y-%m-%d},{b.open},{b.high},{b.low},{b.close},9,1")
    return write_text(folder, "\n".join(rows) + "\n", "stocks.csv")


def test_a_file_of_several_symbols_replays_the_one_named(tmp_path: Path) -> None:
    two_tickers(tmp_path)
    line = one_error_line(hostapp(tmp_path, "replay", "stocks.csv"))
    assert line.startswith(
        "hostapp: stocks.csv:1: the file holds 2 symbols in column 'Ticker' (AAPL, MSFT), and "
        "'stocks', the symbol it is read as, is none of them"
    )
    proc = hostapp(tmp_path, "replay", "stocks.csv", "--symbol", "MSFT", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["symbols"] == ["MSFT"] and summary["bars"] == 300
    assert any("the 300 rows of MSFT were read" in n for n in summary["host_notes"])


def test_host_data_reads_one_file_for_each_of_its_symbols(tmp_path: Path) -> None:
    """Two symbols of ``[host] data`` on one file each get their own rows (the files were
    read once per file, so both symbols would have traded the last one's)."""
    two_tickers(tmp_path)
    toml = '[host]\ndata = { AAPL = "stocks.csv", MSFT = "stocks.csv" }\n'
    (tmp_path / "plugins.toml").write_text(toml)
    series, base = config_series(load_config(tmp_path / "plugins.toml"), days=None, seed=0)
    aapl = generate_bars("AAPL", START, 300, timeframe="D1", seed=1)
    msft = generate_bars("MSFT", START, 300, timeframe="D1", seed=2)
    assert base == "D1"
    assert [b.close for b in series["AAPL"]] == [b.close for b in aapl]
    assert [b.close for b in series["MSFT"]] == [b.close for b in msft]


def test_the_shipped_configuration_says_metatrader_4s_clock(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    lines = [
        f"{b.time:%Y.%m.%d,%H:%M},{b.open},{b.high},{b.low},{b.close},10"
        for b in generate_bars("EURUSD", START, 400, timeframe="H1", seed=3)
    ]
    write_text(tmp_path, "\n".join(lines) + "\n", "EURUSD60.csv")
    proc = hostapp(tmp_path, "replay", "EURUSD60.csv", "--json", "--report", "shipped")
    assert proc.returncode == 0, proc.stderr[-2000:]
    said = "EURUSD60.csv: MetaTrader 4's History Center export, its times read as UTC"
    assert any(n.startswith(said) for n in json.loads(proc.stdout)["host_notes"])
    told = hostapp(tmp_path, "replay", "EURUSD60.csv", "--data-tz", "UTC", "--json")
    assert told.returncode == 0, told.stderr[-2000:]
    assert not any(n.startswith(said) for n in json.loads(told.stdout)["host_notes"])
