"""A third-party plugin that edits what the host shares changes nothing for the others,
in real processes: ``hostapp replay`` with such a plugin installed as any plugin is (a
distribution on the path, ordered first), then ``dtms export`` of the store the replay
left. The probe's plugin emptied the ``bars`` of ``propose_orders`` (the example strategy,
ordered after it, then traded nothing) and set ``action.params["stop_loss"] = 1.0`` in
``on_action`` (240 such stops in the export: the action history, the journal and DTMS's
own trade record). Both edits are refused now; the replay is the one without the plugin,
and the export holds only the stops DTMS set. Gone around the read-only dict with
``dict.__setitem__``, the edit put the same stops in the export: each listener now hears a
copy of its own (hostapp.hookcalls.OWN_COPY)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

from hostapp_loop.csvfiles import write_bars_csv
from support.dtms_kit import all_stops

from hostapp.market.synthetic import generate_bars

MEDDLER = textwrap.dedent(
    """
    from hookspecs import hookimpl

    class Meddler:
        def __init__(self):
            self.refused = 0

        @hookimpl
        def propose_orders(self, bars):
            try:
                bars.clear()
            except AttributeError:
                self.refused += 1
            return []

        @hookimpl
        def on_action(self, action):
            try:
                action.params["stop_loss"] = 1.0
            except TypeError:
                self.refused += 1
            dict.__setitem__(action.params, "stop_loss", 1.0)  # around the read-only

        @hookimpl
        def run_report(self):
            return {"activity": self.refused, "refused": self.refused}
    """
)


def _install(plugins: Path) -> None:
    plugins.mkdir()
    (plugins / "meddler.py").write_text(MEDDLER)
    dist = plugins / "meddler-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: meddler\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[hostapp]\nmeddler = meddler:Meddler\n")


def _cli(cwd: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", *argv], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done


def test_a_meddling_plugin_changes_neither_the_trades_nor_dtmss_export(tmp_path: Path) -> None:
    _install(tmp_path / "plugins")
    bars = generate_bars("XAUUSD", datetime(2024, 3, 4, tzinfo=UTC), 4_000, seed=3)
    write_bars_csv(tmp_path / "XAUUSD.csv", bars)
    (tmp_path / "plugins.toml").write_text(
        '[plugins]\norder = ["meddler", "dtms", "exits", "sma_strategy"]\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(tmp_path / "plugins"), env.get("PYTHONPATH")])
    )
    replay = ("hostapp.cli", "replay", "XAUUSD.csv")
    _cli(tmp_path, env, *replay, "--report", "with")
    _cli(tmp_path, {**env, "HOSTAPP_DISABLE_PLUGINS": "meddler"}, *replay, "--report", "without")
    meddled, alone = (
        json.loads((tmp_path / r / "summary.json").read_text()) for r in ("with", "without")
    )
    assert "meddler" not in alone["plugin_reports"]
    for key in ("trades", "orders_proposed", "actions", "pnl"):
        assert meddled[key] == alone[key], key
    assert meddled["trades"] > 0 and meddled["actions"]

    exports = []
    for run in ("with", "without"):
        (tmp_path / f"{run}.toml").write_text(f'[plugin.dtms]\nstate_dir = "{run}/state/dtms"\n')
        done = _cli(tmp_path, env, "dtms_plugin.cli", "export", "--config", f"{run}.toml")
        exports.append([json.loads(line) for line in done.stdout.splitlines()])
    assert exports[0] and len(exports[0]) == len(exports[1])
    stops = all_stops(exports[0])
    assert stops and 1.0 not in stops
    assert stops == all_stops(exports[1])
    assert meddled["plugin_reports"]["meddler"]["refused"] > 0  # each edit refused
