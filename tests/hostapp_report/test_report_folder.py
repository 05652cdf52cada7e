"""A report folder holds one command's files: a sweep after an A/B once left the A/B's
``summary.json`` and ``trades.csv`` beside its ``sweep.csv``, and a replay of another
file left the charts of symbols it never had. What hostapp did not write stays."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hookspecs import ConfigError
from hostapp.market.synthetic import generate_bars
from hostapp.report_files import PNG_SIGNATURE, clear_report

START = datetime(2024, 3, 4, tzinfo=UTC)


def _csv(path: Path, symbol: str) -> Path:
    with path.open("w") as f:
        f.write("time,open,high,low,close,volume,spread\n")
        for b in generate_bars(symbol, START, 1500, seed=3):
            f.write(f"{b.time.isoformat()},{b.open},{b.high},{b.low},{b.close},{b.volume},0\n")
    return path


def _replay(cwd: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", *args, "--report", "rep"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_each_command_leaves_only_its_own_files(tmp_path: Path) -> None:
    gold, euro = _csv(tmp_path / "XAUUSD.csv", "XAUUSD"), _csv(tmp_path / "EURUSD.csv", "EURUSD")
    rep = tmp_path / "rep"
    rep.mkdir()
    (rep / "mine.txt").write_text("a note of the trader's")  # not hostapp's: kept
    _replay(tmp_path, str(gold), "--compare")
    assert {"summary.json", "trades.csv", "XAUUSD.png", "mine.txt"} <= set(os.listdir(rep))
    _replay(tmp_path, str(euro), "--compare", "--sweep", "dtms.thresholds.to_l1=-3,-2")
    assert {"sweep.csv", "sweep.json", "mine.txt"} <= set(os.listdir(rep))
    assert not {"summary.json", "trades.csv", "XAUUSD.png"} & set(os.listdir(rep))
    _replay(tmp_path, str(euro))
    assert "EURUSD.png" in os.listdir(rep) and "sweep.csv" not in os.listdir(rep)
    assert json.loads((rep / "summary.json").read_text())["charts"] == ["EURUSD.png"]


def test_only_names_hostapp_writes_are_removed(tmp_path: Path) -> None:
    """A summary.json naming a path out of the folder removes nothing outside it."""
    outside = tmp_path / "keep.png"
    outside.write_text("x")
    rep = tmp_path / "rep"
    rep.mkdir()
    (rep / "summary.json").write_text(
        json.dumps({"mode": "replay", "charts": ["../keep.png", "A.png"]})
    )
    (rep / "A.png").write_bytes(PNG_SIGNATURE + b"a chart")
    removed = clear_report(rep)
    assert outside.exists() and not (rep / "A.png").exists()
    assert sorted(Path(p).name for p in removed) == ["A.png", "summary.json"]


def test_a_summary_naming_the_user_s_own_files_removes_none_of_them(tmp_path: Path) -> None:
    """A ``summary.json`` whose ``charts`` names a spreadsheet, a script, and a ``.png``
    that is no image (planted, or hand-edited): a run in that folder deleted them all
    without a word (the security probe). Only PNG images by name and content are charts."""
    rep = tmp_path / "rep"
    rep.mkdir()
    mine = {"notes.xlsx": b"PK\x03\x04 a spreadsheet", "strategy.py": b"print(1)\n",
            "photo.png": b"not an image"}  # fmt: skip
    for name, content in mine.items():
        (rep / name).write_bytes(content)
    (rep / "summary.json").write_text(
        json.dumps({"mode": "replay", "charts": [*mine, "XAUUSD.png"]})
    )
    (rep / "XAUUSD.png").write_bytes(PNG_SIGNATURE + b"a chart")
    removed = clear_report(rep)
    assert sorted(Path(p).name for p in removed) == ["XAUUSD.png", "summary.json"]
    assert all((rep / name).read_bytes() == content for name, content in mine.items())


def test_a_chart_stays_in_the_report_folder_whatever_the_symbol(tmp_path: Path) -> None:
    """``--symbol`` is the user's text: a chart is named after it made safe for a file
    name (no path separators, no leading dots), and the summary lists that name."""
    data = _csv(tmp_path / "XAUUSD.csv", "XAUUSD")
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    _replay(work, str(data), "--symbol", "../../escaped")
    rep = work / "rep"
    charts = json.loads((rep / "summary.json").read_text())["charts"]
    assert len(charts) == 1 and "/" not in charts[0] and not charts[0].startswith(".")
    assert (rep / charts[0]).read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.rglob("*.png")) == charts  # none anywhere else


def test_files_of_its_names_hostapp_did_not_write_are_kept(tmp_path: Path) -> None:
    """``--report .`` in a folder holding the trader's own ``trades.csv`` (a broker's
    export), ``deals.csv`` and ``summary.json``: the replay removed or wrote over them
    (the environment probe). Each is kept as ``<name>.1``, said in one line; files hostapp
    wrote are replaced as before."""
    data = _csv(tmp_path / "XAUUSD.csv", "XAUUSD")
    rep = tmp_path / "rep"
    rep.mkdir()
    mine = {"trades.csv": "Ticket,Symbol,Profit\n1,XAUUSD,5\n", "deals.csv": "Deal,Time\n7,x\n",
            "summary.json": '{"account": "mine"}'}  # fmt: skip
    for name, text in mine.items():
        (rep / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    done = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", str(data), "--report", "rep"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    for name, text in mine.items():
        assert (rep / f"{name}.1").read_text() == text
        assert f"hostapp: rep/{name} was not written by hostapp: kept as {name}.1" in done.stderr
    assert json.loads((rep / "summary.json").read_text())["mode"] == "replay"
    _replay(tmp_path, str(data))  # again: its own files replaced, nothing more kept
    kept = sorted(p.name for p in rep.glob("*.1") if p.name != "hostapp.log.1")
    assert kept == ["deals.csv.1", "summary.json.1", "trades.csv.1"]
    assert all((rep / f"{name}.1").read_text() == text for name, text in mine.items())


def test_a_file_that_cannot_be_kept_aside_stops_the_command_and_stays(tmp_path: Path) -> None:
    """A user's ``trades.csv`` that cannot be moved to ``trades.csv.1`` (a folder in the
    way of the older copies) was said "kept" and then deleted (the review). The command
    stops in one line naming it, and the file stays; a JSON with a ``rows`` key of
    another tool's is no sweep.json of hostapp's."""
    rep = tmp_path / "rep"
    rep.mkdir()
    (rep / "trades.csv").write_text("Ticket,Symbol\n1,XAUUSD\n")
    (rep / "trades.csv.1").write_text("an older one")
    (rep / "trades.csv.2").mkdir()  # the older copies cannot move up
    with pytest.raises(ConfigError, match=r"trades\.csv there was not written by hostapp and "
                       r"cannot be kept as trades\.csv\.1"):  # fmt: skip
        clear_report(rep)
    assert (rep / "trades.csv").read_text() == "Ticket,Symbol\n1,XAUUSD\n"
    other = tmp_path / "other"
    other.mkdir()
    (other / "sweep.json").write_text('{"rows": [1, 2], "source": "my tool"}')
    clear_report(other)
    assert (other / "sweep.json.1").read_text() == '{"rows": [1, 2], "source": "my tool"}'
