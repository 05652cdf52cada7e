"""A paper ``dtms serve`` with no trading host says so: its clock is the account file's,
which stands still without one, and DTMS then closes, moves and finds gone nothing (a
made-up ticket stayed HEALTHY for ever, ``/health`` said healthy and the log said
nothing). Real processes on a real account file in ``tmp_path``: the server's log says it
once per episode (not every cycle) and again when a host, or a script writing quotes as a
trading host does, moves the clock (docs/client.md)."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
from support.e2e_procs import (
    AUTH,
    dtms_server,
    free_port,
    hostapp_run,
    toml_config,
    wait_for,
)

from hostapp.account_clock import standing_after
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.testing import bars_from_closes

CYCLE = 1.0  # [host] cycle_seconds: the trading host's bar every second
MONITOR = 0.2  # the server's --monitor-seconds
THRESHOLD = standing_after(MONITOR, CYCLE)  # 4 s
#: the first test's [host] cycle_seconds: its threshold (20 s) is what a server's start-up
#: must stay under for the file quoted before it to be "written just now" (a loaded
#: machine's start-up took 4.0-4.4 s: past the 4 s of CYCLE's, it was said standing at
#: start-up, and the line the test waits for never came)
SLOW_CYCLE = 5.0
SLOW_THRESHOLD = standing_after(MONITOR, SLOW_CYCLE)
STOOD = "has stood at"
NO_QUOTES = "has no quotes yet"
MOVES = "moves again"
MEANING = "no host is trading on this account file: hostapp run --live from the same folder"
T0 = datetime(2026, 3, 2, tzinfo=UTC)


def _config(
    tmp_path: Path,
    account: Path,
    name: str = "server.toml",
    *,
    cycle: float = CYCLE,
    **dtms: object,
) -> Path:
    state = tmp_path / f"{name}-state"
    return toml_config(
        tmp_path / name, symbols=["XAUUSD"], account_file=account, state_dir=state,
        dtms=dtms, host={"cycle_seconds": cycle},
    )  # fmt: skip


def _quote(account: Path, bars: int, start: datetime = T0) -> datetime:
    """Feed ``bars`` M5 bars into the account file as the trading host's broker does;
    returns the clock they leave it at (the last one's close)."""
    writer = PaperBroker(settings=PaperSettings(account_file=str(account)))
    try:
        for bar in bars_from_closes([2000.0 + i for i in range(bars)], start=start):
            writer.on_bar("XAUUSD", bar)
    finally:
        writer.release()
    return start + timedelta(minutes=5 * bars)


def _said(log: Path, what: str) -> list[str]:
    return [line for line in log.read_text().splitlines() if what in line]


def test_a_standing_clock_is_said_once_and_its_moving_again_once(tmp_path: Path) -> None:
    account = tmp_path / "account.db"
    written = time.monotonic()  # before the write: the server counts from the file's time
    at = _quote(account, 3)
    log = tmp_path / "server.log"
    config = _config(tmp_path, account, cycle=SLOW_CYCLE)
    with dtms_server(config, free_port(), monitor_seconds=MONITOR, log=log) as server:
        assert not _said(log, NO_QUOTES) and not _said(log, STOOD)  # written just now
        # a made-up ticket, as docs/client.md's examples register
        order = {"ticket": 1002, "symbol": "XAUUSD", "direction": "buy", "entry": 2000.0,
                 "volume": 0.1}  # fmt: skip
        reply = requests.post(f"{server.url}/dtms/trade/enable", json=order, headers=AUTH,
                              timeout=10)  # fmt: skip
        assert reply.status_code == 201, reply.text
        wait_for(lambda: _said(log, STOOD), timeout=SLOW_THRESHOLD + 20, what="the standing line")
        assert time.monotonic() - written >= SLOW_THRESHOLD
        (line,) = _said(log, STOOD)
        assert "WARNING" in line and str(account) in line and at.isoformat() in line, line
        assert MEANING in line and "until then nothing is closed, moved or found gone" in line
        stood = re.search(r"for (\d+) s of wall time", line)
        assert stood is not None and int(stood.group(1)) >= SLOW_THRESHOLD, line
        time.sleep(15 * MONITOR)  # fifteen more cycles on a standing clock: no more lines
        assert len(_said(log, STOOD)) == 1, _said(log, STOOD)
        # and a client reads it: healthy (the server works), waiting for a trading host
        health = requests.get(f"{server.url}/health", timeout=10)
        assert health.status_code == 200, health.text
        (waits,) = [w for w in health.json()["waiting"] if STOOD in w]
        assert str(account) in waits and at.isoformat() in waits and MEANING in waits

        moved = _quote(account, 1, start=at)
        wait_for(lambda: _said(log, MOVES), timeout=20, what="the moving-again line")
        (again,) = _said(log, MOVES)
        assert f"(at {moved.isoformat()}), after standing at {at.isoformat()} for" in again
        looks = re.search(r"for \d+ s of wall time \((\d+) monitoring cycles\)", again)
        # every look that found it standing (the threshold's ~100, then the 15 above),
        # not only those after its line: "2 min … (1 monitoring cycle)" read as one look
        assert looks is not None and int(looks.group(1)) > 15 + SLOW_THRESHOLD / MONITOR / 4, again
        health = requests.get(f"{server.url}/health", timeout=10).json()
        assert not any(STOOD in w for w in health["waiting"]), health
    assert len(_said(log, STOOD)) == 1  # once it moved, and no later episode began meanwhile


def test_no_quotes_at_start_up_is_said_at_once_and_a_trading_host_moves_it(
    tmp_path: Path,
) -> None:
    account = tmp_path / "account.db"
    port = free_port()
    log = tmp_path / "server.log"
    with dtms_server(_config(tmp_path, account), port, monitor_seconds=MONITOR,
                     log=log) as server:  # fmt: skip
        (line,) = _said(log, NO_QUOTES)  # before the first /health answered
        assert str(account) in line and MEANING in line, line
        time.sleep(THRESHOLD + 1)  # past the threshold: the episode was said already
        assert not _said(log, STOOD) and len(_said(log, NO_QUOTES)) == 1
        remote = {"strategy": "remote", "api_url": server.url}
        host = _config(tmp_path, account, "host.toml", **remote)
        with hostapp_run(host, tmp_path / "report", log=tmp_path / "host.out") as trading:
            wait_for(
                lambda: _said(log, MOVES) or trading.poll() is not None,
                timeout=120, what="the trading host moving the clock",
            )  # fmt: skip
            assert trading.poll() is None, (tmp_path / "host.out").read_text()[-3000:]
            time.sleep(THRESHOLD + 1)  # a driven clock: never standing
            assert not _said(log, STOOD), log.read_text()[-3000:]


def test_a_file_nothing_wrote_for_an_hour_is_said_standing_at_start_up(tmp_path: Path) -> None:
    (tmp_path / "compte-été").mkdir()
    account = tmp_path / "compte-été" / "account.db"
    at = _quote(account, 2)
    hour_ago = time.time() - 3600
    for each in (account, account.with_name(account.name + "-wal")):
        if each.exists():
            os.utime(each, (hour_ago, hour_ago))
    log = tmp_path / "server.log"
    with dtms_server(_config(tmp_path, account), free_port(), monitor_seconds=MONITOR,
                     log=log):  # fmt: skip
        (line,) = _said(log, "nothing has written it for")
        assert f"stands at {at.isoformat()}: nothing has written it for 1 h" in line, line
        assert MEANING in line
