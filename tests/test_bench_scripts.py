"""Every script in bench/ (the README's ``make bench``) still runs: each, found by glob so a
new one is covered too, runs with ``--quick`` (the same code path at a small size) in a
real process, exits 0 and ends with a JSON line holding the keys its docstring promises.
And ``make -n bench`` (a dry run: nothing is built or run) names every one of them."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from support.redis_server import redis_binary

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py"))

#: A few of the keys each script's last line promises (``a.b``: key ``b`` of ``a``'s value,
#: or of its first item when it is a list). A new bench must be listed here to pass.
PROMISED: dict[str, tuple[str, ...]] = {
    "compare_jobs.py": ("bars", "jobs_1_s", "jobs_2_s", "speedup", "same_trades"),
    "dashboard_page.py": ("all_ms", "all_bytes", "all_pages", "page_ms", "page_bytes"),
    "defence_table.py": ("rows", "M5.dd_dtms", "H1.loss_dtms", "all.dtms_win_share"),
    "engine_cycle.py": (
        "cycle_ms_1000",
        "cycle_ms_10000",
        "replay_bars_per_s",
        "replay_stage_us.all",
        "store_cycle_ms_1000",
        "insert_growth_10000",
    ),
    "hook_dispatch.py": ("host_us_p50_1", "pluggy_us_p50_1", "host_us_p90_10", "pluggy_us_p90_10"),
    "peer_replay.py": (
        "backtrader_bars_per_s",
        "hostapp_off_bars_per_s",
        "hostapp_on_bars_per_s",
        "backtrader_trades",
        "hostapp_trades",
        "hostapp_on_trades",
    ),
    "remote.py": ("outbox_drain_1000_s", "is_defensive_us_p50", "batch_1000_ms", "server_rps"),
    "replay_speed.py": ("bars_per_s_dtms_on", "bars_per_s_dtms_off", "ratio_on_off"),
    "replicas.py": ("clients", "trades", "rounds.registrations_per_s", "rounds.queries_per_s"),
    "serve_burst.py": (
        "registered",
        "cycles_run",
        "cycles_due",
        "max_cycle_gap_s",
        "max_cycle_late_s",
        "health_ms_p99",
        "trade_ms_p99",
    ),
    "serve_startup.py": ("serve_startup.health_s", "serve_startup.rss_mb"),
    "soak.py": ("trades", "rss_mb_per_1000_trades_host", "store_kb_per_1000_trades"),
}

#: the benches that start a redis-server of their own (skipped without one, failed under CI)
NEEDS_REDIS = {"replicas.py"}

#: a bound for a loaded machine, not a timing: each takes seconds
TIMEOUT_S = 600


def holds(figures: Any, path: str) -> bool:
    """Is ``path`` (keys joined by dots) in ``figures``? A list stands for its first item."""
    value = figures
    for key in path.split("."):
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    return True


def run_quick(script: Path, folder: Path) -> tuple[int, str, str]:
    """``python bench/SCRIPT --quick`` in ``folder``, beside the shipped plugins.toml as in
    the repository's root; on the timeout the whole process group goes (a bench's servers
    too). Returns the exit status, stdout and stderr."""
    shutil.copy(ROOT / "plugins.toml", folder / "plugins.toml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "DTMS_"))}
    with subprocess.Popen(
        [sys.executable, str(script), "--quick"],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            out, err = proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            pytest.fail(f"{script.name} --quick still ran after {TIMEOUT_S} s: {err[-2000:]}")
    return proc.returncode, out, err


@pytest.mark.parametrize("name", SCRIPTS)
def test_bench_runs_quick(name: str, tmp_path: Path) -> None:
    assert name in PROMISED, f"list the JSON keys bench/{name} promises in PROMISED"
    if name in NEEDS_REDIS:
        redis_binary()  # skips without redis-server, fails under CI=true
    status, out, err = run_quick(BENCH / name, tmp_path)
    assert status == 0, f"bench/{name} --quick exited {status}:\n{out[-2000:]}\n{err[-3000:]}"
    lines = out.strip().splitlines()
    assert lines, f"bench/{name} --quick printed nothing: {err[-2000:]}"
    figures = json.loads(lines[-1])
    assert isinstance(figures, dict), lines[-1]
    missing = [key for key in PROMISED[name] if not holds(figures, key)]
    assert not missing, f"bench/{name}'s JSON lacks {missing}: {lines[-1][:2000]}"
    assert len(lines) > 1, f"bench/{name} printed its JSON line only, no figures"


def test_every_listed_bench_exists() -> None:
    assert sorted(PROMISED) == SCRIPTS


@pytest.mark.parametrize("name", SCRIPTS)
def test_bench_docstring_says_quick(name: str) -> None:
    doc = ast.get_docstring(ast.parse((BENCH / name).read_text(encoding="utf-8")))
    assert doc and "--quick" in doc, f"bench/{name}'s docstring does not say what --quick does"


def test_make_bench_names_every_script() -> None:
    """``make -n bench`` prints the recipe (and any install it would do first) without
    running anything; the loop names each script itself, not a shell glob."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    # a make above this one (make test) must not lend its flags or jobserver to the dry run
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    proc = subprocess.run(
        [make, "-n", "bench"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    named = sorted(set(re.findall(r"\bbench/([\w-]+\.py)\b", proc.stdout)))
    assert named == SCRIPTS, proc.stdout
