"""A replica taking over a trade whose stop was hit meanwhile says when it closed as it
was: before this replica took it over (while no replica held it, or its previous one
did), not "while DTMS was not running", which was false: DTMS ran, on other replicas.
With real processes: the trade's replica SIGKILLed, the stop hit on the shared paper
account, a new replica taking the orphan over."""

from __future__ import annotations

import signal
from datetime import timedelta
from pathlib import Path

from support.e2e_procs import wait_for
from support.redis_server import RedisServer
from support.replica_procs import (
    START,
    WARMUP,
    cluster,
    push_bars,
    register,
    replica_config,
    replicas,
)

from hostapp.testing import bars_from_closes


def test_a_close_found_on_a_trade_taken_over_is_said_to_be_before_the_takeover(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    url = redis_server.url()
    with cluster(url, tmp_path, trades=1, replicas_n=1, lease_seconds=3.0,
                 monitor_seconds=0.5) as c:  # fmt: skip
        (ticket,) = c.tickets
        assert register(c.replicas[0].server.url, ticket).status_code == 201
        c.replicas[0].server.proc.send_signal(signal.SIGKILL)
        c.replicas[0].server.proc.wait(timeout=30)
        hit = START + timedelta(minutes=5 * WARMUP)
        push_bars(c.account, bars_from_closes([1850.0], start=hit, spread=0.3))  # stop 1900
        later = tmp_path / "later"
        later.mkdir()
        config = replica_config(later, c.account, url, lease_seconds=3.0)
        with replicas(config, later, 1, monitor_seconds=0.5):
            wait_for(lambda: c.store.get_record(ticket)["state"] == "CLOSED", timeout=60,
                     what="the trade closed by the replica that took it over")  # fmt: skip
        said = (later / "replica0.log").read_text()
        assert f"DTMS {ticket}: closed before this replica took it over (while no replica" in said
        assert "while DTMS was not running" not in said
        reasons = [e.get("reason", "") for e in c.store.actions(ticket, limit=100)]
        assert "position closed (stop_loss) before this replica took it over" in reasons
