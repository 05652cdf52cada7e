"""The sweep and the parallel A/B as a trader runs them (real ``hostapp replay``
subprocesses on a small synthetic file): one row per combination with the A/B's own
figures, ``sweep.csv``, the held-out report of ``--split``, bad keys refused in one line,
and worker processes that give the very results of one process."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hostapp_loop.csvfiles import write_bars_csv
from hostapp_loop.replay_cli import replay, without_timings

from hostapp.compare_notes import warnings
from hostapp.market.synthetic import generate_bars

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2024, 3, 4, tzinfo=UTC)
BARS = 1500
TO_L1 = "dtms.thresholds.to_l1"
TRAIL = "dtms.trail.atr_multiple"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    here = tmp_path_factory.mktemp("sweep")
    shutil.copy(ROOT / "plugins.toml", here / "plugins.toml")
    write_bars_csv(here / "XAUUSD.csv", generate_bars("XAUUSD", START, BARS, seed=3))
    return here


def same_entries_figures(summary: dict[str, Any]) -> dict[str, Any]:
    """A plain A/B's figures under the sweep's column names."""
    same = summary["same_entries"]
    return {
        "pairs": same["paired"]["pairs"],
        "winners_r_kept": same["paired"]["winners_r_kept"],
        "losers_r_saved": same["paired"]["losers_r_saved"],
        "max_drawdown_without": same["without"]["max_drawdown"],
        "max_drawdown_with": same["with"]["max_drawdown"],
        "avg_r_without": same["without"]["avg_r"],
        "avg_r_with": same["with"]["avg_r"],
    }


def as_numbers(row: dict[str, str]) -> dict[str, Any]:
    return {k: (int(v) if k == "pairs" else float(v)) for k, v in row.items() if k in FIGURES}


FIGURES = (
    "pairs", "winners_r_kept", "losers_r_saved", "max_drawdown_without",
    "max_drawdown_with", "avg_r_without", "avg_r_with",
)  # fmt: skip


def with_setting(folder: Path, name: str, table: str, key: str, value: str) -> Path:
    """plugins.toml with one DTMS setting written in: the A/B a sweep row must equal."""
    path = folder / name
    text = (folder / "plugins.toml").read_text()
    path.write_text(f"{text}\n[plugin.dtms.{table}]\n{key} = {value}\n")
    return path


@pytest.fixture(scope="module")
def swept(folder: Path) -> subprocess.CompletedProcess[str]:
    proc = replay(
        folder, "XAUUSD.csv", "--compare", "--report", "sw", "--jobs", "2",
        "--sweep", f"{TO_L1}=-3,-1", "--sweep", f"{TRAIL}=1.5,2.5",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_one_row_per_combination_best_first_with_the_ab_figures(
    folder: Path, swept: subprocess.CompletedProcess[str]
) -> None:
    rows = read_csv(folder / "sw" / "sweep.csv")
    assert list(rows[0]) == ["data", "rank", TO_L1, TRAIL, "pairs", "unpaired", *FIGURES[1:]]
    assert all(r["unpaired"] == "0" for r in rows)  # every entry of the baseline taken
    assert {(r[TO_L1], r[TRAIL]) for r in rows} == {
        ("-3", "1.5"), ("-3", "2.5"), ("-1", "1.5"), ("-1", "2.5"),
    }  # fmt: skip
    assert [r["rank"] for r in rows] == ["1", "2", "3", "4"]
    assert all(r["data"] == "all" for r in rows)
    avg = [float(r["avg_r_with"]) for r in rows]
    assert avg == sorted(avg, reverse=True)  # the stated criterion
    assert len({r["avg_r_with"] for r in rows}) > 1  # the settings changed something
    assert len({r["avg_r_without"] for r in rows}) == 1  # one baseline for all
    # the table, its criterion and the warning
    out = swept.stdout
    assert "Sweep of dtms" in out and "best first: highest average R with dtms" in out
    assert (  # the whole rule the rows are ranked by, ties included
        "best first: highest average R with dtms on the same entries, as shown (to 0.01R); "
        "ties: smaller max drawdown, then higher average R to 0.0001R (as sweep.csv gives "
        "it), then the order the values were given"
    ) in " ".join(out.split())
    assert "warning: tuned in-sample" in out and "--split F holds the rest" in out
    assert all(word in out for word in ("winners'", "kept", "losers'", "saved", "drawdown"))
    assert "atr_multiple" in out and "to_l1" in out
    assert not (folder / "sw" / "sweep").exists()  # the runs' state folders are gone
    summary = json.loads((folder / "sw" / "sweep.json").read_text())
    assert [r["settings"] for r in summary["rows"]] == [
        {TO_L1: int(r[TO_L1]), TRAIL: float(r[TRAIL])} for r in rows
    ]


def test_a_row_equals_the_plain_ab_with_that_setting_in_the_config(
    folder: Path, swept: subprocess.CompletedProcess[str]
) -> None:
    row = next(r for r in read_csv(folder / "sw" / "sweep.csv") if r["rank"] == "1")
    config = with_setting(folder, "best.toml", "thresholds", "to_l1", row[TO_L1])
    config.write_text(f"{config.read_text()}[plugin.dtms.trail]\natr_multiple = {row[TRAIL]}\n")
    proc = replay(folder, "XAUUSD.csv", "--compare", "--config", "best.toml", "--report", "one")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((folder / "one" / "summary.json").read_text())
    assert as_numbers(row) == pytest.approx(same_entries_figures(summary), abs=1e-4)


def test_split_tunes_on_the_first_part_and_reports_the_rest(folder: Path) -> None:
    proc = replay(
        folder, "XAUUSD.csv", "--compare", "--report", "sp", "--jobs", "2",
        "--sweep", f"{TO_L1}=-3,-1", "--split", "0.6",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "on the first 60% of the bars" in proc.stdout
    assert "Out of sample: the last 40% of the bars" in proc.stdout
    assert "--split F" not in proc.stdout and "the table below checks it" in proc.stdout
    rows = read_csv(folder / "sp" / "sweep.csv")
    tune = [r for r in rows if r["data"] == "tune"]
    test = {r["rank"]: r for r in rows if r["data"] == "test"}
    assert len(tune) == 2 and set(test) == {"chosen", "as configured"}
    assert test["chosen"][TO_L1] == tune[0][TO_L1]
    # the config file leaves to_l1 out: the value the held-out run used is DTMS's default,
    # as its run report says it, in the CSV, the JSON and the table (not "default")
    assert test["as configured"][TO_L1] == "-2" and "-2.0" not in proc.stdout  # as rows show
    assert " -2 " in proc.stdout.split("Out of sample")[1] and " default " not in proc.stdout
    # the held-out figures are those of a plain A/B trading the last 40 % of the bars,
    # the first 60 % its history: warm, as a live run would be on its past
    bars = generate_bars("XAUUSD", START, BARS, seed=3)
    begins = bars[int(BARS * 0.6)].time
    config = with_setting(folder, "chosen.toml", "thresholds", "to_l1", tune[0][TO_L1])
    plain = replay(
        folder, "XAUUSD.csv", "--compare", "--config", config.name, "--report", "rest_rep",
        "--from", begins.isoformat(),
    )  # fmt: skip
    assert plain.returncode == 0, plain.stderr[-2000:]
    summary = json.loads((folder / "rest_rep" / "summary.json").read_text())
    assert as_numbers(test["chosen"]) == pytest.approx(same_entries_figures(summary), abs=1e-4)
    assert as_numbers(tune[0]) != as_numbers(test["chosen"])
    split = json.loads((folder / "sp" / "sweep.json").read_text())["split"]
    assert split["fraction"] == 0.6 and split["test"]["chosen"]["settings"] == {
        TO_L1: int(tune[0][TO_L1])
    }
    assert split["test"]["as configured"]["in_force"] == {TO_L1: -2.0}
    same = [w for w in warnings(summary) if w.startswith("dtms (same entries")]  # no full run
    assert split["test"]["chosen"]["warnings"] == same
    # where the held-out part begins, as a time in the file
    shown = begins.strftime("%Y-%m-%d %H:%M UTC")  # in the table; ISO 8601 in the JSON
    assert split["from"] == begins.isoformat() and f"(600, from {shown})" in proc.stdout
    # cold, the last 40 % alone, DTMS lacks its slow signals for a while and warns of it;
    # the held-out runs, warmed up on the bars before, do not
    (folder / "rest").mkdir()
    write_bars_csv(folder / "rest" / "XAUUSD.csv", bars[int(BARS * 0.6) :])
    cold = replay(
        folder, "rest/XAUUSD.csv", "--compare", "--config", config.name, "--report", "cold"
    )
    assert cold.returncode == 0, cold.stderr[-2000:]
    cold_summary = json.loads((folder / "cold" / "summary.json").read_text())
    cold_warned = [w for w in warnings(cold_summary) if w.startswith("dtms (same entries")]
    assert cold_warned and "ema_alignment" in cold_warned[0]
    assert not any("ema_alignment" in w for w in split["test"]["chosen"]["warnings"])


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--sweep", "dtms.thresholds.nokey=1,2"], "--sweep dtms.thresholds.nokey=1: "),
        # the value is the --sweep's, not the file's: the file is not named
        (["--sweep", f"{TO_L1}=-2,abc"], f'--sweep {TO_L1}="abc": [plugin.dtms]: '),
        (["--sweep", "nosuch.key=1"], "--sweep nosuch.key: no plugin named 'nosuch'"),
        (["--sweep", "dtms.thresholds"], "--sweep dtms.thresholds: expected NAME.KEY=V1,V2"),
        (["--sweep", f"{TO_L1}=-2", "--sweep", f"{TO_L1}=-3"], f"--sweep {TO_L1}: given twice"),
        (["--split", "0.5"], "--split tunes a sweep on part of the bars: add --sweep"),
        # TOML reads them: nan crashed the refusal's lookup, inf the sweep.json
        (["--sweep", f"{TO_L1}=nan,-2"], f"--sweep {TO_L1}=nan: expected a finite number"),
        (["--sweep", "sma_strategy.tp_atr=inf,3"], "tp_atr=inf: expected a finite number"),
    ],
)
def test_bad_sweeps_are_one_line_naming_the_key(folder: Path, args: list[str], said: str) -> None:
    proc = replay(folder, "XAUUSD.csv", "--compare", "--report", "bad", *args)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and said in lines[0], proc.stderr
    assert not (folder / "bad" / "sweep.csv").exists()


def test_a_sweep_runs_on_the_timeframe_of_the_data(folder: Path) -> None:
    """H1 bars: DTMS takes its timeframes from the host's (``timeframes = "auto"``), as
    in the plain A/B; the check of each setting saw the configured M5 and refused."""
    bars = generate_bars("EURUSD", START, 600, timeframe="H1", seed=1)
    write_bars_csv(folder / "EURUSD.csv", bars)
    proc = replay(folder, "EURUSD.csv", "--compare", "--report", "h1", "--sweep", f"{TO_L1}=-3,-2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = read_csv(folder / "h1" / "sweep.csv")
    assert sorted(r[TO_L1] for r in rows) == ["-2", "-3"]
    assert all(int(r["pairs"]) > 0 for r in rows), rows


def test_sweep_needs_compare(folder: Path) -> None:
    proc = replay(folder, "XAUUSD.csv", "--sweep", f"{TO_L1}=-2")
    assert proc.returncode == 2 and "add --compare" in proc.stderr


@pytest.mark.parametrize("against", [[], ["--against", "atr_trailing"]])
def test_two_jobs_give_the_results_of_one(folder: Path, against: list[str]) -> None:
    got = {}
    for jobs in ("1", "2"):
        report = f"jobs{jobs}{len(against)}"
        proc = replay(
            folder, "XAUUSD.csv", "--compare", *against, "--jobs", jobs, "--report", report
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stderr.count("A/B: 100% (3/3 runs)") == 1  # one display for the runs
        summary = json.loads((folder / report / "summary.json").read_text())
        got[jobs] = (without_timings(summary), (folder / report / "trades.csv").read_text())
        log = (folder / report / "hostapp.log").read_text()
        assert "plugin dtms disabled" in log  # the workers' log lines reach the log
        states = {p.name for p in (folder / report).glob("state-*/*")}
        assert {"state-same_entries", "state-full"} <= {  # each run has its own
            p.parent.name for p in (folder / report).glob("state-*/dtms")
        }, states
    assert got["1"][1] == got["2"][1]  # the same trades, line for line
    assert got["1"][0] == got["2"][0]  # the same figures
    assert got["1"][0]["same_entries"]["paired"]["pairs"] > 10


def test_a_sweep_on_two_jobs_gives_the_rows_of_one(
    folder: Path, swept: subprocess.CompletedProcess[str]
) -> None:
    proc = replay(
        folder, "XAUUSD.csv", "--compare", "--report", "sw1", "--jobs", "1",
        "--sweep", f"{TO_L1}=-3,-1", "--sweep", f"{TRAIL}=1.5,2.5",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (folder / "sw1" / "sweep.csv").read_text() == (folder / "sw" / "sweep.csv").read_text()


JOBS_2 = ("--jobs", "2", "--report", "rep")


def test_sigint_stops_the_runs_in_the_workers(tmp_path: Path) -> None:
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    # long enough that the runs are still going when the signal comes; it goes at the
    # first progress line, the earliest sign that a run is under way (the display may
    # still trail the workers a little on two busy cores, and a worker that has not
    # started its run yet keeps the stop for it: hostapp.parallel)
    write_bars_csv(tmp_path / "XAUUSD.csv", generate_bars("XAUUSD", START, 100_000, seed=3))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hostapp.cli", "replay", "XAUUSD.csv", "--compare", *JOBS_2],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # plain progress lines: the runs are under way
        seen.append(line)
        if line.startswith("A/B:"):
            break
    else:
        pytest.fail("".join(seen))
    proc.send_signal(signal.SIGINT)  # to the parent alone: it tells the workers
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "report:" in out
    assert "Traceback" not in err and "stopping the runs after this cycle" in err
    assert err.count("stopping") == 1, err  # the parent says it; its workers do not
    # stopped in the first run: no run with dtms on its entries, the baseline reported
    # alone; the full run with dtms, which ran beside it in the other worker, is dropped
    assert (
        "before its run with dtms on the same entries: no comparison (its run with dtms "
        "trading freely, beside the first, is dropped); the report is that run, up to the stop"
    ) in err
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["interrupted"] is True and "same_entries" not in summary
    assert summary["bars"] < 100_000  # cut short, not finished


def test_a_sweep_of_the_baselines_settings_runs_a_baseline_for_each(folder: Path) -> None:
    """``--against atr_trailing --sweep atr_trailing.multiple=…``: each value reaches the
    baseline (its own run), and the plugin under test still runs in the runs with it."""
    proc = replay(
        folder, "XAUUSD.csv", "--compare", "dtms", "--against", "atr_trailing",
        "--report", "rival", "--sweep", "atr_trailing.multiple=2,4",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = {r["atr_trailing.multiple"]: r for r in read_csv(folder / "rival" / "sweep.csv")}
    assert set(rows) == {"2", "4"} and all(int(r["pairs"]) > 0 for r in rows.values())
    assert rows["2"]["max_drawdown_without"] != rows["4"]["max_drawdown_without"]
    header = proc.stdout.split("┏")[1].split("┡")[0]  # the table's column titles
    assert header.count(" atr_trailing ┃") == 2 and "without" not in header  # the baseline's


def test_a_grid_runs_the_pairings_the_plugin_takes_and_lists_the_others(folder: Path) -> None:
    """``fast=5,20 × slow=10,30``: fast 20 with slow 10 is no strategy; the three others
    run, and the one left out is said and kept in sweep.json (values checked in their
    combinations, not one by one against the configured other key)."""
    proc = replay(
        folder, "XAUUSD.csv", "--compare", "--report", "grid",
        "--sweep", "sma_strategy.fast=5,20", "--sweep", "sma_strategy.slow=10,30",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = read_csv(folder / "grid" / "sweep.csv")
    pairs = {(r["sma_strategy.fast"], r["sma_strategy.slow"]) for r in rows}
    assert pairs == {("5", "10"), ("5", "30"), ("20", "30")}
    assert "sma_strategy.fast=20 sma_strategy.slow=10" in proc.stderr
    assert "left out, the other combinations run" in proc.stderr
    (refused,) = json.loads((folder / "grid" / "sweep.json").read_text())["refused"]
    assert refused["settings"] == {"sma_strategy.fast": 20, "sma_strategy.slow": 10}


def test_a_setting_without_trades_has_no_r_and_ranks_last(folder: Path) -> None:
    proc = replay(
        folder, "XAUUSD.csv", "--compare", "--report", "none",
        "--sweep", f"{TO_L1}=-2,-2.0", "--sweep", "sma_strategy.slow=30,5000",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = read_csv(folder / "none" / "sweep.csv")
    assert [(r[TO_L1], r["sma_strategy.slow"]) for r in rows] == [("-2", "30"), ("-2", "5000")]
    last = rows[-1]
    assert last["pairs"] == "0" and last["avg_r_with"] == "" and last["winners_r_kept"] == ""
    assert int(rows[0]["pairs"]) > 0 and rows[0]["avg_r_with"] != ""


def test_booleans_read_as_typed(folder: Path) -> None:
    proc = replay(
        folder, "XAUUSD.csv", "--compare", "--report", "bools",
        "--sweep", "dtms.trail.enabled=true,false",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = read_csv(folder / "bools" / "sweep.csv")
    assert sorted(r["dtms.trail.enabled"] for r in rows) == ["false", "true"]
    assert "True" not in proc.stdout and "False" not in proc.stdout


def test_a_split_that_leaves_a_part_empty_says_which(folder: Path) -> None:
    proc = replay(
        folder, "XAUUSD.csv", "--compare", "--report", "tiny",
        "--sweep", f"{TO_L1}=-3,-2", "--split", "0.0001",
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        f"hostapp: --split 0.0001: the first part would have no bars (of {BARS:,}); leave "
        "bars on both sides, e.g. --split 0.7"
    )


def test_an_interrupted_sweep_ranks_only_the_settings_that_ran_through(tmp_path: Path) -> None:
    """Stopped mid-way, a run's figures cover part of the bars: such a row must not rank
    beside, or above, the rows of runs that saw all of them."""
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    write_bars_csv(tmp_path / "XAUUSD.csv", generate_bars("XAUUSD", START, 60_000, seed=3))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    # one process: the runs of a stopped sweep are what is under test, not the pool's
    args = ["XAUUSD.csv", "--compare", "--sweep", f"{TO_L1}=-3,-2,-1", "--jobs", "1"]
    args += ["--report", "rep"]
    out_file, err_file = tmp_path / "out.txt", tmp_path / "err.txt"
    with out_file.open("w") as out_sink, err_file.open("w") as err_sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hostapp.cli", "replay", *args],
            cwd=tmp_path, env=env, stdout=out_sink, stderr=err_sink, text=True,
            start_new_session=True,  # the workers too, should the test have to end them
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while "(1/4 runs)" not in err_file.read_text():  # the baseline done
            assert proc.poll() is None and time.monotonic() < deadline, err_file.read_text()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=120) == 130, err_file.read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    out, err = out_file.read_text(), err_file.read_text()
    assert err.count("stopping") == 1, err
    assert "sweep: " in out and "sweep.csv" in out
    said = err.rsplit("the table has the ", 1)[1].split()
    done, total = int(said[0]), int(said[2])
    assert total == 3 and done < 3
    rows = read_csv(tmp_path / "rep" / "sweep.csv")
    assert len(rows) == done
    summary = json.loads((tmp_path / "rep" / "sweep.json").read_text())
    assert summary["interrupted"] is True and len(summary["rows"]) == done
