"""What the plugin author's manual (docs/plugins.md, the hookspecs docstrings) says of the
host is what the host does: each test reads the claim and checks the behaviour.

* ``propose_orders`` fires once per symbol per cycle, except in the "same entries" run of
  an A/B, which replays the entries of the run without the compared plugin;
* a plugin's log lines carry the name of the logger they are written with: ``host.log``
  is the host's (``hostapp.host``), so the guide has a plugin log through its own;
* a :class:`hookspecs.SeriesView` may answer ``None``: a live paper run's feed offers the
  method and streams the builtin data;
* a plugin imports ``hookspecs`` alone but installs the ``hostapp`` distribution, which
  ships it.
"""

from __future__ import annotations

import ast
import inspect
import logging
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hookspecs import OrderRequest, SeriesView, hookimpl, spec
from hookspecs.host import HostView
from hostapp.app import build_sim_app
from hostapp.config import config_from_dict
from hostapp.driving import drive
from hostapp.market.synthetic import SyntheticSeries
from hostapp.testing import T0, bars_from_closes

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
BARS = bars_from_closes([2000.0 + i % 7 for i in range(60)])


def _flat(text: str) -> str:
    return " ".join(text.split())


class Watcher:
    def __init__(self) -> None:
        self.asked = 0

    @hookimpl
    def propose_orders(self) -> list[OrderRequest]:
        self.asked += 1
        return []


async def test_propose_orders_is_never_asked_in_a_same_entries_run() -> None:
    said = _flat(inspect.getdoc(spec.propose_orders) or "")
    assert 'Never in the "same entries" run of an A/B' in said
    config = config_from_dict({"host": {"symbols": ["XAUUSD"]}})
    at = BARS[30].time + timedelta(minutes=5)  # the close of bar 30: a cycle's time
    entries = {(at, "XAUUSD"): [OrderRequest("XAUUSD", "buy", 0.1, source="baseline")]}
    for script, asked in ((None, len(BARS)), (entries, 0)):
        watcher = Watcher()
        app = build_sim_app(
            config, {"XAUUSD": BARS}, base_timeframe="M5", builtins={"watcher": watcher},
            entry_points=[], env={}, entries=script,
        )  # fmt: skip
        stats = await drive(app, progress=None)
        assert watcher.asked == asked
    assert len(stats.entries) == 1  # the scripted entry was opened


async def test_host_log_is_the_hosts_logger_and_a_plugins_own_carries_its_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert "`host.log` is the host's logger, `hostapp.host`" in _flat(GUIDE)
    assert "hostapp.host" in (inspect.getdoc(HostView.log) or "")

    class Talker:
        @hookimpl
        def on_cycle(self, host: Any) -> None:
            host.log.info("through host.log")
            logging.getLogger("talker").info("through its own")

    config = config_from_dict({"host": {"symbols": ["XAUUSD"]}})
    app = build_sim_app(
        config, {"XAUUSD": BARS[:3]}, base_timeframe="M5", builtins={"talker": Talker()},
        entry_points=[], env={},
    )  # fmt: skip
    with caplog.at_level(logging.INFO):
        await drive(app, progress=None)
    names = {r.getMessage(): r.name for r in caplog.records if r.getMessage().startswith("thr")}
    assert names == {"through host.log": "hostapp.host", "through its own": "talker"}


def test_a_live_paper_runs_market_offers_series_and_answers_none_for_streamed_data(
    tmp_path: Path,
) -> None:
    said = _flat(inspect.getdoc(SeriesView) or "")
    assert "a live paper run's view is the same feed" in said
    assert "answers ``None`` for a series it streams" in said
    config = config_from_dict(
        {"host": {"symbols": ["XAUUSD"], "paper": {"account_file": str(tmp_path / "a.db")}}}
    )
    streamed = {"XAUUSD": SyntheticSeries("XAUUSD", T0, T0 + timedelta(days=2), seed=1)}
    live = build_sim_app(
        config, streamed, base_timeframe="M5", shared_account=True, speed=1000.0,
        entry_points=[], env={},
    )  # fmt: skip
    try:
        assert live.host.mode == "live" and isinstance(live.host.market, SeriesView)
        assert live.host.market.series("XAUUSD", "M5") is None
    finally:
        live.broker.release()  # type: ignore[attr-defined]
    whole = build_sim_app(config, {"XAUUSD": BARS}, base_timeframe="M5", entry_points=[], env={})
    assert isinstance(whole.host.market, SeriesView)
    answered = whole.host.market.series("XAUUSD", "M5")
    assert answered is not None and list(answered[0]) == BARS


def test_a_plugin_imports_hookspecs_alone_and_installs_hostapp() -> None:
    assert "depends on the `hookspecs` package alone" not in GUIDE
    assert 'declares `dependencies = ["hostapp"]`' in _flat(GUIDE)
    for project in sorted((ROOT / "examples").glob("*/pyproject.toml")):
        meta = tomllib.loads(project.read_text(encoding="utf-8"))["project"]
        assert "hostapp" in meta["dependencies"], project
        sources = sorted(project.parent.glob(f"{meta['name'].replace('-', '_')}/*.py"))
        assert sources, project
        for source in sources:
            tree = ast.parse(source.read_text(encoding="utf-8"))
            imported = [
                *(a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names),
                *(n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)),
            ]
            assert not [m for m in imported if m.split(".")[0] == "hostapp"], source
