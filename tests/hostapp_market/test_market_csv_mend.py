"""Real files have blemishes that need not refuse them: Yahoo's ``null`` rows, a row
repeated exactly, a last line cut off, a file newest first, an empty volume cell. Each
is mended and counted in a note naming the first lines; a repeated time with other
values, an empty price and a short line inside the file stay errors naming the line."""

import json
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp
from hostapp_loop.csvfiles import write_text

from hostapp.market.csvdata import CsvError, load_csv
from hostapp.market.synthetic import generate_bars

HEADER = "time,open,high,low,close,volume\n"
YAHOO = "Date,Open,High,Low,Close,Adj Close,Volume\n"


def rows(n: int, *, start: int = 0) -> list[str]:
    """``n`` good generic rows, one an hour from 2024-01-02 00:00."""
    return [
        f"2024-01-{2 + (start + i) // 24:02d} {(start + i) % 24:02d}:00,1.1,1.2,1.0,1.15,{i + 1}\n"
        for i in range(n)
    ]


def load(tmp_path: Path, text: str) -> tuple[int, list[str]]:
    notes: list[str] = []
    bars = load_csv(write_text(tmp_path, text), notes=notes)
    return len(bars), [n.split(": ", 1)[1] for n in notes]


def test_yahoo_null_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    lines = [
        "2006-08-10,1.1,1.2,1.0,1.15,1.15,100\n",
        "2006-08-11,1.1,1.2,1.0,1.15,1.15,100\n",
        "2006-08-12,null,null,null,null,null,null\n",
        "2006-08-14,1.1,1.2,1.0,1.15,1.15,100\n",
        "2006-08-15,null,null,null,null,null,null\n",
    ]
    assert load(tmp_path, YAHOO + "".join(lines)) == (
        3,
        ["skipped 2 rows of null prices (lines 4, 6)"],
    )


def test_a_row_with_one_null_price_stays_an_error(tmp_path: Path) -> None:
    text = YAHOO + "2006-08-10,1.1,1.2,null,1.15,1.15,100\n2006-08-11,1.1,1.2,1.0,1.15,1.15,1\n"
    with pytest.raises(CsvError, match=r"data\.csv:2: low 'null' is not a number"):
        load_csv(write_text(tmp_path, text))


def test_exact_repeats_are_dropped_other_values_at_one_time_are_refused(tmp_path: Path) -> None:
    good = rows(6)
    text = HEADER + "".join([*good[:3], good[2], *good[3:5], good[4], good[4], *good[5:]])
    assert load(tmp_path, text) == (
        6,
        ["dropped 3 rows repeating the row before exactly (lines 5, 8, 9)"],
    )
    other = good[2].replace(",3\n", ",4\n")
    with pytest.raises(CsvError, match=r"data\.csv:5: duplicate time .*, also on line 4 with"):
        load_csv(write_text(tmp_path, HEADER + "".join([*good[:3], other, *good[3:]])))


def test_a_cut_off_last_line_is_dropped_a_short_line_inside_is_refused(tmp_path: Path) -> None:
    good = rows(4)
    assert load(tmp_path, HEADER + "".join(good) + "2024-01-02 04:00,1.1,1.2") == (
        4,
        ["dropped the cut-off last line (line 6)"],
    )
    with pytest.raises(CsvError, match=r"data\.csv:4: missing value for low"):
        short = "2024-01-02 02:00,1.1,1.2\n"
        load_csv(write_text(tmp_path, HEADER + "".join([*good[:2], short, good[3]])))


def test_a_newest_first_file_is_read_reversed(tmp_path: Path) -> None:
    good = rows(5)
    count, notes = load(tmp_path, HEADER + "".join(reversed(good)))
    assert (count, notes) == (
        5,
        ["read newest first (line 2 to line 6) and reversed to oldest first"],
    )
    bars = load_csv(write_text(tmp_path, HEADER + "".join(reversed(good))))
    assert bars == load_csv(write_text(tmp_path, HEADER + "".join(good), "sorted.csv"))
    mixed = [good[4], good[3], good[1], good[2], good[0]]  # newest first but for one swap
    swap = r"data\.csv:5: time .* is after the previous line's .* in a file written newest first"
    with pytest.raises(CsvError, match=swap):  # the swap's lines 4 and 5, not line 3
        load_csv(write_text(tmp_path, HEADER + "".join(mixed)))


def test_a_newest_first_metatrader4_file_is_reversed_too(tmp_path: Path) -> None:
    text = "2024.01.02,00:10,1,1,1,1,1\n2024.01.02,00:05,1,1,1,1,1\n2024.01.02,00:00,1,1,1,1,1\n"
    count, notes = load(tmp_path, text)
    assert (count, notes[0]) == (
        3,
        "read newest first (line 1 to line 3) and reversed to oldest first",
    )
    assert notes[1:] == [  # and, read without a zone, in UTC: not the server's clock
        "MetaTrader 4's History Center export, its times read as UTC, not the trade server's "
        "clock they are written on (often UTC+2 or UTC+3); --data-tz (or [host] data_tz) "
        "names the server's zone (Europe/Athens, America/New_York+7)"
    ]


def test_an_empty_volume_cell_is_no_volume_an_empty_price_an_error(tmp_path: Path) -> None:
    good = rows(4)
    empty = good[1].rsplit(",", 1)[0] + ",\n"
    count, notes = load(tmp_path, HEADER + "".join([good[0], empty, *good[2:]]))
    assert (count, notes) == (4, ["read 1 bar with an empty volume cell as no volume (line 3)"])
    no_high = good[1].replace("1.2,", ",", 1)
    with pytest.raises(CsvError, match=r"data\.csv:3: missing value for high"):
        load_csv(write_text(tmp_path, HEADER + "".join([good[0], no_high, *good[2:]])))


def test_an_empty_volume_cell_of_a_newest_first_file_is_counted_once(tmp_path: Path) -> None:
    """The first pass reads the file as written until the times go back; the reversed
    pass then reads it all: a row counted by both is one row."""
    newest_first = list(reversed(rows(3)))
    newest_first[0] = newest_first[0].rsplit(",", 1)[0] + ",\n"  # line 2: no volume
    count, notes = load(tmp_path, HEADER + "".join(newest_first))
    assert count == 3
    assert "read 1 bar with an empty volume cell as no volume (line 2)" in notes, notes


def test_the_replay_says_what_it_mended(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    bars = generate_bars("EURUSD", datetime(2024, 3, 4, tzinfo=UTC), 400, timeframe="H1", seed=2)
    lines = [
        f"{b.time:%Y-%m-%d %H:%M},{b.open},{b.high},{b.low},{b.close},{b.volume}\n" for b in bars
    ]
    lines.insert(10, lines[9])
    (tmp_path / "EURUSD.csv").write_text(HEADER + "".join(reversed(lines)))
    proc = hostapp(tmp_path, "replay", "EURUSD.csv", "--json", "--report", "out")
    assert proc.returncode == 0, proc.stderr[-2000:]
    notes = json.loads(proc.stdout)["host_notes"]
    assert "EURUSD.csv: dropped 1 row repeating the row before exactly (line 393)" in notes
    assert (
        "EURUSD.csv: read newest first (line 2 to line 402) and reversed to oldest first" in notes
    )
    human = hostapp(tmp_path, "replay", "EURUSD.csv", "--report", "out2")
    assert human.returncode == 0, human.stderr[-2000:]
    assert "reversed to oldest first" in human.stdout + human.stderr
