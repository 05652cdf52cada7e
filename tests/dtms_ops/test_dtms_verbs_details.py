"""What the operator verbs show of a trade, as real processes against a real ``dtms
serve``: a closed trade's reason, time and profit, one wording of "defensive" in every
table, and with ``--json`` an unknown ticket's error on stdout, not nothing."""

from __future__ import annotations

import json

from support.e2e_procs import Server, dtms_verb

from dtms_plugin.ops import _trade_row

from .conftest import CLOSED, OPEN


def test_a_closed_trade_shows_its_close(served: Server) -> None:
    shown = dtms_verb("trade", str(CLOSED), url=served.url).stdout
    lines = {line.split("│")[1].strip(): line.split("│")[2].strip()
             for line in shown.splitlines() if line.count("│") == 3}  # fmt: skip
    assert lines["close_reason"] == "manual" and lines["realised_profit"] == "12.5"
    assert lines["closed_at"].startswith("20") and lines["defensive"] == "no"
    opened = dtms_verb("trade", str(OPEN), url=served.url).stdout
    assert "close_reason" not in opened


def test_defensive_is_one_wording_in_every_table(served: Server) -> None:
    table = dtms_verb("trades", url=served.url).stdout
    rows = [line for line in table.splitlines() if f"│ {OPEN} " in line]
    assert len(rows) == 1 and "│ no " in rows[0] and "False" not in table


def test_a_close_without_a_profit_says_no_none() -> None:
    info = {"closed_at": "2026-01-05T00:00:00Z", "close_reason": "position gone"}
    row = _trade_row(7, {"state": "CLOSED", "trade_info": info})
    assert row[-1] == "position gone"


def test_an_unknown_ticket_with_json_prints_the_error(served: Server) -> None:
    for verb in ("trade", "unregister"):
        done = dtms_verb(verb, "909", "--json", url=served.url)
        assert done.returncode == 1
        assert json.loads(done.stdout)["error"] == "trade not found"
        assert "909 is not managed" in done.stderr
