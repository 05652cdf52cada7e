"""``hostapp replay --from TIME``: the bars before TIME are the plugins' history, the run
trades from TIME on, says so, and a time outside the data is one line naming ``--from``."""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_bars_csv
from hostapp_loop.replay_cli import ROOT, bars_folder, replay

from hostapp.market.synthetic import generate_bars

BARS = 1500


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bars_folder(tmp_path_factory.mktemp("from"), bars=BARS, seed=3)


def _start() -> tuple[str, int]:
    """A time two thirds into the bars (as written, without an offset: UTC), and how
    many bars come before it."""
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), BARS, seed=3)
    at = bars[1000].time
    return at.strftime("%Y-%m-%dT%H:%M"), 1000


def _baseline_openings(report: Path) -> list[str]:
    """When the A/B's baseline run (without DTMS) opened its trades, in order."""
    with (report / "trades.csv").open() as f:
        rows = csv.DictReader(f)
        return sorted(r["opened_at"] for r in rows if r["run"] == "without")


def test_trades_only_from_the_time_and_warm(folder: Path) -> None:
    when, before = _start()
    proc = replay(folder, "XAUUSD.csv", "--compare", "--from", when, "--report", "late", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    said = f"traded from {when.replace('T', ' ')} UTC (--from): the {before:,} bars before it"
    run = summary["same_entries"]["with"]
    assert any(n.startswith(said) for n in run["host_notes"])
    opened = _baseline_openings(folder / "late")
    assert opened and opened[0] >= f"{when}:00+00:00"
    # warm: the strategy's averages had the history, so its first trade after the time
    # is the one the whole replay opens there too (cold, it would wait for 30 bars)
    whole = replay(folder, "XAUUSD.csv", "--compare", "--report", "whole")
    assert whole.returncode == 0, whole.stderr[-2000:]
    later = [t for t in _baseline_openings(folder / "whole") if t >= f"{when}:00+00:00"]
    assert opened[0] == later[0]
    dtms = run["plugin_reports"]["dtms"]  # nor does DTMS lack its slow signals
    assert dtms["scorings"] > 0 and "ema_alignment" not in dtms.get("missing_signals", {})


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--from", "2030-01-01"], "--from 2030-01-01 00:00 UTC is after the last bar: the bars"),
        (["--from", "2000-01-01"], "is at or before the first bar, so there is no history"),
        (["--from", "soon"], "argument --from: expected a time like 2024-03-01"),
        (
            ["--compare", "--sweep", "dtms.thresholds.to_l1=-3,-1", "--split", "0.5",
             "--from", "2024-03-05"],
            "--split starts the held-out runs at the split itself: leave --from out",
        ),
    ],
)  # fmt: skip
def test_a_time_it_cannot_use_is_one_line(folder: Path, args: list[str], said: str) -> None:
    proc = replay(folder, "XAUUSD.csv", *args, "--report", "bad")
    assert proc.returncode == 2
    assert said in proc.stderr.strip().splitlines()[-1] and "Traceback" not in proc.stderr


def test_an_offset_is_honoured(folder: Path) -> None:
    when, _ = _start()
    local = (datetime.fromisoformat(when) + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M+02:00")
    proc = replay(folder, "XAUUSD.csv", "--from", local, "--report", "tz", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    notes = json.loads(proc.stdout)["host_notes"]
    assert any(n.startswith(f"traded from {when.replace('T', ' ')} UTC") for n in notes)


def test_the_datas_notes_are_of_the_bars_it_trades(tmp_path: Path) -> None:
    """A month missing in the history before ``--from`` held no position across it: the
    run does not name it; the whole replay, which traded across it, does."""
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), BARS, seed=3)
    month = timedelta(days=30)
    bars = [*bars[:400], *(replace(b, time=b.time + month) for b in bars[400:])]
    write_bars_csv(tmp_path / "XAUUSD.csv", bars)
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    when = bars[1000].time.strftime("%Y-%m-%dT%H:%M")
    for args, gap in (((), True), (("--from", when), False)):
        proc = replay(tmp_path, "XAUUSD.csv", *args, "--report", f"r{len(args)}", "--json")
        assert proc.returncode == 0, proc.stderr[-2000:]
        notes = json.loads(proc.stdout)["host_notes"]
        assert any(n.startswith("the bars stop for more than 4 days") for n in notes) is gap
