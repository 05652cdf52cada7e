"""The remote strategy through a server outage, against the real ``dtms serve``.

1,000 trades are executed while the server is down: every registration waits in the
durable outbox. The server comes up; one flush registers all of them, each exactly once
(the server's own registration counter says 1,000 created and nothing already
registered), and a second flush sends nothing. The trades are real positions on the
shared paper account, so the server's engine has nothing to close; its monitor period is
an hour, so it does not churn while the test runs.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

import pytest
from support.e2e_procs import TOKEN, dtms_server, free_port, toml_config

from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from hookspecs import OrderRequest, Trade
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.testing import bars_from_closes

N = 1000


class _NoHost:
    """The remote strategy never touches the host in these hooks."""


def _open_positions(account: Path, n: int) -> list[Trade]:
    broker = PaperBroker(settings=PaperSettings(account_file=str(account), balance=1e9))
    try:
        for bar in bars_from_closes([2000.0 + (i % 7) * 0.5 for i in range(50)]):
            broker.on_bar("XAUUSD", bar)
        trades = []
        for _ in range(n):
            result = broker.open(OrderRequest("XAUUSD", "buy", 0.01, stop_loss=1900.0))
            assert result.ok and result.new_ticket is not None, result
            trade = broker.position(result.new_ticket)
            assert trade is not None
            trades.append(trade)
        return trades
    finally:
        broker.release()


def _metric(text: str, name: str, outcome: str) -> float:
    match = re.search(rf'^{name}\{{outcome="{outcome}"\}} (\S+)$', text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def _no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


async def test_a_thousand_trades_queued_in_an_outage_are_registered_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DTMS_TOKEN", TOKEN)
    account = tmp_path / "account.db"
    port = free_port()
    config = toml_config(
        tmp_path / "server.toml",
        symbols=["XAUUSD"],
        account_file=account,
        state_dir=tmp_path / "server-state",
        host={"data": "builtin"},
    )
    trades = _open_positions(account, N)
    settings = DtmsSettings(
        strategy="remote",
        api_url=f"http://127.0.0.1:{port}",
        state_dir=str(tmp_path / "host-state"),
        register_timeout_seconds=5.0,
    )
    store = Store(settings.state_dir)
    # No backoff waits: what is under test is that nothing is lost or doubled.
    remote = RemoteStrategy(settings, store=store, sleep=_no_wait, flush_wait_seconds=0.1)
    host: Any = _NoHost()
    await remote.startup(host)
    try:
        started = time.perf_counter()
        for trade in trades:
            await remote.on_trade_executed(host, trade)
        await asyncio.wait_for(remote.drain(), 60)
        queued_s = time.perf_counter() - started
        assert store.outbox_len() == N  # the server is down: every one kept

        with dtms_server(config, port, monitor_seconds=3600, log=tmp_path / "server.log") as server:
            started = time.perf_counter()
            await asyncio.wait_for(remote.flush(), 120)
            flush_s = time.perf_counter() - started
            assert store.outbox_len() == 0

            tickets = ",".join(str(t.ticket) for t in trades)
            batch = await asyncio.to_thread(server.json, "/dtms/trades", tickets=tickets)
            assert sorted(int(t) for t in batch["trades"]) == sorted(t.ticket for t in trades)
            assert not batch.get("unknown")
            assert {v["state"] for v in batch["trades"].values()} == {"HEALTHY"}
            status = await asyncio.to_thread(server.json, "/dtms/status")
            assert status["trades"] == N
            assert status["states"]["HEALTHY"] == N
            server_store = Store(str(tmp_path / "server-state"))
            try:
                assert len(server_store.records()) == N
            finally:
                server_store.close()

            metrics = (await asyncio.to_thread(server.get, "/metrics")).text
            assert _metric(metrics, "dtms_registrations_total", "created") == N
            assert _metric(metrics, "dtms_registrations_total", "already_registered") == 0

            await asyncio.wait_for(remote.flush(), 60)  # nothing left: nothing sent
            again = (await asyncio.to_thread(server.get, "/metrics")).text
            assert _metric(again, "dtms_registrations_total", "created") == N
            assert _metric(again, "dtms_registrations_total", "already_registered") == 0
            assert store.outbox_len() == 0
        print(f"\nqueued {N} in {queued_s:.2f}s; flushed to the real server in {flush_s:.2f}s")
    finally:
        await remote.shutdown(host)
        store.close()
