"""What a real ``dtms serve`` logs of registrations: one INFO line each, with what an
operator reads it for (the ticket, its side, symbol and volume, the risk its engine
measured), single ones (``POST /dtms/trade/enable``) and a client's batch
(``POST /dtms/trades``) alike; a repeat (already registered) adds none. It logged two per
registration, the server's and its engine's (``DTMS registered 1 buy XAUUSD (R 10)``): a
burst of 1,000 registrations from hosts catching up was 2,000 lines."""

from __future__ import annotations

import re
from pathlib import Path

import requests
from support.e2e_procs import AUTH, dtms_server, free_port, toml_config


def _body(ticket: int, direction: str = "buy") -> dict[str, object]:
    stop = 1990.0 if direction == "buy" else 2010.0
    return {"ticket": ticket, "symbol": "XAUUSD", "direction": direction, "entry": 2000.0,
            "volume": 0.1, "stop_loss": stop}  # fmt: skip


def test_dtms_serve_says_each_registration_in_one_line(tmp_path: Path) -> None:
    config = toml_config(
        tmp_path / "plugins.toml", symbols=["XAUUSD"], account_file=tmp_path / "account.db",
        state_dir=tmp_path / "dtms", host={"data": "builtin"},
    )  # fmt: skip
    port = free_port()
    log = tmp_path / "server.log"
    with dtms_server(config, port, monitor_seconds=3600, log=log) as server:
        for ticket, direction in ((1, "buy"), (2, "sell"), (3, "buy")):
            reply = requests.post(
                f"{server.url}/dtms/trade/enable", json=_body(ticket, direction), headers=AUTH,
                timeout=30,
            )  # fmt: skip
            assert reply.status_code == 201, reply.text
        again = requests.post(
            f"{server.url}/dtms/trade/enable", json=_body(1), headers=AUTH, timeout=30
        )
        assert again.status_code == 200 and again.json()["already_registered"], again.text
        batch = {"trades": [_body(t) for t in range(100, 150)]}
        reply = requests.post(f"{server.url}/dtms/trades", json=batch, headers=AUTH, timeout=30)
        assert reply.status_code == 200, reply.text
    said = log.read_text()
    tickets = [1, 2, 3, *range(100, 150)]
    lines = [ln for ln in said.splitlines() if "registered" in ln]
    assert len(lines) == len(tickets), said[-3000:]  # one each, the repeat none
    assert all(" INFO dtms_plugin.server: " in ln for ln in lines), lines[:3]
    assert lines[1].endswith("registered ticket 2 (sell XAUUSD 0.1 lots, R 10)"), lines[1]
    found = [int(m[1]) for ln in lines if (m := re.search(r"registered ticket (\d+) \(", ln))]
    assert found == tickets
