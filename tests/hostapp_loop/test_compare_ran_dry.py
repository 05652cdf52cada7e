"""A run whose account ran dry (wiped out, or every order refused for want of money from
some bar on) is said over the A/B's table, naming the run, from when and how much of the
data it never traded, and kept in ``summary.json`` as each run's ``ran_dry``: under the
table only, a plugin's +4R read as a result while its runs had stopped trading two
thirds of the way in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hostapp_loop.replay_cli import bars_folder, replay

from hostapp.brokers.paper_stop_out import StopOut
from hostapp.loop_stats import LoopStats
from hostapp.ran_dry import ran_dry


def test_runs_whose_account_ran_dry_are_warned_of_above_the_table(tmp_path: Path) -> None:
    here = bars_folder(tmp_path, bars=3000)
    config = here / "plugins.toml"
    text = config.read_text()
    # ten dollars: the minimum lot's loss at a stop is most of it
    config.write_text(text.replace("[host.paper]\n", "[host.paper]\nbalance = 10\n", 1))
    done = replay(here, "XAUUSD.csv", "--compare")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    warning = next(line for line in out.splitlines() if "the account ran dry" in line)
    assert warning.startswith("WARNING: the account ran dry in ")
    assert out.index(warning) < out.index("A/B of dtms")  # above the table
    summary = json.loads((here / ".hostapp" / "report" / "summary.json").read_text())
    runs = {
        "without dtms": summary["same_entries"]["without"],
        "with dtms, same entries": summary["same_entries"]["with"],
        "with dtms, full": summary["full"]["with"],
    }
    dry = {label: run["ran_dry"] for label, run in runs.items() if run["ran_dry"]}
    assert dry  # the account of ten dollars did not last
    for label, run in dry.items():
        since = datetime.fromisoformat(run["since"])
        assert f"{label} run was wiped out at {since:%Y-%m-%d %H:%M} UTC" in warning
        assert run["why"] == "wiped_out"
        assert 0 < run["bars_untraded"] < run["bars"]
        assert run["share"] == round(run["bars_untraded"] / run["bars"], 4)
        assert f"{run['bars_untraded']:,} of {run['bars']:,}, never traded after" in warning
    assert all(label not in warning for label in runs.keys() - dry.keys())


def test_a_run_that_kept_its_money_has_no_ran_dry(tmp_path: Path) -> None:
    here = bars_folder(tmp_path, bars=1500)
    done = replay(here, "XAUUSD.csv", "--compare")
    assert done.returncode == 0, done.stderr
    assert "ran dry" not in done.stdout
    summary = json.loads((here / ".hostapp" / "report" / "summary.json").read_text())
    assert summary["same_entries"]["without"]["ran_dry"] is None


T = datetime(2024, 3, 4, tzinfo=UTC)


def test_orders_refused_for_want_of_money_to_the_end_are_a_dry_account() -> None:
    """A MetaTrader account refusing every order with 10019 from some bar on has run
    dry too; one that got an order through after a refusal has not."""
    stats = LoopStats(bars=100)
    stats.refused("no_money", "No money", T)  # at bar 100
    stats.bars = 400
    stats.refused("no_money", "No money", T + timedelta(hours=1))
    assert ran_dry(stats, object()) == {
        "since": T.isoformat(),
        "why": "no_money",
        "bars_untraded": 300,
        "bars": 400,
        "share": 0.75,
    }
    stats.dry_from = None  # an order went through after it (the loop's doing)
    assert ran_dry(stats, object()) is None


def test_the_earlier_of_a_stop_out_and_the_refusals_is_where_it_ran_dry() -> None:
    class Broker:
        stop_out = StopOut(when=T, equity=-5.0, positions=1, start_balance=100.0, bars_after=90)

    stats = LoopStats(bars=100)
    stats.refused("no_money", "equity is not positive", T + timedelta(hours=2))
    dry = ran_dry(stats, Broker())
    assert dry is not None and dry["why"] == "wiped_out" and dry["bars_untraded"] == 90
