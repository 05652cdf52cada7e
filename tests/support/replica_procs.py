"""Several ``dtms serve`` replicas on one redis-server and one shared paper account, for
the failover tests and bench/replicas.py."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from dtms_plugin.store.redis_store import RedisStore
from hookspecs import Bar, OrderRequest
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.testing import bars_from_closes
from support.e2e_procs import AUTH, TOKEN, Server, command, free_port, stop, toml_config, wait_for

SYMBOL = "XAUUSD"
WARMUP = 700  # M5 bars: the engine's EMA(200) on M15 needs about 600
START = datetime(2026, 3, 4, 10, tzinfo=UTC) - timedelta(minutes=5 * WARMUP)


def zigzag(n: int, first: int = 0) -> list[Bar]:
    """Quiet M5 bars around 2000 (closes alternate 2000 / 2000.5), from bar ``first``."""
    closes = [2000.0 + 0.5 * ((first + i) % 2) for i in range(n)]
    start = START + timedelta(minutes=5 * first)
    return bars_from_closes(closes, start=start, spread=0.3)


def open_positions(account: Path, n: int) -> list[int]:
    """The warm-up bars and ``n`` buys (stop 100 below) on the shared paper account."""
    broker = PaperBroker(settings=PaperSettings(account_file=str(account), balance=1e9))
    try:
        for bar in zigzag(WARMUP):
            broker.on_bar(SYMBOL, bar)
        tickets = []
        for _ in range(n):
            result = broker.open(OrderRequest(SYMBOL, "buy", 0.01, stop_loss=1900.0))
            assert result.ok and result.new_ticket is not None, result
            tickets.append(result.new_ticket)
        return tickets
    finally:
        broker.release()


def push_bars(account: Path, bars: Sequence[Bar]) -> None:
    """New bars on the shared account: the replicas' clock moves to them."""
    broker = PaperBroker(settings=PaperSettings(account_file=str(account)))
    try:
        for bar in bars:
            broker.on_bar(SYMBOL, bar)
    finally:
        broker.release()


def registration(ticket: int) -> dict[str, Any]:
    return {"ticket": ticket, "symbol": SYMBOL, "direction": "buy", "entry_price": 2000.0,
            "volume": 0.01, "stop_loss": 1900.0}  # fmt: skip


def register(url: str, ticket: int) -> requests.Response:
    body = registration(ticket)
    return requests.post(f"{url}/dtms/trade/enable", json=body, headers=AUTH, timeout=60)


@dataclass
class Replica:
    server: Server
    id: str


def _healthy(url: str, proc: subprocess.Popen[str], log: Path) -> bool:
    assert proc.poll() is None, f"dtms serve exited {proc.returncode}: {log.read_text()[-3000:]}"
    try:
        return requests.get(f"{url}/health", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def replica_config(
    directory: Path, account: Path, redis_url: str, *, lease_seconds: float = 10.0
) -> Path:
    return toml_config(
        directory / "replicas.toml",
        symbols=[SYMBOL],
        account_file=account,
        state_dir=directory / "unused-state",
        dtms={"store": redis_url, "lease_seconds": lease_seconds},
        host={"data": "builtin", "timeframe": "M5"},
    )


def serve_refused(config: Path, log: Path) -> tuple[int, str]:
    """``dtms serve`` on ``config``, expected to stop by itself: its exit code and output
    (a replica still running after a minute joined: stopped, and the test fails)."""
    argv = [*command("dtms"), "serve", "--config", str(config), "--port", str(free_port()),
            "--monitor-seconds", "0.5"]  # fmt: skip
    env = {**os.environ, "DTMS_TOKEN": TOKEN}
    with log.open("w") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        code = proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise AssertionError(f"it joined and served: {log.read_text()[-2000:]}") from None
    return code, log.read_text()


@contextlib.contextmanager
def replicas(
    config: Path, directory: Path, n: int, *, monitor_seconds: float
) -> Iterator[list[Replica]]:
    """``n`` replicas of ``dtms serve`` on ``config``, healthy when yielded; each stopped
    (SIGINT, then a kill) on exit unless a test killed it already."""
    env = {**os.environ, "DTMS_TOKEN": TOKEN}
    procs: list[subprocess.Popen[str]] = []

    def start(i: int) -> Server:
        port, log = free_port(), directory / f"replica{i}.log"
        argv = [*command("dtms"), "serve", "--config", str(config), "--port", str(port),
                "--monitor-seconds", str(monitor_seconds)]  # fmt: skip
        with log.open("w") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
        procs.append(proc)
        return Server(f"http://127.0.0.1:{port}", proc, log)

    try:
        started = [start(i) for i in range(n)]
        for i, s in enumerate(started):
            for _ in range(3):  # a port taken between choosing and binding: another one
                try:
                    wait_for(lambda s=s: _healthy(s.url, s.proc, s.log), timeout=90, what="/health")
                    break
                except AssertionError:
                    if "address already in use" not in s.log.read_text():
                        raise
                    s = started[i] = start(i)
        out_replicas = []
        for s in started:
            me = wait_for(
                lambda s=s: [r for r in s.json("/dtms/status").get("replicas", []) if r["self"]],
                timeout=30,
                what="the replica's heartbeat",
            )
            out_replicas.append(Replica(s, me[0]["id"]))
        yield out_replicas
    finally:
        for proc in procs:
            stop(proc)


@dataclass
class Cluster:
    """Replicas of ``dtms serve`` on one redis-server and one paper account with open
    positions (``tickets``), and a store to look at what they share."""

    account: Path
    tickets: list[int]
    store: RedisStore
    replicas: list[Replica]

    def owners(self, tickets: Sequence[int] | None = None) -> list[str | None]:
        """The lease holder of each ticket (None: nobody)."""
        wanted = self.tickets if tickets is None else tickets
        return list(self.store.client.mget([f"dtms:lease:{t}" for t in wanted]))

    def renewals(self, ids: Sequence[str]) -> dict[str, float]:
        """Wall-clock time of each live replica's last renewal (its heartbeat's
        ``renewed_at``: the start of its last cycle, or its last claim)."""
        texts = self.store.client.mget([f"dtms:replica:{i}" for i in ids])
        return {i: json.loads(t)["renewed_at"] for i, t in zip(ids, texts, strict=True) if t}

    def stamped(self, at: datetime, *, others_than: Sequence[int] = ()) -> bool:
        """Every trade's state (but ``others_than``'s) stamped at ``at`` or later:
        evaluated at that bar."""
        states = [self.store.get_state(t) for t in self.tickets if t not in others_than]
        return all(s is not None and s[1] >= at for s in states)

    def done_actions(self) -> tuple[Counter[tuple[int, str]], dict[int, float]]:
        """How often each (ticket, action key) is in the history as done, and each
        ticket's last stop loss set by a done action."""
        done: Counter[tuple[int, str]] = Counter()
        last_sl: dict[int, float] = {}
        for ticket in self.tickets:
            for entry in self.store.actions(ticket, limit=1000):
                if entry.get("type") == "action" and entry.get("ok"):
                    done[(ticket, str(entry.get("key")))] += 1
                    if "stop_loss" in entry.get("params", {}):
                        last_sl[ticket] = float(entry["params"]["stop_loss"])
        return done, last_sl


#: :func:`cluster`'s arguments for one replica over two open positions, cycling twice a
#: second: what a test of one server on a misbehaving Redis needs
ONE_REPLICA: dict[str, Any] = {
    "trades": 2,
    "replicas_n": 1,
    "lease_seconds": 10.0,
    "monitor_seconds": 0.5,
}


@contextlib.contextmanager
def cluster(
    redis_url: str,
    directory: Path,
    *,
    trades: int,
    replicas_n: int,
    lease_seconds: float,
    monitor_seconds: float,
) -> Iterator[Cluster]:
    """``trades`` open positions on a fresh paper account and ``replicas_n`` replicas
    managing nothing yet (the tests register the trades their own way)."""
    account = directory / "account.db"
    tickets = open_positions(account, trades)
    config = replica_config(directory, account, redis_url, lease_seconds=lease_seconds)
    with (
        replicas(config, directory, replicas_n, monitor_seconds=monitor_seconds) as reps,
        RedisStore(redis_url) as store,
    ):
        yield Cluster(account, tickets, store, reps)
