"""The A/B replay as a trader uses it: the same entries in both runs, paired figures a
test can recompute from ``trades.csv``, DTMS working on H1 and D1 data with the default
configuration, and a run where the plugin did nothing said so and failed."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostapp_loop.csvfiles import write_bars_csv
from hostapp_loop.replay_cli import replay

from hostapp.market.synthetic import generate_bars

START = datetime(2024, 3, 4, tzinfo=UTC)


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, list[dict[str, str]]]:
    root = tmp_path_factory.mktemp("ab")
    data = write_bars_csv(root / "XAUUSD.csv", generate_bars("XAUUSD", START, 3000, seed=3))
    proc = replay(root, str(data), "--compare", "--json", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    with (root / "rep" / "trades.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    return summary, rows


def test_same_entries_pairs_every_entry(compared: tuple[dict, list[dict[str, str]]]) -> None:
    summary, rows = compared
    assert summary["did_nothing"] is None  # an A/B that compares something
    same = [r for r in rows if r["comparison"] == "same_entries"]
    entries = {
        run: Counter((r["opened_at"], r["direction"], r["volume"]) for r in same if r["run"] == run)
        for run in ("with", "without")
    }
    assert entries["with"] == entries["without"]
    assert sum(entries["with"].values()) == summary["same_entries"]["without"]["trades"] > 20
    paired = summary["same_entries"]["paired"]
    assert paired["pairs"] == summary["same_entries"]["with"]["trades"]
    assert paired["unpaired"] == 0
    assert all(r["pair"] for r in same)
    # what a plugin would have vetoed of the same entries is counted under that plugin
    taken = summary["same_entries"]["with"]
    by = taken["entries_veto_overridden_by"]
    assert sum(by.values()) == taken["entries_veto_overridden"]
    assert set(by) <= {"dtms", "exits", "sma_strategy"}
    # the full run may take other trades: DTMS vetoes entries there
    full = summary["full"]["with"]
    assert full["trades"] + full["orders_vetoed"] >= summary["same_entries"]["without"]["trades"]


def test_the_plugins_on_in_every_run_are_named(
    compared: tuple[dict, list[dict[str, str]]],
) -> None:
    """A comparison tells one plugin apart; the others run in every run and were not
    named (a --compare atr_trailing had DTMS on in all three columns, unsaid)."""
    summary, _ = compared
    assert summary["in_every_run"] == ["exits", "sma_strategy"]  # not the host's recorder


def test_comparing_the_strategy_that_opens_the_trades_says_why_nothing_pairs(
    tmp_path: Path,
) -> None:
    data = write_bars_csv(tmp_path / "XAUUSD.csv", generate_bars("XAUUSD", START, 1500, seed=3))
    proc = replay(tmp_path, str(data), "--compare", "sma_strategy", "--report", "rep")
    assert "Traceback" not in proc.stderr
    assert "(dtms, exits on in every run)" in " ".join(proc.stdout.split())
    assert "│ entries unpaired " in proc.stdout  # beside the entries paired, as a sweep's
    assert (
        "note: the run without sma_strategy opened no trade, so no entry could be paired: "
        "sma_strategy proposes the entries its full run took"
    ) in proc.stdout


def test_each_closed_trade_has_its_exit_price(
    compared: tuple[dict, list[dict[str, str]]],
) -> None:
    """R from trades.csv alone: a trade that ran its own course (no partial close, no
    hedge) lost or won (exit − entry) ÷ (entry − initial stop), signed by its side."""
    _, rows = compared
    closed = [r for r in rows if r["closed_at"]]
    assert closed and all(r["exit_price"] for r in closed)
    plain = [r for r in closed if r["close_reason"] in ("stop_loss", "take_profit")]
    plain = [r for r in plain if r["run"] == "without"]  # no DTMS: one position each
    assert plain
    for r in plain:
        side = 1 if r["direction"] == "buy" else -1
        entry, stop, out = float(r["entry_price"]), float(r["initial_stop"]), float(r["exit_price"])
        assert float(r["r"]) == pytest.approx(side * (out - entry) / abs(entry - stop), abs=0.02)


def test_paired_figures_recomputed_from_trades_csv(
    compared: tuple[dict, list[dict[str, str]]],
) -> None:
    summary, rows = compared
    by_pair: dict[str, dict[str, float]] = {}
    for r in rows:
        if r["comparison"] == "same_entries" and r["r"]:
            by_pair.setdefault(r["pair"], {})[r["run"]] = float(r["r"])
    both = [(p["without"], p["with"]) for p in by_pair.values() if len(p) == 2]
    won = [(a, b) for a, b in both if a > 0]
    lost = [(a, b) for a, b in both if a < 0]
    paired = summary["same_entries"]["paired"]
    assert paired["winners_r_kept"] == pytest.approx(
        sum(b for _, b in won) / sum(a for a, _ in won), abs=1e-4
    )
    assert paired["losers_r_saved"] == pytest.approx(
        sum(b for _, b in lost) - sum(a for a, _ in lost), abs=1e-4
    )
    assert paired["winners_r_change"] == pytest.approx(
        sum(b for _, b in won) - sum(a for a, _ in won), abs=1e-4
    )
    assert paired["net_r_change"] == pytest.approx(sum(b - a for a, b in both), abs=1e-4)
    assert paired["trades_changed"] == sum(1 for a, b in both if abs(a - b) > 1e-9)
    assert paired["trades_worse"] == sum(1 for a, b in both if b < a - 1e-9)
    assert paired["trades_changed"] > 0  # DTMS managed some of them
    rs = [float(r["r"]) for r in rows if r["run"] == "with" and r["comparison"] == "same_entries"]
    with_run = summary["same_entries"]["with"]
    assert with_run["avg_r"] == pytest.approx(sum(rs) / len(rs), abs=1e-4)


@pytest.mark.parametrize(("timeframe", "bars"), [("H1", 2500), ("D1", 900)])
def test_dtms_evaluates_trades_on_h1_and_d1_with_the_default_config(
    tmp_path: Path, timeframe: str, bars: int
) -> None:
    data = write_bars_csv(
        tmp_path / "EURUSD.csv",
        generate_bars("EURUSD", START, bars, timeframe=timeframe, seed=5),
    )
    (tmp_path / "plugins.toml").write_text((Path.cwd() / "plugins.toml").read_text())
    proc = replay(tmp_path, str(data), "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ERROR" not in proc.stderr
    log = (tmp_path / "rep" / "hostapp.log").read_text()
    assert " ERROR " not in log and "unavailable" not in log
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    assert summary["timeframe"] == timeframe
    report = summary["plugin_reports"]["dtms"]
    signal = {"H1": "H4", "D1": "W1"}[timeframe]
    assert report["timeframes"] == {"fast": timeframe, "signal": signal}
    assert summary["trades"] > 5
    assert report["evaluated"] > 0 and report["trades"] == summary["trades"]


def test_a_plugin_that_did_nothing_is_reported_and_fails_the_comparison(tmp_path: Path) -> None:
    data = write_bars_csv(tmp_path / "XAUUSD.csv", generate_bars("XAUUSD", START, 1500, seed=3))
    # never armed, and neither its trailing stop nor its account rails act (either one
    # changed the trades, which the comparison then rightly did not call "did nothing")
    (tmp_path / "plugins.toml").write_text(
        "[plugin.dtms]\n[plugin.dtms.arming]\nage_bars = 10000\nprofit_r = 1000\nloss_r = -1000\n"
        "[plugin.dtms.trail]\nenabled = false\n"
        "[plugin.dtms.rails]\ndaily_loss_pct = 100\nstreak_bars = 0\n"
    )
    proc = replay(tmp_path, str(data), "--compare", "--report", "rep")
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert "dtms did nothing in the runs with it" in proc.stderr
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    # and in the JSON, for a program that reads it rather than the terminal
    assert summary["did_nothing"] in proc.stderr
    assert summary["did_nothing"].startswith("dtms did nothing in the runs with it")
    note = summary["same_entries"]["with"]["plugin_reports"]["dtms"]["note"]
    trades = summary["same_entries"]["with"]["trades"]
    assert note.startswith(f"DTMS evaluated 0 of {trades} trades: ")
    assert "DTMS evaluated 0 of" in proc.stdout  # the table's notes say it in words


def test_a_comparison_without_a_trade_says_so_and_why(tmp_path: Path) -> None:
    """20 bars: the strategy's averages never have enough history, no run trades, and
    the void comparison says that, with the strategy's own note on why."""
    data = write_bars_csv(tmp_path / "XAUUSD.csv", generate_bars("XAUUSD", START, 20, seed=3))
    proc = replay(tmp_path, str(data), "--compare", "--report", "rep")
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == (
        "hostapp: dtms did nothing in the runs with it, so the comparison shows nothing: "
        "no run opened a trade"
    )
    said = "sma_strategy (without dtms, full): no order: the 10/30 cross and ATR(14) need 31 bars"
    assert said in proc.stdout  # the baseline said it too
    assert "Warning" not in proc.stderr  # the equity chart of runs without a trade: no span


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--compare", "nosuch"], "hostapp: --compare nosuch: no plugin named 'nosuch'"),
        (["--compare", "--against", "nosuch"], "hostapp: --against nosuch: no plugin named"),
    ],
)
def test_an_unknown_plugin_is_one_line_naming_the_option(
    tmp_path: Path, args: list[str], said: str
) -> None:
    """Not the ``[plugins]`` key the comparison would have written it into: the user
    typed an option, and the plugins.toml in the folder has no such key."""
    data = write_bars_csv(tmp_path / "XAUUSD.csv", generate_bars("XAUUSD", START, 300, seed=3))
    proc = replay(tmp_path, str(data), *args, "--report", "rep")
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(said), proc.stderr
    assert not (tmp_path / "rep" / "summary.json").exists()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_stop_after_the_baseline_is_an_interrupted_comparison(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """A stop that lands once the run without DTMS is back drops the run on its entries:
    the comparison comes back interrupted (exit 130 and the report so far), not as "dtms
    did nothing" (exit 3). The stop is recorded where the signal handler records it. The
    words say the baseline ended, and with ``--jobs 2`` that the run with DTMS trading
    freely, which ran beside it, is dropped."""
    from hostapp import ab
    from hostapp.config import load_config
    from hostapp.parallel import Runs

    class StoppedAfterTheBaseline(Runs):  # type: ignore[type-arg]
        def result(self, handle, *, keep=True):  # type: ignore[no-untyped-def]
            value = super().result(handle, keep=keep)
            self.interrupted = True  # what Runs._on_signal sets
            return value

    monkeypatch.setattr(ab, "Runs", StoppedAfterTheBaseline)
    monkeypatch.chdir(tmp_path)
    config = load_config(None)
    series = {"XAUUSD": generate_bars("XAUUSD", START, 600, seed=3)}
    replay = ab.Replay(config, series, "M5", "M5", tmp_path / "rep", {}, progress=False)
    with pytest.raises(ab.NoComparison) as stopped:
        ab.compare_runs("dtms", replay, jobs=jobs)
    without = stopped.value.run
    assert not without.interrupted and without.stats.cycles == 600  # it ended; the A/B did not
    dropped = " (its run with dtms trading freely, beside the first, is dropped)"
    assert str(stopped.value) == (
        "the A/B stopped after its first run (without dtms), before its run with dtms on the "
        f"same entries: no comparison{dropped if jobs == 2 else ''}"
    )


def test_a_stop_during_the_baseline_reports_the_baseline_alone(tmp_path: Path) -> None:
    """A Ctrl-C while the run without DTMS runs: there is no run with DTMS to compare it
    with. The report set the baseline beside itself as the run "with dtms (same entries)"
    (the same trades and P&L, "net R change +0.00R": DTMS changed nothing) and labelled
    its trades.csv rows "with". It is the plain replay of the baseline now, up to the
    stop, said as such, exit 130."""
    import os
    import signal
    import subprocess
    import sys

    from hostapp_loop.replay_cli import bars_folder

    here = bars_folder(tmp_path, bars=40_000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hostapp.cli", "replay", "XAUUSD.csv", "--compare", "--jobs", "1",
         "--report", "rep"],
        cwd=here, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # its progress: every 10 % of the three runs' bars
        seen.append(line)
        if line.startswith("A/B:  10%"):  # the baseline, about a third through
            proc.send_signal(signal.SIGINT)
            break
    _, err = proc.communicate(timeout=120)
    err = "".join(seen) + err
    assert proc.returncode == 130, err[-3000:]
    assert (
        "before its run with dtms on the same entries: no comparison; the report is that run, "
        "up to the stop"
    ) in err
    summary = json.loads((here / "rep" / "summary.json").read_text())
    assert summary["interrupted"] is True and "same_entries" not in summary
    assert "dtms" not in summary["plugins"]
    with (here / "rep" / "trades.csv").open(newline="") as f:
        runs = {r["run"] for r in csv.DictReader(f)}
    assert "with" not in runs
    assert "Traceback" not in err


def test_a_trade_open_at_the_end_carries_what_it_floats_at(
    compared: tuple[dict, list[dict[str, str]]], tmp_path: Path
) -> None:
    """trades.csv's open trades are marked open and carry their floating profit (the
    table's "P&L (open positions)", run by run) and the R they stand at; closed trades
    leave those columns empty, and ``r`` stays the closed trades' alone. The bars of the
    fixture end here inside one of its trades, so that trade is open at the end."""
    _, before = compared
    long = next(
        r for r in before if r["run"] == "without" and r["closed_at"] and float(r["hours_held"]) > 2
    )
    bars = generate_bars("XAUUSD", START, 3000, seed=3)
    opened = datetime.fromisoformat(long["opened_at"])
    data = write_bars_csv(tmp_path / "XAUUSD.csv", [b for b in bars if b.time <= opened])
    proc = replay(tmp_path, str(data), "--compare", "--json", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    with (tmp_path / "rep" / "trades.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    runs = {
        ("same_entries", "without"): summary["same_entries"]["without"],
        ("same_entries", "with"): summary["same_entries"]["with"],
        ("full", "with"): summary["full"]["with"],
    }
    still_open = 0
    for (comparison, run), figures in runs.items():
        mine = [r for r in rows if (r["comparison"], r["run"]) == (comparison, run)]
        still = [r for r in mine if r["close_reason"] == "open"]
        assert len(still) == figures["open_at_end"]
        assert all(not r["closed_at"] and not r["r"] and r["floating_r"] for r in still)
        floating = sum(float(r["floating_profit"]) for r in still)
        assert floating == pytest.approx(figures["floating_pnl"], abs=0.011)
        assert all(not r["floating_profit"] and not r["floating_r"] for r in mine if r["closed_at"])
        still_open += len(still)
    assert still_open  # the trade cut short, in each run


def test_trail_moves_on_trades_never_armed_are_in_dtms_note_and_activity(tmp_path: Path) -> None:
    """DTMS's trailing stop needs no arming (docs/dtms.md §6): its moves on trades it
    never evaluated changed their R, while its note said only "DTMS evaluated 0 of N
    trades" and its ``activity`` was 0. The note counts them apart from the ladder's
    actions, and ``activity`` counts them."""
    data = write_bars_csv(tmp_path / "XAUUSD.csv", generate_bars("XAUUSD", START, 3000, seed=3))
    (tmp_path / "plugins.toml").write_text(
        "[plugin.dtms]\n[plugin.dtms.arming]\nage_bars = 10000\nprofit_r = 1000\nloss_r = -1000\n"
    )
    proc = replay(tmp_path, str(data), "--compare", "--jobs", "1", "--report", "rep")
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    run = summary["same_entries"]["with"]
    report = run["plugin_reports"]["dtms"]
    moves, trades = report["trail_moves"], report["trail_trades"]
    assert report["evaluated"] == 0 and moves > 0 and report["activity"] == moves
    assert report["ladder_actions"] == {} and report["trail_trades_unarmed"] == trades
    assert run["actions_by_source"]["dtms"] == {"tighten_sl": moves}  # what the host saw
    said = (
        f"; and its trailing stop moved stops {moves} times on {trades} trades, before DTMS "
        "evaluated them (the trail needs no arming); its ladder took no action"
    )
    assert report["note"].startswith(f"DTMS evaluated 0 of {run['trades']} trades: ")
    assert report["note"].endswith(said)
    assert said in proc.stdout
