"""Why a comparison or a sweep calls its runs void (hostapp.compare.idle_reason): a
plugin its breaker switched off is not "idle", and one that acted before it was switched
off did something."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hostapp.compare import RunResult, idle_reason
from hostapp.loop_stats import LoopStats

START = datetime(2024, 3, 4, tzinfo=UTC)


def run(**summary: Any) -> RunResult:
    base = {"plugins": ["exits"], "trades": 12, "plugin_reports": {}, "tripped": []}
    return RunResult("with", LoopStats(), [], [], {**base, **summary}, 10_000.0, START)


TRIPPED = [{"plugin": "trail", "at": "2024-03-04T10:00:00+00:00", "why": "5 failures in a row"}]


def test_a_plugin_switched_off_before_it_acted_is_said_switched_off_not_idle() -> None:
    why = idle_reason("trail", [run(tripped=TRIPPED)], run())
    assert why == "its breaker switched it off: 5 failures in a row"


def test_a_plugin_that_acted_before_it_was_switched_off_did_something() -> None:
    acted = run(tripped=TRIPPED, actions_by_source={"trail": {"tighten_sl": 12}})
    assert idle_reason("trail", [acted], run()) is None


def test_a_plugin_that_ran_and_did_nothing_is_idle_in_the_host_s_words() -> None:
    quiet = run(plugins=["exits", "trail"])
    assert idle_reason("trail", [quiet], run()) == "it took no action and vetoed nothing"


def test_another_plugin_s_vetoes_are_not_the_compared_plugin_s_activity() -> None:
    guarded = run(plugins=["exits", "guard", "trail"], orders_vetoed=118)
    guarded.summary["orders_vetoed_by"] = {"guard": 118}
    assert idle_reason("trail", [guarded], run()) == "it took no action and vetoed nothing"
    own = run(plugins=["exits", "trail"], orders_vetoed=3, orders_vetoed_by={"trail": 3})
    assert idle_reason("trail", [own], run()) is None


def test_a_run_whose_results_differ_from_its_baseline_s_is_not_idle() -> None:
    """The plugin is all that tells the runs apart: it changed them, whatever the host
    counted of it; an ``--against`` baseline runs another plugin, which may be the cause."""
    changed = run(plugins=["exits", "trail"], pnl=-120.5)
    assert idle_reason("trail", [changed], run(pnl=40.0)) is None
    rival = run(plugins=["exits", "rival"], pnl=40.0)
    assert idle_reason("trail", [changed], rival) == "it took no action and vetoed nothing"
