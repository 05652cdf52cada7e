"""``hostapp replay``: the loop over the user's CSV files, alone or ``--compare``d with
and without DTMS, with errors that name the file and line."""

from __future__ import annotations

import importlib.util
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_bars_csv

from hostapp.cli import main
from hostapp.data import infer_timeframe
from hostapp.market.synthetic import generate_bars

START = datetime(2024, 3, 4, tzinfo=UTC)
COMPARED = ("trades", "win_rate", "avg_r", "avg_loss_r", "max_drawdown", "pnl")


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no plugins.toml here: the defaults
    monkeypatch.delenv("HOSTAPP_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("HOSTAPP_DISABLE_PLUGINS", raising=False)
    return write_bars_csv(tmp_path / "XAUUSD.csv", generate_bars("XAUUSD", START, 1500, seed=3))


def test_replay_compare_json(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "rep"
    code = main(["replay", str(data), "--compare", "--json", "--report", str(report)])
    out = capsys.readouterr().out
    assert code == 0
    printed = json.loads(out)  # --json: stdout is the JSON and nothing else
    assert printed == json.loads((report / "summary.json").read_text())
    assert printed["plugin"] == "dtms"
    for comparison in ("same_entries", "full"):
        for side in ("with", "without"):
            run = printed[comparison][side]
            assert all(key in run for key in COMPARED), run
            assert run["symbols"] == ["XAUUSD"]
            assert run["cycles"] == 1500
        assert "dtms" not in printed[comparison]["without"]["plugins"]
        # the plugins of the run, not the host's own recorder of it
        assert "run_report" not in printed[comparison]["with"]["plugins"]
        assert "dtms" not in printed[comparison]["without"]["defenders"]
        assert printed[comparison]["with"]["trades"] > 0
        if importlib.util.find_spec("dtms_plugin.plugin") is not None:
            assert "dtms" in printed[comparison]["with"]["defenders"]
    paired = printed["same_entries"]["paired"]
    assert {"winners_r_kept", "losers_r_saved", "trades_changed", "trades_worse"} <= set(paired)
    for chart in ("XAUUSD.png", "equity.png", "r_histogram.png"):
        assert (report / chart).read_bytes()[:4] == b"\x89PNG"


def test_replay_table_and_symbol_option(
    data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["replay", str(data), "--symbol", "GOLD", "--report", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert code == 0
    assert "trades opened" in out and "report:" in out
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["symbols"] == ["GOLD"] and summary["timeframe"] == "M5"


def test_a_metatrader_export_replays_under_its_symbol(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    name = "XAUUSD_M5_202403040000_202403091455.csv"
    path = write_bars_csv(tmp_path / name, generate_bars("XAUUSD", START, 600, seed=3))
    assert main(["replay", str(path), "--report", "r"]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["symbols"] == ["XAUUSD"]


def test_replay_infers_and_accepts_other_timeframes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bars = generate_bars("EURUSD", START, 400, timeframe="H1", seed=1)
    assert infer_timeframe(bars) == "H1"
    path = write_bars_csv(tmp_path / "EURUSD.csv", bars)
    assert main(["replay", str(path), "--report", "r"]) == 0
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert (summary["base_timeframe"], summary["timeframe"]) == ("H1", "H1")


def test_bad_csv_names_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "XAUUSD.csv"
    bad.write_text("time,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,x,3\n")
    assert main(["replay", str(bad)]) == 2
    assert f"{bad}:2" in capsys.readouterr().err


def test_a_file_named_twice_is_refused(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Several files of one symbol are joined (``--symbol`` names them all); the same
    file twice would overlap itself."""
    assert main(["replay", str(data), str(data), "--symbol", "X"]) == 2
    assert f"a file named twice: {data}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("run", "said"),
    [
        (
            {"base_timeframe": "H1", "timeframe": "H1", "symbols": ["EURUSD"]},
            "the same H1 bars of EURUSD,",
        ),
        (
            {"base_timeframe": "M5", "timeframe": "H1", "symbols": ["XAUUSD", "EURUSD"]},
            "the same M5 bars of XAUUSD, EURUSD (traded on H1),",
        ),
        ({}, "the same bars,"),
    ],
)  # fmt: skip
def test_the_ab_table_says_which_bars_the_runs_were_played_on(
    run: dict[str, object], said: str
) -> None:
    """The timeframe a file was read as is a guess from its bar gaps: the A/B table's
    title says it, and the symbols, where a trader looks first."""
    from hostapp.compare import comparison_table

    report = {"plugin": "dtms", "same_entries": {"without": run, "with": run, "paired": {}}}
    assert comparison_table(report).title == f"A/B of dtms: {said} without dtms and with dtms"
