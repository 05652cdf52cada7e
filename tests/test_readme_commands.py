"""The README's commands, run as written in a folder holding the shipped plugins.toml and
an XAUUSD.csv of the user's own bars: each exits 0 and does what the README says."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hostapp_loop.replay_cli import bars_folder, python

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bars_folder(tmp_path_factory.mktemp("readme"), bars=2500, seed=9)


def run(folder: Path, command: str, shown: str = "") -> subprocess.CompletedProcess[str]:
    """``command`` as the README writes it (``shown``, when it differs: an optional flag in
    brackets), with this Python; ``NAME=value`` words before the program are its
    environment, as a shell reads them."""
    text = shown or command
    assert text.removeprefix(".venv/bin/") in README, f"the README no longer shows {text!r}"
    words = command.split()
    env = {}
    while "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    program, *args = words
    module = {"hostapp": "hostapp.cli", "dtms": "dtms_plugin.cli"}[Path(program).name]
    return python(folder, "-m", module, *args, env=env)


def test_plugins_listing(folder: Path) -> None:
    proc = run(folder, ".venv/bin/hostapp plugins --json", ".venv/bin/hostapp plugins [--json]")
    assert proc.returncode == 0, proc.stderr
    rows = {p["name"]: p for p in json.loads(proc.stdout)}
    assert rows["dtms"]["status"] != "disabled" and rows["atr_trailing"]["status"] == "optional"


def test_the_main_job(folder: Path) -> None:
    proc = run(folder, ".venv/bin/hostapp run --days 30 --seed 0")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "A/B of dtms" in proc.stdout and "winners' R kept" in proc.stdout
    summary = json.loads((folder / ".hostapp/report/summary.json").read_text())
    assert summary["days"] == 30 and summary["plugin_reports"]["dtms"]["evaluated"] > 0


@pytest.mark.parametrize(
    "command",
    [
        ".venv/bin/hostapp replay XAUUSD.csv --compare",
        ".venv/bin/hostapp replay XAUUSD.csv --compare dtms --against atr_trailing",
        # docs/dtms.md §6's set-up: the two managers alone, the exit manager off in both
        "HOSTAPP_DISABLE_PLUGINS=exits hostapp replay XAUUSD.csv --compare dtms "
        "--against atr_trailing",
    ],
)
def test_the_replay_comparisons(folder: Path, command: str) -> None:
    proc = run(folder, command)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((folder / ".hostapp/report/summary.json").read_text())
    assert summary["same_entries"]["paired"]["unpaired"] == 0
    assert summary["against"] == ("atr_trailing" if "--against" in command else None)
    assert (folder / ".hostapp/report/trades.csv").exists()
    exits_on = "exits" in summary["in_every_run"]
    assert exits_on == ("HOSTAPP_DISABLE_PLUGINS" not in command)
    noted = any("(manage_positions)" in n for n in summary["notes"])
    assert noted == (exits_on and "--against" in command)


def test_the_dtms_server(folder: Path) -> None:
    """``dtms serve --port 8001`` as written: it comes up healthy on 127.0.0.1 and stops
    on SIGINT. The port is the README's own; the test is skipped when something else
    already holds it, rather than fighting another process for it."""
    import signal
    import socket
    import time
    import urllib.error
    import urllib.request

    command = ".venv/bin/dtms serve --port 8001"
    assert command.removeprefix(".venv/bin/") in README
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 8001)) == 0:
            pytest.skip("port 8001 is in use on this machine")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "DTMS_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dtms_plugin.cli", *command.split()[1:]],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            try:
                with urllib.request.urlopen("http://127.0.0.1:8001/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() < deadline, "dtms serve did not become healthy"
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) in (0, 130)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_the_live_demo(tmp_path: Path) -> None:
    """``hostapp run --live --serve --speed 120`` as written, in a folder holding only the
    shipped plugins.toml (no ``.hostapp`` yet): the dashboard on 127.0.0.1:8002 soon lists
    trades, closed ones among them; SIGINT stops the run with its report. Skipped when
    something else holds the README's port."""
    import signal
    import socket
    import time
    import urllib.error
    import urllib.request

    command = ".venv/bin/hostapp run --live --serve --speed 120"
    assert command.removeprefix(".venv/bin/") in README
    with socket.socket() as s:
        if s.connect_ex(("127.0.0.1", 8002)) == 0:
            pytest.skip("port 8002 is in use on this machine")
    shutil.copy(ROOT / "plugins.toml", tmp_path / "plugins.toml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "DTMS_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hostapp.cli", *command.split()[1:]],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def states() -> dict[str, int]:
        try:
            with urllib.request.urlopen("http://127.0.0.1:8002/dtms/status", timeout=2) as r:
                return dict(json.loads(r.read())["states"])
        except (urllib.error.URLError, ConnectionError):
            return {}

    try:
        deadline = time.monotonic() + 300  # a bound for a loaded machine, not a timing
        while not states().get("CLOSED"):
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.monotonic() < deadline, f"no closed trade on the dashboard: {states()}"
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    summary = json.loads((tmp_path / ".hostapp/live/summary.json").read_text())
    assert not (tmp_path / ".hostapp/report").exists()  # a simulated run's report, untouched
    assert summary["speed"] == 120 and summary["trades"] >= 1 and summary["interrupted"]


def test_the_sweep(folder: Path) -> None:
    proc = run(
        folder,
        ".venv/bin/hostapp replay XAUUSD.csv --compare --sweep dtms.thresholds.to_l1=-3,-2,-1",
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "warning: tuned in-sample" in proc.stdout
    rows = (folder / ".hostapp/report/sweep.csv").read_text().splitlines()
    assert rows[0].startswith("data,rank,dtms.thresholds.to_l1,pairs,unpaired,winners_r_kept")
    assert sorted(r.split(",")[2] for r in rows[1:]) == ["-1", "-2", "-3"]


def test_the_export_before_retention(folder: Path) -> None:
    """``dtms export`` as written, on the store the shipped plugins.toml names (a live
    host's or ``dtms serve``'s): January's closed trade, not the open one nor February's."""
    from dtms_plugin.store import Store

    with Store(folder / ".hostapp" / "dtms") as store:
        for ticket, state, closed in ((1, "CLOSED", "2026-01-20T10:00:00+00:00"),
                                      (2, "HEALTHY", None),
                                      (3, "CLOSED", "2026-02-01T00:00:00+00:00")):  # fmt: skip
            store.put_record(ticket, {"ticket": ticket, "state": state, "closed_at": closed})
    command = ".venv/bin/dtms export --since 2026-01-01 --until 2026-02-01 --out january.jsonl"
    proc = run(folder, command)
    assert proc.returncode == 0, proc.stderr
    lines = (folder / "january.jsonl").read_text().splitlines()
    assert [json.loads(line)["ticket"] for line in lines] == [1]
    assert "1 closed trade " in proc.stderr
