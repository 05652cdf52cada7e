"""A soak: real processes trading fast for N minutes, sampled every few seconds, to show
what grows with the number of trades (docs/architecture.md: a server and its bots run
for months).

``--mode remote``: a ``dtms serve`` and a ``hostapp run --live`` with the remote strategy,
on one paper account file. ``--mode local``: a ``hostapp run --live`` with the local
strategy alone. Both run the builtin feed (``--days 1200``, streamed) at ``cycle_seconds``
(default 0.002) with the example SMA strategy opening trades. Every ``--every`` seconds:
each process's resident memory and open file descriptors, the DTMS stores' size on disk,
the closed trades so far (the account file's history) and, in remote mode, the server's
latency on ``GET /dtms/trades`` and ``/dtms/status``.

The figures are least-squares slopes against the trade count over the samples taken after
``--warmup`` trades (1,000): growth per 1,000 trades. ``--retention-days`` (2 days of feed
time by default) lets closed trades expire during the run, so the store should stay flat.
Loopback only; bounded in time; the processes are stopped with SIGINT (then killed after
30 s), also when the soak itself is stopped with SIGINT or SIGTERM. The example strategy
trades fixed lots (``SOAK_VOLUME``) on an account of ``SOAK_BALANCE``, so the account
lasts the whole soak: with its default risk sizing it blew a 10,000 account after about
2,300 trades, and the later samples, all at one trade count, told nothing. Last line JSON.
``--quick``: 6 seconds sampled every second from the first trade (``--minutes 0.1 --every 1
--warmup 0``), the same processes (tests/test_bench_scripts.py runs it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serve_startup import free_port, rss_mb, wait_healthy, write_config

BIN = Path(sys.executable).parent


@dataclass
class Sample:
    seconds: float
    trades: int
    rss: dict[str, float]
    fds: dict[str, int]
    store_kb: float
    api_ms: float | None


@dataclass
class Soak:
    folder: Path
    mode: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    port: int = 0


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def folder_kb(path: Path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):  # removed while we walked
                total += (Path(root) / name).stat().st_size
    return total / 1024


def closed_trades(account: Path) -> int:
    if not account.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{account}?mode=ro", uri=True, timeout=5) as db:
            return int(db.execute("SELECT COUNT(*) FROM history").fetchone()[0])
    except sqlite3.Error:
        return -1  # busy or not created yet: this sample is skipped


def api_ms(port: int) -> float | None:
    """Mean of a few GETs of the trade list and the status, in milliseconds."""
    times = []
    for path in ("/dtms/trades", "/dtms/status") * 3:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
                answer.read()
        except OSError:
            return None
        times.append((time.perf_counter() - started) * 1000)
    return sum(times) / len(times)


#: the paper account's balance and the example strategy's lots during a soak: an account
#: that lasts however many trades the soak makes
SOAK_BALANCE = 1_000_000.0
SOAK_VOLUME = 0.01


def start(soak: Soak, cycle_seconds: float, days: int, retention_days: float) -> None:
    folder = soak.folder
    soak.port = free_port()
    strategy = "remote" if soak.mode == "remote" else "local"
    extra = (
        f'monitor_seconds = {max(cycle_seconds, 0.05)}\nstrategy_override = "{strategy}"\n'
        f"retention_days = {retention_days}"
    )
    config = write_config(folder, cycle_seconds=cycle_seconds, extra_dtms=extra)
    text = config.read_text()
    text = text.replace('strategy = "auto"\n', "").replace("strategy_override", "strategy")
    text = text.replace("http://127.0.0.1:8001", f"http://127.0.0.1:{soak.port}")
    text = text.replace('order = ["dtms", "exits"]', 'order = ["dtms", "exits"]\nenabled = []')
    text = text.replace("[host.paper]\n", f"[host.paper]\nbalance = {SOAK_BALANCE}\n")
    text += f'\n[plugin.sma_strategy]\nsizing = "fixed"\nvolume = {SOAK_VOLUME}\n'
    config.write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "DTMS_TOKEN"}
    quiet = {"stdout": subprocess.DEVNULL, "stderr": (folder / "err.log").open("ab"), "env": env}
    if soak.mode == "remote":
        soak.procs["server"] = subprocess.Popen(
            [str(BIN / "dtms"), "serve", "--config", str(config), "--port", str(soak.port),
             "--days", str(days), "--log-level", "WARNING"],
            cwd=folder, **quiet,
        )  # fmt: skip
        wait_healthy(f"http://127.0.0.1:{soak.port}/health", soak.procs["server"])
    soak.procs["host"] = subprocess.Popen(
        [str(BIN / "hostapp"), "run", "--live", "--config", str(config), "--days", str(days),
         "--report", str(folder / "report")],
        cwd=folder, **quiet,
    )  # fmt: skip


def sample(soak: Soak, started: float) -> Sample | None:
    trades = closed_trades(soak.folder / "paper-account.sqlite")
    if trades < 0:
        return None
    alive = {name: p for name, p in soak.procs.items() if p.poll() is None}
    if len(alive) < len(soak.procs):
        dead = [f"{n} (exit {p.returncode})" for n, p in soak.procs.items() if n not in alive]
        raise RuntimeError(f"stopped early: {', '.join(dead)}; see {soak.folder / 'err.log'}")
    return Sample(
        seconds=time.monotonic() - started,
        trades=trades,
        rss={n: rss_mb(p.pid) for n, p in alive.items()},
        fds={n: fds(p.pid) for n, p in alive.items()},
        store_kb=folder_kb(soak.folder / "dtms"),
        api_ms=api_ms(soak.port) if soak.mode == "remote" else None,
    )


def stop(soak: Soak) -> None:
    for name in ("host", "server"):
        proc = soak.procs.get(name)
        if proc is None or proc.poll() is not None:
            continue
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def slope(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of ``ys`` on ``xs``; ``None`` with fewer than 3 points."""
    if len(xs) < 3:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var


def per_1000(samples: list[Sample], value: Any) -> float | None:
    pairs = [(s.trades, value(s)) for s in samples if value(s) is not None]
    got = slope([float(t) for t, _ in pairs], [float(v) for _, v in pairs])
    return None if got is None else round(got * 1000, 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--mode", choices=["local", "remote"], default="remote")
    parser.add_argument("--cycle-seconds", type=float, default=0.002)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--warmup", type=int, default=1000, help="trades before measuring")
    parser.add_argument("--days", type=int, default=1200, help="the feed's length")
    parser.add_argument(
        "--retention-days",
        type=float,
        default=2.0,
        help="[plugin.dtms] retention_days, in feed time (a fast run covers weeks an hour)",
    )
    parser.add_argument("--keep", help="keep the run's folder here (default: a temporary one)")
    parser.add_argument(
        "--quick", action="store_true", help="--minutes 0.1 --every 1 --warmup 0: seconds"
    )
    if parser.parse_known_args()[0].quick:
        parser.set_defaults(minutes=0.1, every=1.0, warmup=0)
    args = parser.parse_args()
    # started in the background by a script, SIGINT arrives ignored: take it back, and let
    # SIGTERM stop the run the same way, so the processes it started are always stopped
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        soak = Soak(folder, args.mode)
        samples: list[Sample] = []
        started = time.monotonic()
        try:
            start(soak, args.cycle_seconds, args.days, args.retention_days)
            while time.monotonic() - started < args.minutes * 60:
                time.sleep(args.every)
                got = sample(soak, started)
                if got is not None:
                    samples.append(got)
                    print(
                        f"{got.seconds:6.0f} s  trades {got.trades:6d}  "
                        + "  ".join(f"{n} {v:6.1f} MB/{got.fds[n]} fds" for n, v in got.rss.items())
                        + f"  store {got.store_kb:8.0f} KB"
                        + (f"  api {got.api_ms:6.2f} ms" if got.api_ms is not None else ""),
                        flush=True,
                    )
        finally:
            stop(soak)
    measured = [s for s in samples if s.trades >= args.warmup]
    first, last = (samples[0], samples[-1]) if samples else (None, None)
    result: dict[str, Any] = {
        "mode": args.mode,
        "minutes": args.minutes,
        "cycle_seconds": args.cycle_seconds,
        "trades": last.trades if last else 0,
        "samples_after_warmup": len(measured),
        "rss_mb_per_1000_trades_host": per_1000(measured, lambda s: s.rss.get("host")),
        "rss_mb_per_1000_trades_server": per_1000(measured, lambda s: s.rss.get("server")),
        "store_kb_per_1000_trades": per_1000(measured, lambda s: s.store_kb),
        "api_ms_slope_per_1000_trades": per_1000(measured, lambda s: s.api_ms),
        "fds_per_1000_trades": per_1000(measured, lambda s: sum(s.fds.values())),
        "rss_mb_first": first.rss if first else None,
        "rss_mb_last": last.rss if last else None,
        "store_kb_last": round(last.store_kb) if last else None,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
