"""The real ``dtms serve`` on a shared paper account file, given a ticket of 2**63 (the
API takes tickets up to 2**64 - 1, as MetaTrader's are ulong): every monitoring cycle
failed with ``OverflowError: Python int too large to convert to SQLite INTEGER``, so no
trade of the account was evaluated or defended, and after a restart the server exited 2,
"cannot start", until the store was edited by hand. Now its cycles pass, the account's
other trade is managed, and it starts again on the same store (docs/dtms.md §8).

Real processes: ``dtms serve`` started twice on a real account file and state folder,
asked over HTTP on a loopback port."""

from __future__ import annotations

from pathlib import Path

import requests
from support.e2e_procs import AUTH, dtms_server, free_port, toml_config, wait_for

from hookspecs import OrderRequest
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.testing import bars_from_closes

BIG = 2**63


def _host_position(account: Path) -> dict[str, object]:
    """A position the host opened on the account (after the bars it fed), registered as
    a client would."""
    broker = PaperBroker(settings=PaperSettings(account_file=str(account)))
    try:
        for bar in bars_from_closes([2000.0 + (i % 7) * 0.5 for i in range(300)]):
            broker.on_bar("XAUUSD", bar)
        opened = broker.open(OrderRequest("XAUUSD", "buy", 0.1, stop_loss=1990.0))
        assert opened.ok and opened.new_ticket is not None
        pos = broker.position(opened.new_ticket)
        assert pos is not None
        return {
            "ticket": pos.ticket, "symbol": "XAUUSD", "direction": "buy", "volume": 0.1,
            "entry": pos.entry_price, "stop_loss": 1990.0,
            "opened_at": pos.opened_at.isoformat(),
        }  # fmt: skip
    finally:
        broker.release()


def test_a_ticket_of_2_63_neither_fails_the_cycles_nor_the_restart(tmp_path: Path) -> None:
    account = tmp_path / "account.db"
    config = toml_config(
        tmp_path / "plugins.toml", symbols=["XAUUSD"], account_file=account,
        state_dir=tmp_path / "dtms", host={"data": "builtin"},
    )  # fmt: skip
    trade = _host_position(account)
    port = free_port()
    big = {"ticket": BIG, "symbol": "XAUUSD", "direction": "buy", "entry": 2000, "volume": 0.1}
    with dtms_server(config, port, monitor_seconds=0.2, log=tmp_path / "one.log") as server:
        for body in (trade, big):
            reply = requests.post(
                f"{server.url}/dtms/trade/enable", json=body, headers=AUTH, timeout=30
            )
            assert reply.status_code == 201, reply.text
        start = server.json("/dtms/status")["monitor"]["cycles"]
        wait_for(
            lambda: server.json("/dtms/status")["monitor"]["cycles"] >= start + 5,
            timeout=30, what="five more monitoring cycles",
        )  # fmt: skip
        status = server.json("/dtms/status")
        assert status["monitor"]["failures"] == 0, status["monitor"]
        assert status["engine"]["healthy"] is True
        assert server.json(f"/dtms/trade/{BIG}")["state"] == "HEALTHY"  # kept, not lost
    with dtms_server(config, port, monitor_seconds=0.2, log=tmp_path / "two.log") as server:
        status = server.json("/dtms/status")
        assert status["monitor"]["failures"] == 0, status["monitor"]
        assert status["trades"] == 2
