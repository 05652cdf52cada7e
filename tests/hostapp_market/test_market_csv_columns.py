"""Columns a bar file has that the reader does not use (exchange downloads' ``amount``,
``adjClose``, TradingView's ``Volume MA``) are left out, not refused, and the run says
once which; a column a letter off a known name that is missing is still refused, and a
file without a close (Investing.com's ``Price``) says what is missing."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp
from hostapp_loop.csvfiles import write_text as write

from hookspecs import Bar
from hostapp.config import load_config
from hostapp.data import config_series
from hostapp.market.csvdata import CsvError, left_out_note, load_csv
from hostapp.market.synthetic import generate_bars
from hostapp.report import summary_table

ROW = "2024-01-02 00:00,2062.5,2063.1,2061.8,2062.9,812"
BAR = Bar(datetime(2024, 1, 2, tzinfo=UTC), 2062.5, 2063.1, 2061.8, 2062.9, 812.0, 0.0)


@pytest.mark.parametrize(
    ("header", "extra", "left_out"),
    [
        (
            "time,open,high,low,close,volume,amount,adjClose",
            ",1.7e6,2062.9",
            ["amount", "adjClose"],
        ),
        ("time,open,high,low,close,Volume,Volume MA", ",640.5", ["Volume MA"]),  # TradingView
        ("Date,Open,High,Low,Close,Volume,Adj Close,amount", ",2062.9,5", ["amount"]),  # pandas
        # the same adjusted close spelled as stockstats' and Tiingo's files spell it: left
        # out and named, not refused as a slip of 'adj close'
        ("date,Open,High,Low,Close,Volume,adjClose", ",5.27", ["adjClose"]),
        ("Date,Open,High,Low,Close,Volume,adj_close", ",5.27", ["adj_close"]),
        ("Date,Open,High,Low,Close,Volume,AdjClose", ",5.27", ["AdjClose"]),
        ("time,open,high,low,close,volume,", ",", []),  # a trailing comma: no name to say
        ("Gmt time,Open,High,Low,Close,Volume,Ticks", ",44", ["Ticks"]),
    ],
)
def test_columns_the_reader_does_not_use_are_left_out(
    tmp_path: Path, header: str, extra: str, left_out: list[str]
) -> None:
    row = ROW if not header.startswith("Gmt") else "02.01.2024 00:00:00.000" + ROW[16:]
    names: list[str] = []
    bars = load_csv(write(tmp_path, f"{header}\n{row}{extra}\n"), left_out=names)
    assert bars == [BAR]
    assert names == left_out


def test_metatrader_exports_leave_out_other_columns_too(tmp_path: Path) -> None:
    text = (
        "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<MEMO>\n"
        "2024.01.02\t00:00:00\t2062.50\t2063.10\t2061.80\t2062.90\t812\tx\n"
    )
    names: list[str] = []
    assert load_csv(write(tmp_path, text), left_out=names) == [BAR]
    assert names == ["<MEMO>"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "time,open,high,low,close,volumne",
            "column 'volumne' is one letter off 'volume': name it volume, or another name "
            "to leave it out",
        ),
        ("time,open,high,low,clsoe,volume", "column 'clsoe' is one letter off 'close'"),
        ("Date,Open,Hihg,Low,Close,Volume", "column 'Hihg' is one letter off 'high'"),
        ("timestmp,open,high,low,close,volume", "column 'timestmp' is one letter off 'timestamp'"),
        (  # a slip, not another spelling: still refused
            "Date,Open,High,Low,Close,Volume,Adj Clsoe",
            "column 'Adj Clsoe' is one letter off 'adj close'",
        ),
    ],
)
def test_a_column_one_letter_off_a_missing_one_is_refused(
    tmp_path: Path, header: str, message: str
) -> None:
    p = write(tmp_path, f"{header}\n{ROW}\n")
    with pytest.raises(CsvError) as info:
        load_csv(p)
    assert str(info.value).startswith(f"{p}:1: {message}")


def test_a_column_near_a_name_that_is_there_is_left_out(tmp_path: Path) -> None:
    names: list[str] = []
    text = f"time,open,high,low,close,volume,volumes\n{ROW},3\n"
    assert load_csv(write(tmp_path, text), left_out=names) == [BAR]
    assert names == ["volumes"]


def test_investing_coms_export_says_its_close_is_missing(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        '"Date","Price","Open","High","Low","Vol.","Change %"\n'
        '"01/02/2024","2,063.50","2,071.80","2,078.20","2,058.60","212.35K","-0.19%"\n',
    )
    with pytest.raises(CsvError) as info:
        load_csv(p)
    assert str(info.value) == (
        f"{p}:1: missing column(s) close in header 'Date,Price,Open,High,Low,Vol.,Change %'; "
        "if 'Price' is the close, name it close"
    )


def test_the_note_names_each_files_columns_once() -> None:
    assert left_out_note({"a.csv": [], "b.csv": []}) is None
    assert left_out_note({"XAUUSD.csv": ["amount", "adjClose"]}) == (
        "XAUUSD.csv: columns left out: amount, adjClose"
    )
    assert left_out_note({"m1.csv": ["trades"], "m2.csv": ["trades"], "x.csv": ["id"]}) == (
        "m1.csv, m2.csv: columns left out: trades; x.csv: columns left out: id"
    )


def extra_columns_csv(path: Path) -> Path:
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 600, seed=3)
    lines = ["time,open,high,low,close,volume,amount,adjClose"] + [
        f"{b.time:%Y-%m-%d %H:%M},{b.open},{b.high},{b.low},{b.close},{b.volume},1,{b.close}"
        for b in bars
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_replay_says_which_columns_it_left_out(tmp_path: Path) -> None:
    extra_columns_csv(tmp_path / "XAUUSD.csv")
    proc = hostapp(tmp_path, "replay", "XAUUSD.csv", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    left_out = [n for n in summary["host_notes"] if "columns left out" in n]
    assert left_out == ["XAUUSD.csv: columns left out: amount, adjClose"]
    assert "note: XAUUSD.csv: columns left out: amount, adjClose" in summary_table(summary)
    proc = hostapp(tmp_path, "replay", "XAUUSD.csv", "--compare", "--jobs", "1", "--report", "ab")
    assert proc.returncode in (0, 3), proc.stderr[-2000:]
    assert proc.stdout.count("note: XAUUSD.csv: columns left out: amount, adjClose") == 1


def test_a_run_on_the_configured_files_says_it_too(tmp_path: Path) -> None:
    extra_columns_csv(tmp_path / "gold.csv")
    (tmp_path / "plugins.toml").write_text('[host]\ndata = { XAUUSD = "gold.csv" }\n')
    notes: list[str] = []
    series, base = config_series(
        load_config(tmp_path / "plugins.toml"), days=None, seed=0, notes=notes
    )
    assert base == "M5" and len(series["XAUUSD"]) == 600
    assert notes == [f"{tmp_path / 'gold.csv'}: columns left out: amount, adjClose"]
