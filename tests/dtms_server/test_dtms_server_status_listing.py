"""``/dtms/status`` (which the dashboard polls with its page, every 2 s), ``/metrics`` and
the original server's ``/dtms/health`` and ``/dtms/engine`` count the trades per state
from the records' listing (dtms_plugin/store/listing.py): the counts a read of every
record gave, with no record decoded."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration, service_of

from dtms_plugin.server.dashboard import store_status
from dtms_plugin.server.views import record_state
from dtms_plugin.store import Store

Client = TestClient[web.Request, web.Application]


def _no_full_read(monkeypatch: pytest.MonkeyPatch, store: Any) -> None:
    def refused() -> None:
        raise AssertionError("every record read and decoded for a count")

    monkeypatch.setattr(store, "records", refused)


async def test_the_counts_are_the_records_counts_without_reading_them(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client: Client = await make_client(dashboard=True)
    for ticket in range(1, 6):
        assert (await client.post("/dtms/trade/enable", json=registration(ticket))).status == 201
    assert (await client.post("/dtms/trade/2/closed", json={"reason": "tp"})).status == 200
    store = service_of(client).store
    store.put_record(90, {"state": "bogus"})  # a state it does not know: HEALTHY
    store.put_record(91, {"trade": {"symbol": "XAUUSD"}})  # none at all: HEALTHY too
    records = store.records()
    states = Counter(record_state(r) for r in records.values())
    raw = Counter(r["state"] for r in records.values() if isinstance(r.get("state"), str))
    active = sum(1 for r in records.values() if r.get("state") != "CLOSED")
    _no_full_read(monkeypatch, store)

    status = await (await client.get("/dtms/status")).json()
    assert status["trades"] == len(records) == 7
    assert {s: n for s, n in status["states"].items() if n} == dict(states)
    metrics = await (await client.get("/metrics")).text()
    found = dict(re.findall(r'^dtms_trades\{state="(\w+)"\} (\S+)$', metrics, re.MULTILINE))
    assert {s: int(float(n)) for s, n in found.items() if float(n)} == {
        s: n for s, n in raw.items() if s in found
    }
    health = await (await client.get("/dtms/health")).json()
    engine = await (await client.get("/dtms/engine")).json()
    assert health["active_trades"] == engine["engine_info"]["active_trades_count"] == active


def test_a_hosts_dashboard_status_counts_from_the_listing(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``hostapp run --live --serve``'s dashboard: the same counts from its store."""
    with Store(tmp_path / "dtms") as store:
        store.put_records(
            {
                1: {"state": "HEDGED"},
                2: {"state": "CLOSED"},
                3: {"state": 5},
                4: {"state": "CLOSED"},
            }
        )
        _no_full_read(monkeypatch, store)
        status = store_status(store)
    assert status["trades"] == 4
    assert (status["states"]["HEDGED"], status["states"]["CLOSED"]) == (1, 2)
    assert status["states"]["HEALTHY"] == 1
