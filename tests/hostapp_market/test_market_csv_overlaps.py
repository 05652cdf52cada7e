"""Two overlapping exports pasted together repeat a block of rows further down the file.
Only a row repeating the row just before it was dropped: such a file was refused as
unsorted ("time … is before the previous line's …"), although the README says these
rows are dropped. A row whose time and values are an earlier row's exactly is now
dropped and counted with its lines; one going back to a time already read with other
values is refused naming both lines; one going back to a time never read stays the
unsorted file's refusal. Files newest first, which are read reversed, too."""

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_cli_errors.test_run_replay_errors import hostapp, one_error_line
from hostapp_loop.csvfiles import write_text
from hostapp_market.test_market_csv_mend import HEADER, load, rows

from hostapp.market.csvdata import CsvError, load_csv
from hostapp.market.synthetic import generate_bars


def test_a_pasted_overlap_is_dropped_and_counted_with_its_lines(tmp_path: Path) -> None:
    good = rows(40)
    text = HEADER + "".join([*good[:30], *good[20:40]])  # rows 21-30 again: lines 32-41
    assert load(tmp_path, text) == (
        40,
        [
            "dropped 10 rows repeating earlier rows exactly, time and values (lines 32-41 as "
            "lines 22-31: overlapping exports pasted together?)"
        ],
    )
    assert load_csv(write_text(tmp_path, text)) == load_csv(
        write_text(tmp_path, HEADER + "".join(good), "clean.csv")
    )


def test_several_pasted_blocks_are_each_said(tmp_path: Path) -> None:
    good = rows(30)
    text = HEADER + "".join([*good[:10], *good[5:20], good[12], *good[18:30]])
    count, notes = load(tmp_path, text)
    assert count == 30
    assert notes == [
        "dropped 8 rows repeating earlier rows exactly, time and values (lines 12-16 as "
        "lines 7-11; line 27 as line 19; lines 28-29 as lines 25-26: overlapping exports "
        "pasted together?)"
    ]


def test_going_back_to_a_time_read_with_other_values_names_both_lines(tmp_path: Path) -> None:
    good = rows(30)
    other = good[22].replace(",1.15,", ",1.16,")  # the 23rd row's time, another close
    text = HEADER + "".join([*good[:25], *good[20:22], other, *good[23:]])
    with pytest.raises(CsvError) as refused:
        load_csv(write_text(tmp_path, text))
    assert str(refused.value) == (
        f"{tmp_path / 'data.csv'}:29: duplicate time 2024-01-02T22:00:00+00:00, also on line "
        "24 with other values: the rows go back in time here (two overlapping exports that "
        "disagree?); one of the two rows must go"
    )


def test_going_back_to_a_time_never_read_is_refused_as_unsorted(tmp_path: Path) -> None:
    good = rows(30)
    text = HEADER + "".join([*good[:10], *good[15:20], *good[10:15], *good[20:]])
    with pytest.raises(CsvError, match=r"data\.csv:17: time .* is before the previous line's"):
        load_csv(write_text(tmp_path, text))


def test_a_newest_first_file_with_a_pasted_overlap_is_read_reversed(tmp_path: Path) -> None:
    newest_first = list(reversed(rows(40)))
    text = HEADER + "".join([*newest_first[:30], *newest_first[20:40]])
    count, notes = load(tmp_path, text)
    assert count == 40
    assert notes == [
        "dropped 10 rows repeating earlier rows exactly, time and values (lines 32-41 as "
        "lines 22-31: overlapping exports pasted together?)",
        "read newest first (line 2 to line 51) and reversed to oldest first",
    ]
    other = [*newest_first[:30], *newest_first[20:40]]
    other[33] = other[33].replace(",1.15,", ",1.16,")  # line 35, as line 25 but its close
    with pytest.raises(CsvError, match=r"data\.csv:35: duplicate time .* also on line 25 "):
        load_csv(write_text(tmp_path, HEADER + "".join(other)))


MT5_HEADER = "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>\t<VOL>\t<SPREAD>\n"


def test_a_metatrader_export_pasted_over_itself_replays_as_the_clean_one(tmp_path: Path) -> None:
    """Through the real command: the same bars and trades as the export without the
    pasted block, and the note."""
    bars = generate_bars("EURUSD", datetime(2024, 3, 4, tzinfo=UTC), 400, timeframe="H1", seed=6)
    lines = [
        f"{b.time:%Y.%m.%d\t%H:%M:%S}\t{b.open}\t{b.high}\t{b.low}\t{b.close}\t{b.volume}\t0\t9\n"
        for b in bars
    ]
    (tmp_path / "EURUSD_H1.csv").write_text(MT5_HEADER + "".join(lines))
    pasted = [*lines[:300], *lines[200:]]  # lines 302-401 repeat lines 202-301
    (tmp_path / "EURUSD_pasted.csv").write_text(MT5_HEADER + "".join(pasted))
    runs = []
    for i, name in enumerate(("EURUSD_H1.csv", "EURUSD_pasted.csv")):
        proc = hostapp(
            tmp_path, "replay", name, "--symbol", "EURUSD", "--json", "--report", f"r{i}"
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs.append(json.loads(proc.stdout))
    clean, joined = runs
    assert (joined["bars"], joined["trades"], joined["end_balance"]) == (
        clean["bars"],
        clean["trades"],
        clean["end_balance"],
    )
    assert (
        "EURUSD_pasted.csv: dropped 100 rows repeating earlier rows exactly, time and values "
        "(lines 302-401 as lines 202-301: overlapping exports pasted together?)"
    ) in joined["host_notes"]
    pasted[350] = pasted[350].replace("\t0\t9\n", "\t0\t12\n")  # another spread: line 352
    (tmp_path / "EURUSD_pasted.csv").write_text(MT5_HEADER + "".join(pasted))
    proc = hostapp(tmp_path, "replay", "EURUSD_pasted.csv", "--report", "refused")
    assert one_error_line(proc).startswith(
        "hostapp: EURUSD_pasted.csv:352: duplicate time 2024-03-18T10:00:00+00:00, also on "
        "line 252 with other values: the rows go back in time here"
    )
