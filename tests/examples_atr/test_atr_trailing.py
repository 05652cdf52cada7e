"""The Chandelier-exit baseline: its stop, that it only tightens and leaves DTMS's hedges
alone, that installing it changes nothing until it is enabled, and the A/B against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from atr_trailing.plugin import ChandelierExit, chandelier_stop
from hostapp_loop.csvfiles import write_bars_csv

from hookspecs import Bar, ConfigError, OrderRequest
from hostapp.config import config_from_dict
from hostapp.loader import load_plugins
from hostapp.market.synthetic import generate_bars
from hostapp.testing import T0, bars_from_closes


def test_the_stop_is_the_extreme_minus_a_multiple_of_atr() -> None:
    bars = [Bar(T0, 10.0, 12.0, 9.0, 11.0), Bar(T0, 11.0, 14.0, 10.0, 13.0),
            Bar(T0, 13.0, 13.5, 11.0, 12.0)]  # fmt: skip
    # true ranges of the last 2 bars: max(14, 11) - min(10, 11) = 4; max(13.5, 13) - 11 = 2.5
    assert chandelier_stop("buy", bars, 2, 3.0) == pytest.approx(14.0 - 3 * 3.25)
    assert chandelier_stop("sell", bars, 2, 3.0) == pytest.approx(10.0 + 3 * 3.25)


async def test_it_trails_tighter_only_and_skips_hedges(hostapp_factory: Any) -> None:
    plugin = ChandelierExit()
    closes = [100.0 + i for i in range(30)]
    host = hostapp_factory({"atr_trailing": plugin}, {"plugin": {"atr_trailing": {"period": 5}}})
    host.market.add("XAUUSD", bars_from_closes(closes))
    host.broker.set_price("XAUUSD", closes[-1])
    buy = host.broker.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=90.0))
    hedge = host.broker.open(OrderRequest("XAUUSD", "sell", 0.1, comment="DTMS_HEDGE_1"))
    await host.plugins.on_cycle(host, T0)
    moved = host.broker.position(buy.new_ticket)
    assert moved is not None and moved.stop_loss is not None and moved.stop_loss > 90.0
    assert host.broker.position(hedge.new_ticket).stop_loss is None  # not ours
    assert plugin.moves == 1
    await host.plugins.on_cycle(host, T0)  # the same bar: nothing again
    assert plugin.moves == 1
    host.market.add("XAUUSD", bars_from_closes([80.0] * 8, start=T0.replace(year=2031)))
    await host.plugins.on_cycle(host, T0)  # the market fell: the stop would loosen, so stays
    assert host.broker.position(buy.new_ticket).stop_loss == moved.stop_loss
    assert host.plugins.run_report(host)["atr_trailing"]["stops_moved"] == 1


def test_installed_but_off_until_enabled() -> None:
    from importlib.metadata import entry_points

    from hookspecs.markers import OPTIONAL_ENTRY_POINT_GROUP

    assert "atr_trailing" in {ep.name for ep in entry_points(group=OPTIONAL_ENTRY_POINT_GROUP)}
    off = load_plugins(config_from_dict({}), env={})
    assert not off.is_enabled("atr_trailing")
    rows = {p.name: p for p in off.listing()}
    assert rows["atr_trailing"].status == "disabled"
    on = load_plugins(config_from_dict({"plugins": {"enabled": ["atr_trailing"]}}), env={})
    assert on.is_enabled("atr_trailing")
    with pytest.raises(ConfigError, match="key 'enabled': no plugin named 'nope'"):
        load_plugins(config_from_dict({"plugins": {"enabled": ["nope"]}}), env={})


def test_replay_compare_against_the_baseline(tmp_path: Path) -> None:
    start = datetime(2024, 3, 4, tzinfo=UTC)
    data = write_bars_csv(tmp_path / "XAUUSD.csv", generate_bars("XAUUSD", start, 2000, seed=4))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    proc = subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", str(data), "--compare", "dtms",
         "--against", "atr_trailing", "--json", "--report", "rep"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout)
    assert summary["against"] == "atr_trailing"
    baseline, same = summary["same_entries"]["without"], summary["same_entries"]["with"]
    assert "atr_trailing" in baseline["plugins"] and "dtms" not in baseline["plugins"]
    assert "dtms" in same["plugins"] and "atr_trailing" not in same["plugins"]
    assert baseline["plugin_reports"]["atr_trailing"]["stops_moved"] > 0
    paired = summary["same_entries"]["paired"]
    assert paired["pairs"] == baseline["trades"] == same["trades"] and paired["unpaired"] == 0
    entries = summary["full"]["entries"]
    full = summary["full"]["with"]
    assert entries["not_taken"] == baseline["trades"] - (full["trades"] - entries["new_trades"])
