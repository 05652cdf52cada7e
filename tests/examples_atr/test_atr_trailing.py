"""The Chandelier-exit baseline: its stop, that it only tightens and leaves DTMS's hedges
and defended trades alone, that installing it changes nothing until it is enabled, and the
A/B against it."""

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

from hookspecs import Action, ActionResult, Bar, ConfigError, OrderRequest, hookimpl
from hostapp.app import build_sim_app, with_data_root
from hostapp.config import config_from_dict
from hostapp.data import config_series
from hostapp.driving import drive
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
    await host.plugins.manage_positions(host, T0)
    moved = host.broker.position(buy.new_ticket)
    assert moved is not None and moved.stop_loss is not None and moved.stop_loss > 90.0
    assert host.broker.position(hedge.new_ticket).stop_loss is None  # not ours
    assert plugin.moves == 1
    await host.plugins.manage_positions(host, T0)  # the same bar: nothing again
    assert plugin.moves == 1
    host.market.add("XAUUSD", bars_from_closes([80.0] * 8, start=T0.replace(year=2031)))
    await host.plugins.manage_positions(
        host, T0
    )  # the market fell: the stop would loosen, so stays
    assert host.broker.position(buy.new_ticket).stop_loss == moved.stop_loss
    assert host.plugins.run_report(host)["atr_trailing"]["stops_moved"] == 1


class Guard:
    """A defender that says the tickets it was given are defended."""

    def __init__(self, *tickets: int) -> None:
        self.tickets = set(tickets)

    @hookimpl
    def is_defensive(self, ticket: int) -> bool:
        return ticket in self.tickets


async def test_a_defended_trade_is_left_to_its_defender_and_counted(hostapp_factory: Any) -> None:
    plugin, guard = ChandelierExit(), Guard()
    closes = [100.0 + i for i in range(30)]
    host = hostapp_factory({"atr_trailing": plugin, "guard": guard},
                           {"plugin": {"atr_trailing": {"period": 5}}})  # fmt: skip
    host.market.add("XAUUSD", bars_from_closes(closes))
    host.broker.set_price("XAUUSD", closes[-1])
    free = host.broker.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=90.0)).new_ticket
    defended = host.broker.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=90.0)).new_ticket
    guard.tickets.add(defended)
    await host.plugins.manage_positions(host, T0)
    assert host.broker.position(free).stop_loss > 90.0
    assert host.broker.position(defended).stop_loss == 90.0
    assert [a.ticket for a, _ in host.executed] == [free]
    report = host.plugins.run_report(host)["atr_trailing"]
    assert report["stops_moved"] == 1 and report["held_defensive"] == {str(defended): 1}


class Witness:
    """At every stop atr_trailing moves, asks the host whether the trade was defended."""

    def __init__(self) -> None:
        self.moves: list[int] = []
        self.defended: list[int] = []

    @hookimpl
    def on_action(self, host: Any, action: Action, result: ActionResult) -> None:
        if action.source == "atr_trailing" and result.ok:
            self.moves.append(action.ticket)
            if host.is_defensive(action.ticket):
                self.defended.append(action.ticket)


async def test_in_a_real_run_beside_dtms_no_defended_stop_is_moved(tmp_path: Path) -> None:
    """The run that showed it: DTMS defends trades (and the whole account after a losing
    streak) while the Chandelier trails the same trades."""
    config = config_from_dict({
        "host": {"symbols": ["XAUUSD", "EURUSD", "USDJPY"]},
        "plugins": {"enabled": ["atr_trailing"]},
        "plugin": {"atr_trailing": {"period": 10, "multiple": 1.5}},
    })  # fmt: skip
    config = with_data_root(config, tmp_path)
    series, base = config_series(config, days=30, seed=0)
    witness = Witness()
    app = build_sim_app(config, series, base_timeframe=base, builtins={"witness": witness}, env={})
    await drive(app, progress=None)
    report = app.plugin_reports["atr_trailing"]
    assert len(witness.moves) == report["stops_moved"] > 100
    assert witness.defended == []
    assert report["held_defensive"]  # DTMS defended some of them, and they were left alone


def test_installed_but_off_until_enabled() -> None:
    from importlib.metadata import entry_points

    from hookspecs.markers import OPTIONAL_ENTRY_POINT_GROUP

    assert "atr_trailing" in {ep.name for ep in entry_points(group=OPTIONAL_ENTRY_POINT_GROUP)}
    off = load_plugins(config_from_dict({}), env={})
    assert not off.is_enabled("atr_trailing")
    rows = {p.name: p for p in off.listing()}
    assert rows["atr_trailing"].status == "optional"  # not "disabled": nobody turned it off
    on = load_plugins(config_from_dict({"plugins": {"enabled": ["atr_trailing"]}}), env={})
    assert on.is_enabled("atr_trailing")
    with pytest.raises(ConfigError, match="key 'enabled': no plugin named 'nope'"):
        load_plugins(config_from_dict({"plugins": {"enabled": ["nope"]}}), env={})


def _replay(tmp_path: Path, config: str, *args: str) -> subprocess.CompletedProcess[str]:
    start = datetime(2024, 3, 4, tzinfo=UTC)
    data = write_bars_csv(tmp_path / "XAUUSD.csv", generate_bars("XAUUSD", start, 2000, seed=4))
    (tmp_path / "plugins.toml").write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    return subprocess.run(
        [sys.executable, "-m", "hostapp.cli", "replay", str(data), *args, "--report", "rep"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "off"),
    [
        (["--compare", "dtms", "--against", "atr_trailing"], ""),
        (["--compare", "atr_trailing"], "dtms"),
    ],
)
def test_a_comparison_of_an_optional_plugin_switched_on_in_the_config(
    tmp_path: Path, args: list[str], off: str
) -> None:
    """The README's way to run an optional plugin is ``[plugins] enabled``: the runs that
    leave it out must take it out of ``enabled`` too (a name in both lists is refused,
    which ended such a comparison in a traceback)."""
    disabled = f'disabled = ["{off}"]\n' if off else ""
    proc = _replay(tmp_path, f'[plugins]\nenabled = ["atr_trailing"]\n{disabled}', *args, "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    summary = json.loads(proc.stdout)
    plugin = args[1]
    assert plugin not in summary["same_entries"]["without"]["plugins"]
    assert plugin in summary["same_entries"]["with"]["plugins"]


def test_a_run_where_every_trade_was_under_defence_says_why_no_stop_moved() -> None:
    """A comparison calls such a run void (exit 3) and prints the plugin's note as why:
    "it took no action" would hide that it was held back, not idle."""
    from atr_trailing.plugin import ChandelierExit

    plugin = ChandelierExit()
    plugin.held_back = {5: 3, 9: 1}
    note = plugin.run_report()["note"]
    assert note.startswith("moved no stop: the 2 trades it would have trailed were under")
    plugin.moves = 1
    assert "note" not in plugin.run_report()  # it acted: nothing to explain


def test_a_timeframe_the_data_cannot_give_is_refused_at_start_up(tmp_path: Path) -> None:
    """M1 bars from M5 data: one line before any run, not a failure on every bar until
    the breaker switched the baseline off and the run still exited 0."""
    config = '[plugins]\nenabled = ["atr_trailing"]\n[plugin.atr_trailing]\ntimeframe = "M1"\n'
    proc = _replay(tmp_path, config)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert (
        "[plugin.atr_trailing] timeframe: M1 bars cannot be built from the market's M5 bars"
        in proc.stderr
    )


@pytest.mark.parametrize("value", ["inf", "nan", "-1.0", "0.0"])
def test_a_multiple_that_is_no_finite_positive_number_is_refused(
    tmp_path: Path, value: str
) -> None:
    """``multiple = inf`` put every stop infinitely far: the plugin ran and never trailed."""
    config = f'[plugins]\nenabled = ["atr_trailing"]\n[plugin.atr_trailing]\nmultiple = {value}\n'
    proc = _replay(tmp_path, config)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "[plugin.atr_trailing]" in lines[0], lines
    assert "key 'multiple': expected a finite number > 0" in lines[0]


def test_a_period_longer_than_the_data_says_why_no_stop_moved(tmp_path: Path) -> None:
    """``period = 100000`` on 2,000 bars: it never had the bars its ATR needs, and said
    nothing, its activity 0, as if the trades had never needed trailing."""
    config = '[plugins]\nenabled = ["atr_trailing"]\n[plugin.atr_trailing]\nperiod = 100000\n'
    proc = _replay(tmp_path, config, "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)["plugin_reports"]["atr_trailing"]
    assert report["stops_moved"] == 0
    assert report["note"] == (
        "moved no stop: its Chandelier over 100000 bars needs 100,001 closed M5 bars of a "
        "symbol, and the run had at most 1,999 (lower period)"
    )


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
    # fair: no defender runs in the baseline, so it trails every trade it would alone
    assert baseline["plugin_reports"]["atr_trailing"]["held_defensive"] == {}
    paired = summary["same_entries"]["paired"]
    assert paired["pairs"] == baseline["trades"] == same["trades"] and paired["unpaired"] == 0
    entries = summary["full"]["entries"]
    full = summary["full"]["with"]
    assert entries["not_taken"] == baseline["trades"] - (full["trades"] - entries["new_trades"])
