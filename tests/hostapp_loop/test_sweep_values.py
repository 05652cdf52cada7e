"""What a sweep's values and figures look like to a trader (real ``hostapp replay``
subprocesses on a small synthetic file): a value refused in every combination stops the
sweep before any run, named as it was typed."""

from __future__ import annotations

import csv
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
