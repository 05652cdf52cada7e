"""``dtms unregister`` of a CLOSED trade, as a real process against a real ``dtms serve``:
refused (409 on the server, one line and exit 1 from the verb), and the trade is still
there with its outcome, so a later ``dtms export`` still has its history."""

from __future__ import annotations

import json

import requests
from support.e2e_procs import AUTH, Server, dtms_verb

from .conftest import CLOSED


def test_a_closed_trade_is_kept_for_its_history(served: Server) -> None:
    done = dtms_verb("unregister", str(CLOSED), url=served.url)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and f"ticket {CLOSED} is closed" in done.stderr
    as_json = dtms_verb("unregister", str(CLOSED), "--json", url=served.url)
    assert json.loads(as_json.stdout)["error"] == "trade closed"
    raw = requests.delete(f"{served.url}/dtms/trade/{CLOSED}", headers=AUTH, timeout=30)
    assert raw.status_code == 409 and raw.json()["error"] == "trade closed"
    view = json.loads(dtms_verb("trade", str(CLOSED), "--json", url=served.url).stdout)
    assert view["state"] == "CLOSED" and view["trade_info"]["realised_profit"] == 12.5
    history = json.loads(
        dtms_verb("actions", "--ticket", str(CLOSED), "--json", url=served.url).stdout
    )
    assert "unregistered" not in [e["type"] for e in history]
