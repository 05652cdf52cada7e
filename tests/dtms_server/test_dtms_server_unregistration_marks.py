"""An unregistration (``DELETE /dtms/trade/{ticket}``) is remembered so a host does not undo
it at its next refresh (docs/client.md). The mark is lifted only by a registration that
succeeds: one refused after the check (an unknown symbol) lifted it, and the host's next
automatic registration then undid the DELETE. A lifted mark leaves nothing behind, and
retention removes marks older than ``retention_days`` (real server on loopback, real
stores)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration, service_of

from dtms_plugin.store import Store, StoreProtocol
from dtms_plugin.store.shared import UNREGISTERED

Client = TestClient[web.Request, web.Application]


async def test_a_refused_registration_leaves_the_unregistration_standing(client: Client) -> None:
    assert (await client.post("/dtms/trade/enable", json=registration(7))).status == 201
    assert (await client.delete("/dtms/trade/7")).status == 200
    refused = await client.post("/dtms/trade/enable", json=registration(7, symbol="NOPE"))
    assert refused.status == 400  # checked after the mark: refused by the engine
    auto = await client.post("/dtms/trade/enable", json={**registration(7), "automatic": True})
    assert auto.status == 409, await auto.text()
    assert (await auto.json())["error"] == "trade unregistered"
    store = service_of(client).store
    assert "7" in store.get_value(UNREGISTERED)
    assert (await client.post("/dtms/trade/enable", json=registration(7))).status == 201
    assert store.get_value(UNREGISTERED) == {}  # lifted: the entry gone, no null kept
    assert store.get_value("unregistered:7") is None


def _stores(tmp_path: Path, request: pytest.FixtureRequest) -> list[Any]:
    stores: list[Any] = [Store(tmp_path / "s")]
    from dtms_plugin.store.redis_store import RedisStore

    stores.append(RedisStore(request.getfixturevalue("redis_server").url()))
    return stores


def test_retention_removes_old_unregistration_marks(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    for store in _stores(tmp_path, request):
        with store:
            check: StoreProtocol = store
            old = {"symbol": "XAUUSD", "direction": "buy", "at": "2026-01-02T00:00:00+00:00"}
            new = {**old, "at": "2026-03-02T00:00:00+00:00"}
            check.put_value(UNREGISTERED, {"1": old, "2": new, "3": {"at": None}})
            check.purge_closed(datetime(2026, 2, 1, tzinfo=UTC))
            assert check.get_value(UNREGISTERED) == {"2": new}, type(store).__name__
