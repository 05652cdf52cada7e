"""A replay with a live run's shared store or remote strategy in plugins.toml: each
simulated run keeps to its own engine and its own store, as to its own state folder.

Through the configured Redis store the runs of one A/B shared one another's records and
account mode (a full run vetoed all its orders for the same-entries run's losses),
``--jobs`` changed the figures, and the next live run on that Redis started in a
defensive mode no trade of its account had earned.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from hostapp_loop.replay_cli import bars_folder, replay
from support.redis_server import RedisServer


def _figures(report: Path) -> dict[str, object]:
    summary = json.loads((report / "summary.json").read_text())
    return {k: summary[k] for k in ("trades", "entries_vetoed", "net_profit") if k in summary}


def _keys(server: RedisServer) -> int:
    with socket.create_connection((server.host, server.port), timeout=5) as s:
        s.sendall(b"DBSIZE\r\n")
        answer = s.recv(64)
    assert answer.startswith(b":"), answer
    return int(answer[1:].split(b"\r\n")[0])


def test_a_replay_never_writes_into_the_configured_redis_store(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    (tmp_path / "own").mkdir()
    own = bars_folder(tmp_path / "own")
    plain = replay(own, "XAUUSD.csv", "--compare", "--report", "rep")
    assert plain.returncode in (0, 3), plain.stderr[-2000:]

    (tmp_path / "shared").mkdir()
    shared = bars_folder(tmp_path / "shared")
    toml = shared / "plugins.toml"
    text = toml.read_text().replace('strategy = "auto"', 'strategy = "remote"', 1)
    text = text.replace("[plugin.dtms]\n", f'[plugin.dtms]\nstore = "{redis_server.url()}"\n', 1)
    assert text != toml.read_text()
    toml.write_text(text)
    for report in ("rep", "again"):
        proc = replay(shared, "XAUUSD.csv", "--compare", "--report", report)
        assert proc.returncode == plain.returncode, proc.stderr[-2000:]
        assert _figures(shared / report) == _figures(own / "rep")
    assert _keys(redis_server) == 0
    log = (shared / "rep" / "hostapp.log").read_text()
    said = [line for line in log.splitlines() if "DTMS in a simulated run" in line]
    assert said and all(
        'strategy = "remote" and store = ' in line and "are for live runs" in line for line in said
    )
