"""One real ``dtms serve`` for the output tests of the operator verbs, holding an open
trade (602) and a closed one (601, reported closed with its profit)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from support.e2e_procs import AUTH, Server, dtms_server, dtms_verb, free_port, toml_config

OPEN, CLOSED = 602, 601


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("ops_out")
    config = toml_config(tmp / "plugins.toml", symbols=["XAUUSD"],
                         account_file=tmp / "account.db", state_dir=tmp / "state")  # fmt: skip
    with dtms_server(config, free_port(), monitor_seconds=3600, log=tmp / "server.log") as s:
        for ticket in (CLOSED, OPEN):
            done = dtms_verb("register", str(ticket), "XAUUSD", "buy", "--entry", "2000",
                             "--volume", "0.1", "--sl", "1990", url=s.url)  # fmt: skip
            assert done.returncode == 0, done.stderr
        closed = requests.post(f"{s.url}/dtms/trade/{CLOSED}/closed", headers=AUTH,
                               json={"reason": "manual", "profit": 12.5}, timeout=30)  # fmt: skip
        assert closed.status_code == 200, closed.text
        yield s
