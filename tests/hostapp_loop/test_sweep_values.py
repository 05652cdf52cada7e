"""What a sweep's values and figures look like to a trader (real ``hostapp replay``
subprocesses on a small synthetic file): a value refused alone and in every combination
stops the sweep before any run, named as it was typed; a pairing refused is left out."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from hostapp_loop.replay_cli import bars_folder, replay


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bars_folder(tmp_path_factory.mktemp("values"))


def test_true_refused_beside_1_stops_before_any_run(folder: Path) -> None:
    """``magic=1,true``: ``true`` is no magic number, in every combination; it is not
    ``1`` (which Python's ``==`` says it is), so the sweep stops with exit 2."""
    proc = replay(folder, "XAUUSD.csv", "--compare", "--sweep", "dtms.magic=1,true")
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("hostapp: --sweep dtms.magic=true: ")
    assert line.endswith("expected int | None, got true"), line
    assert "sweep:" not in proc.stderr  # no run started


def test_a_narrow_terminal_wraps_headers_and_cuts_no_figure(folder: Path) -> None:
    """On an 80-column terminal the table is wider than the terminal: rich cut the
    ranking column to ``+0.`` and other cells to ``+43.7…``. Every figure shows whole."""
    terminal = {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "80"}  # rich: a terminal
    proc = replay(
        folder, "XAUUSD.csv", "--compare", "--report", "narrow",
        "--sweep", "dtms.thresholds.to_l1=-3,-2", "--sweep", "dtms.trail.period=14,22",
        env=terminal,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout)
    table = [line for line in out.splitlines() if line.startswith("│")]
    assert len(table) == 4 and "…" not in out
    with (folder / "narrow" / "sweep.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    for line, row in zip(table, rows, strict=True):
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        assert cells[-1] == f"{float(row['avg_r_with']):+.2f}R"
        assert cells[-3] == f"{float(row['max_drawdown_with']):,.2f}"


def test_averages_equal_as_shown_are_a_tie_the_drawdown_breaks() -> None:
    """-0.0286R and -0.0341R both show as -0.03R: the row with the smaller drawdown ranks
    first, as the caption says (it ranked by a difference no one could see)."""
    from hostapp.sweep_table import CRITERION, Row, rank

    deeper = Row((("k", 1),), {"avg_r_with": -0.0286, "max_drawdown_with": 2000.0})
    shallower = Row((("k", 2),), {"avg_r_with": -0.0341, "max_drawdown_with": 1000.0})
    best = Row((("k", 3),), {"avg_r_with": -0.0251, "max_drawdown_with": 5000.0})  # -0.03 too
    better = Row((("k", 4),), {"avg_r_with": -0.0249, "max_drawdown_with": 9000.0})  # -0.02
    assert rank([deeper, shallower, best, better]) == [better, shallower, deeper, best]
    assert "as shown (to 0.01R); ties: smaller max drawdown" in CRITERION


def test_a_tie_as_shown_and_in_drawdown_goes_to_the_higher_average_r() -> None:
    """+0.0672R and +0.0712R both show as +0.07R, with the same drawdown: the order the
    values were typed in ranked the lower first (a sweep of ``to_l1=-3,-2``). The
    average R itself breaks that tie; rows equal in it too keep their order."""
    from hostapp.sweep_table import CRITERION, Row, rank

    typed_first = Row((("to_l1", -3),), {"avg_r_with": 0.0672, "max_drawdown_with": 1808.73})
    higher = Row((("to_l1", -2),), {"avg_r_with": 0.0712, "max_drawdown_with": 1808.73})
    twin = Row((("to_l1", -1),), {"avg_r_with": 0.0712, "max_drawdown_with": 1808.73})
    shallower = Row((("to_l1", 0),), {"avg_r_with": 0.0651, "max_drawdown_with": 1000.0})
    assert rank([typed_first, higher, twin, shallower]) == [shallower, higher, twin, typed_first]
    assert CRITERION.endswith(
        "ties: smaller max drawdown, then higher average R to 0.0001R (as sweep.csv gives "
        "it), then the order the values were given"
    )


TO_L1, TO_L2 = "dtms.thresholds.to_l1", "dtms.thresholds.to_l2"


def test_a_bad_pairing_is_left_out_and_the_valid_combination_runs(folder: Path) -> None:
    """``to_l1=-1,-3 × to_l2=-2.5``: -3 with -2.5 is no ladder (L2 must be below L1), -1
    with it is; -3 is fine alone (with the configured to_l2). The sweep runs the valid
    pairing and says, in one line naming its values, the one it left out."""
    proc = replay(
        folder, "XAUUSD.csv", "--compare", "--report", "pairing", "--jobs", "2",
        "--sweep", f"{TO_L1}=-1,-3", "--sweep", f"{TO_L2}=-2.5",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    with (folder / "pairing" / "sweep.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r[TO_L1], r[TO_L2]) for r in rows] == [("-1", "-2.5")]
    (left_out,) = [line for line in proc.stderr.splitlines() if "left out" in line]
    assert left_out.startswith(f"hostapp: --sweep {TO_L1}=-3 {TO_L2}=-2.5: ")
    summary = json.loads((folder / "pairing" / "sweep.json").read_text())
    assert [r["settings"] for r in summary["refused"]] == [{TO_L1: -3, TO_L2: -2.5}]


def test_a_value_refused_outright_is_said_with_the_values_swept(folder: Path) -> None:
    """``to_l2=-2`` is refused alone (the configured to_l1 is -2) and beside every swept
    to_l1: the sweep stops, and the one line names the swept to_l1, not the configured
    -2 that was in none of the combinations."""
    proc = replay(
        folder, "XAUUSD.csv", "--compare", "--report", "outright",
        "--sweep", f"{TO_L2}=-2", "--sweep", f"{TO_L1}=-3,-2.5",
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"hostapp: --sweep {TO_L2}=-2: refused alone and in all 2 "), line
    assert "thresholds.to_l1 (-3)" in line and "thresholds.to_l1 (-2)" not in line, line
    assert "sweep:" not in proc.stderr  # no run started
    assert not (folder / "outright" / "sweep.json").exists()


def test_every_pairing_refused_stops_with_each_reason(folder: Path) -> None:
    """``to_l1=-3,-3.5 × to_l2=-2.5``: each value is fine alone, no pairing is: exit 2,
    with both combinations and why, not one of them as if it were the only one."""
    proc = replay(
        folder, "XAUUSD.csv", "--compare", "--report", "none_left",
        "--sweep", f"{TO_L1}=-3,-3.5", "--sweep", f"{TO_L2}=-2.5",
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-2000:]
    (line,) = proc.stderr.strip().splitlines()  # one line, and no progress: no run started
    head = "hostapp: --sweep: the plugins refuse all 2 combinations, so none runs: "
    assert line.startswith(f"{head}--sweep {TO_L1}=-3 {TO_L2}=-2.5: [plugin.dtms]: "), line
    assert f"; --sweep {TO_L1}=-3.5 {TO_L2}=-2.5: [plugin.dtms]: " in line, line


def test_many_refused_pairings_are_one_line_with_a_count_of_the_rest() -> None:
    """Past the first five reasons, the rest are counted, still on the one line."""
    from hostapp.sweep import _all_refused

    refused = [(((f"dtms.k{i}", i),), f"--sweep dtms.k{i}={i}: no") for i in range(7)]
    text = _all_refused(refused)
    assert "\n" not in text
    assert text == (
        "--sweep: the plugins refuse all 7 combinations, so none runs: "
        + "; ".join(f"--sweep dtms.k{i}={i}: no" for i in range(5))
        + "; and 2 more"
    )


def test_a_value_shows_in_one_format_in_every_row() -> None:
    """The chosen row showed ``--sweep``'s ``-2`` and the "as configured" row the ``-2.0``
    DTMS said it used (``3.0`` beside ``2``): a whole number shows without a decimal
    point in every row, whatever its type; others as they are."""
    from rich.console import Console

    from hostapp.sweep_table import Row, _table, shown

    assert [shown(v) for v in (-2, -2.0, 3.0, 2.75, 0.0, True, "x")] == [
        "-2", "-2", "3", "2.75", "0", "true", "x",
    ]  # fmt: skip
    keys = ["dtms.thresholds.to_l1", "dtms.trail.atr_multiple"]
    chosen = Row(((keys[0], -2), (keys[1], 2)), {"pairs": 3})
    configured = Row((), {"pairs": 3}, in_force={keys[0]: -2.0, keys[1]: 3.0})
    table = _table(
        "t", "c", "", keys, [("chosen", chosen), ("as configured", configured)],
        lambda row, key: shown(row.in_force[key]),
    )  # fmt: skip
    console = Console(record=True, width=300)
    console.print(table)
    text = console.export_text()
    assert "-2.0" not in text and "3.0" not in text
    rows = [line.split("│") for line in text.splitlines() if line.startswith("│")]
    assert [[cell.strip() for cell in row[1:4]] for row in rows] == [
        ["chosen", "-2", "2"],
        ["as configured", "-2", "3"],
    ]
