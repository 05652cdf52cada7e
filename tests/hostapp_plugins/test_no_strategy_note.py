"""A run in which no enabled plugin implements ``propose_orders`` opens no trade of its
own: its summary was all zeros, exit 0, with no word of why. A note of the run says it
now; a run with a strategy has no such note."""

from __future__ import annotations

from typing import Any

import pytest

from hookspecs import OrderRequest, hookimpl
from hostapp import event_loop
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.driving import drive, run_results
from hostapp.market.synthetic import generate_bars
from hostapp.testing import T0

NOTE = "no enabled plugin proposes orders (propose_orders): the run opened no trade of its own"


class Watcher:
    """Sees every cycle, proposes nothing: not a strategy."""

    @hookimpl
    def on_cycle(self) -> None:
        pass


class Crashes:
    """A strategy whose every call fails: switched off by its breaker in the run."""

    @hookimpl
    def propose_orders(self, symbol: str) -> list[OrderRequest]:
        raise RuntimeError("no model")


def _summary(builtins: dict[str, Any], config: dict[str, Any] | None = None) -> dict[str, Any]:
    app = build_sim_app(
        config_from_dict({"host": {"symbols": ["XAUUSD"], "timeframe": "M5"}, **(config or {})}),
        {"XAUUSD": generate_bars("XAUUSD", T0, 400, seed=3)},
        base_timeframe="M5", builtins=builtins, entry_points=[], env={},
    )  # fmt: skip
    stats = event_loop.run(drive(app, progress=None))
    summary, _ = run_results(app, stats, {"mode": "replay"})
    return summary


def test_a_run_without_a_strategy_says_it_opened_no_trade() -> None:
    summary = _summary({"watcher": Watcher()})
    assert summary["trades"] == 0
    assert NOTE in summary["host_notes"]


@pytest.mark.parametrize(
    ("builtins", "config"),
    [
        ({"sma_strategy": "sma_strategy.plugin"}, None),  # the example strategy
        (
            {"sma_strategy": "sma_strategy.plugin", "watcher": Watcher()},
            {"plugins": {"disabled": ["watcher"]}},
        ),
    ],
)
def test_a_run_with_a_strategy_has_no_such_note(
    builtins: dict[str, Any], config: dict[str, Any] | None
) -> None:
    summary = _summary(builtins, config)
    assert summary["trades"] > 0
    assert NOTE not in summary["host_notes"]


def test_a_strategy_switched_off_in_the_run_has_its_failure_noted_instead() -> None:
    summary = _summary({"crashes": Crashes()})
    assert [t["plugin"] for t in summary["tripped"]] == ["crashes"]
    assert NOTE not in summary["host_notes"]
    assert any(n.startswith("plugin crashes was switched off") for n in summary["host_notes"])


def test_a_disabled_strategy_counts_for_none() -> None:
    summary = _summary(
        {"sma_strategy": "sma_strategy.plugin", "watcher": Watcher()},
        {"plugins": {"disabled": ["sma_strategy"]}},
    )
    assert summary["trades"] == 0
    assert NOTE in summary["host_notes"]
