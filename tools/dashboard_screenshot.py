"""docs/dashboard.png from a real ``hostapp run --live --serve --speed N`` run.

Starts the run in a folder of its own (a fresh paper account file and DTMS state), polls
the dashboard's own JSON API until DTMS has hedged a trade and trades have closed, then
has headless Chromium (``chromium --headless --screenshot``) photograph the page the run
serves, and stops the run with SIGINT (its report is written as after any stop).

The shipped plugins.toml trades the builtin feed with tight stops and DTMS's trailing
stop, under which its trades end before the ladder reaches HEDGED (``hostapp run
--days 30`` reaches WARNING_L1 at most); the demo configuration written here gives the
example strategy wider stops (6 and 12 ATR) and turns the trailing stop off, so the
ladder has room to work. Everything else is the shipped configuration.

    .venv/bin/python tools/dashboard_screenshot.py [--speed 120] [--seed 5] [--out PNG]

The last line printed is JSON: the command run, the wall time, the states on the page.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hostapp.app import BUILTIN_START, SPEED_HISTORY_BARS

ROOT = Path(__file__).resolve().parent.parent
#: Where the demo's clock starts running (M5 builtin data): the history is before it.
LIVE_FROM = BUILTIN_START + timedelta(minutes=5 * SPEED_HISTORY_BARS)
DEMO = """\
[host]
broker = "paper"
symbols = ["XAUUSD", "EURUSD"]
timeframe = "M5"
cycle_seconds = 30
data = "builtin"

[host.paper]
account_file = ".hostapp/paper-account.sqlite"

[plugin.dtms]
state_dir = ".hostapp/dtms"
trail.enabled = false

[plugin.sma_strategy]
sl_atr = 6.0
tp_atr = 12.0
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return json.loads(reply.read())
    except OSError:
        return None


def _ready(base: str) -> dict[str, Any] | None:
    """The status once the run plays at its speed (its history caught up on: DTMS has
    acted after ``LIVE_FROM``) and the page has something of each kind to show: a trade
    DTMS hedged, closed trades, and an open trade DTMS is defending (WARNING_L2, HEDGED)."""
    status = _get(f"{base}/dtms/status")
    history = _get(f"{base}/dtms/actions?limit=1000")
    if not status or not history:
        return None
    states: dict[str, int] = status["states"]
    actions = history["actions"]
    if not any(datetime.fromisoformat(e["at"]) > LIVE_FROM for e in actions if e.get("at")):
        return None
    hedged = any(e.get("kind") == "hedge" and e.get("ok") for e in actions)
    defending = states.get("WARNING_L2", 0) + states.get("HEDGED", 0)
    if hedged and states.get("CLOSED", 0) >= 1 and defending >= 1:
        return status
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--speed", type=float, default=120.0, help="the run's --speed")
    parser.add_argument("--seed", type=int, default=5, help="the run's --seed")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/dashboard.png", help="PNG")
    parser.add_argument("--timeout", type=float, default=600.0, help="give up after (s)")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("dashboard_screenshot: chromium is not installed", file=sys.stderr)
        return 2
    hostapp = Path(sys.executable).with_name("hostapp")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="dtms-demo-") as tmp:
        folder = Path(tmp)
        (folder / "plugins.toml").write_text(DEMO)
        (folder / ".hostapp").mkdir()
        command = [str(hostapp), "run", "--live", "--serve", "--port", str(port),
                   "--speed", f"{args.speed:g}", "--seed", str(args.seed)]  # fmt: skip
        started = time.monotonic()
        run = subprocess.Popen(
            command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            status = None
            while status is None:
                if run.poll() is not None:
                    print(f"dashboard_screenshot: the run exited {run.returncode}", file=sys.stderr)
                    return 1
                if time.monotonic() - started > args.timeout:
                    print("dashboard_screenshot: nothing hedged in time", file=sys.stderr)
                    return 1
                time.sleep(0.5)
                status = _ready(base)
            waited = time.monotonic() - started
            subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                 f"--user-data-dir={folder / 'chromium'}", "--window-size=1440,3000",
                 "--virtual-time-budget=5000", f"--screenshot={args.out.resolve()}", f"{base}/"],
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
        finally:
            run.send_signal(signal.SIGINT)
            try:
                run.wait(timeout=60)
            except subprocess.TimeoutExpired:
                run.kill()
    shown = " ".join(["hostapp", *command[1:]])
    print(f"{shown}: {waited:.0f} s to a hedge and closes; screenshot {args.out}")
    print(json.dumps({"command": shown, "seconds": round(waited, 1), "states": status["states"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
