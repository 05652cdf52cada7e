"""What `dtms serve --days N` costs before it answers: seconds from the process start to
the first 200 from ``/health``, and its resident memory (VmRSS) then and a few seconds
later, for each ``--days`` given. A real process on a random loopback port, with the
shipped plugins.toml's settings and its state and account file in a temporary folder;
it is stopped with SIGINT. The synthetic feed is streamed, so neither figure should grow
with ``--days``. Last line JSON. ``--quick``: ``--days 1200`` alone, one server in seconds
(tests/test_bench_scripts.py runs it).

``--account-day D`` starts the server beside an account file a trading host left ``D``
days into the feed (its last bar and quote per symbol there), as when ``dtms serve`` is
restarted beside a long run: the server's clock is then that day, and with ``--days``
beyond it nothing of the feed before it may be rebuilt before the first answer.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (VmRSS, Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> float:
    """Seconds until ``url`` answers 200; raises if the process exits or time runs out."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            said = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
            raise RuntimeError(f"{url}: the process exited with {proc.returncode}: {said}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{url}: no answer in {timeout:.0f} s")


def write_config(folder: Path, *, cycle_seconds: float = 30, extra_dtms: str = "") -> Path:
    """A plugins.toml like the shipped one, with its files under ``folder``."""
    path = folder / "plugins.toml"
    path.write_text(
        f"""[host]
broker = "paper"
symbols = ["XAUUSD", "EURUSD"]
timeframe = "M5"
cycle_seconds = {cycle_seconds}
data = "builtin"

[host.paper]
account_file = "{folder / "paper-account.sqlite"}"

[plugins]
order = ["dtms", "exits"]

[plugin.dtms]
strategy = "auto"
api_url = "http://127.0.0.1:8001"
state_dir = "{folder / "dtms"}"
{extra_dtms}
"""
    )
    return path


def age_account(folder: Path, day: float, symbols: tuple[str, ...] = ("XAUUSD", "EURUSD")) -> None:
    """The account file under ``folder`` as a trading host leaves it ``day`` days into the
    builtin feed: per symbol one bar there (the feed's first, moved), its quote and bar."""
    from dataclasses import replace
    from datetime import timedelta

    from hostapp.brokers.paper import PaperBroker, PaperSettings
    from hostapp.data import BUILTIN_START
    from hostapp.market.synthetic import SyntheticSeries

    at = BUILTIN_START + timedelta(minutes=5 * int(day * 288))
    account = PaperBroker(settings=PaperSettings(account_file=str(folder / "paper-account.sqlite")))
    try:
        for symbol in symbols:
            first = SyntheticSeries(symbol, BUILTIN_START, at + timedelta(days=1)).head(1)[0]
            account.on_bar(symbol, replace(first, time=at))
    finally:
        account.release()


def measure(days: int, account_day: float | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        config = write_config(Path(tmp))
        if account_day is not None:
            age_account(Path(tmp), account_day)
        port = free_port()
        cmd = [
            str(Path(sys.executable).parent / "dtms"),
            "serve", "--config", str(config), "--port", str(port), "--days", str(days),
            "--log-level", "WARNING",
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            seconds = wait_healthy(f"http://127.0.0.1:{port}/health", proc)
            at_health = rss_mb(proc.pid)
            time.sleep(3)
            settled = rss_mb(proc.pid)
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    figures = {"days": days, "health_s": round(seconds, 2), "rss_mb": round(at_health, 1),
               "rss_mb_after_3s": round(settled, 1)}  # fmt: skip
    return figures if account_day is None else {**figures, "account_day": account_day}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, nargs="+", default=[3, 1200])
    parser.add_argument(
        "--account-day",
        type=float,
        default=None,
        help="start beside an account file a trading host left this many days into the feed",
    )
    parser.add_argument("--quick", action="store_true", help="--days 1200 unless given")
    if parser.parse_known_args()[0].quick:
        parser.set_defaults(days=[1200])
    args = parser.parse_args()
    os.environ.pop("DTMS_TOKEN", None)
    results = [measure(d, args.account_day) for d in args.days]
    for r in results:
        print(
            f"dtms serve --days {r['days']:g}: /health in {r['health_s']:.2f} s, "
            f"RSS {r['rss_mb']:.1f} MB (after 3 s: {r['rss_mb_after_3s']:.1f} MB)"
        )
    print(json.dumps({"serve_startup": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
