"""An empty query value is a parameter not given, on every GET route: the API's own
template ``GET /dtms/actions?ticket=&limit=`` (docs/client.md) was a 400. And
``GET /dtms/trades`` applies ``state`` and ``symbol`` to a list of ``tickets`` too (they
were silently dropped, answering a CLOSED trade to ``state=HEALTHY``), whose tickets may
be separated by spaces (``tickets=1+2``). On a real server, and on a host's routes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration

from dtms_plugin.local import LocalStrategy
from dtms_plugin.server.openapi import document
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from dtms_plugin.web import routes

Client = TestClient[web.Request, web.Application]


async def _get(client: Client, url: str, status: int = 200) -> Any:
    resp = await client.get(url)
    assert resp.status == status, (url, await resp.text())
    return await resp.json()


async def _three_trades_one_closed(client: Client) -> None:
    for ticket in (1, 2, 3):
        assert (await client.post("/dtms/trade/enable", json=registration(ticket))).status == 201
    closed = await client.post("/dtms/trade/2/closed", json={"reason": "tp"})
    assert closed.status == 200


@pytest.mark.parametrize("query", ["ticket=&limit=", "ticket=&limit=10", "limit=", "ticket="])
async def test_an_empty_actions_parameter_is_not_given(client: Client, query: str) -> None:
    await _three_trades_one_closed(client)
    every = await _get(client, "/dtms/actions")
    body = await _get(client, f"/dtms/actions?{query}")
    assert body["ticket"] is None and body["actions"] == every["actions"]


async def test_an_empty_limit_beside_a_ticket_is_the_default(client: Client) -> None:
    await _three_trades_one_closed(client)
    body = await _get(client, "/dtms/actions?ticket=2&limit=")
    assert body["ticket"] == 2 and body["actions"]
    assert {entry["ticket"] for entry in body["actions"]} == {2}
    repeated = await _get(client, "/dtms/actions?limit=&limit=5&limit=6", 400)
    assert repeated["field"] == "limit"


@pytest.mark.parametrize("query", ["state=", "symbol=", "limit=&offset=", "journal="])
async def test_an_empty_trades_parameter_is_not_given(client: Client, query: str) -> None:
    await _three_trades_one_closed(client)
    body = await _get(client, f"/dtms/trades?{query}")
    assert sorted(body["trades"], key=int) == ["1", "2", "3"]
    assert (body["total"], body["offset"], body["more"]) == (3, 0, False)  # the first page
    assert "journal" in body["trades"]["1"]["trade_info"]


async def test_state_and_symbol_filter_a_list_of_tickets_too(client: Client) -> None:
    await _three_trades_one_closed(client)
    healthy = await _get(client, "/dtms/trades?tickets=1,2,9&state=HEALTHY")
    assert (sorted(healthy["trades"]), healthy["unknown"]) == (["1"], [9])
    closed = await _get(client, "/dtms/trades?tickets=1,2&state=closed")
    assert sorted(closed["trades"]) == ["2"] and closed["trades"]["2"]["state"] == "CLOSED"
    gold = await _get(client, "/dtms/trades?tickets=1,3&symbol=XAUUSD")
    assert sorted(gold["trades"]) == ["1", "3"]
    assert (await _get(client, "/dtms/trades?tickets=1,3&symbol=EURUSD"))["trades"] == {}


@pytest.mark.parametrize("tickets", ["1+3", "1%203", "1,%203", "+1++3+", "1%09,3"])
async def test_tickets_may_be_separated_by_spaces(client: Client, tickets: str) -> None:
    await _three_trades_one_closed(client)
    body = await _get(client, f"/dtms/trades?tickets={tickets}")
    assert sorted(body["trades"]) == ["1", "3"] and body["unknown"] == []
    assert (await _get(client, "/dtms/trades?tickets=1+x", 400))["field"] == "tickets"


def test_the_document_says_every_optional_query_parameter_may_be_empty() -> None:
    for path, ops in document()["paths"].items():
        for method, op in ops.items():
            for parameter in op.get("parameters", []):
                if parameter["in"] == "query":
                    assert parameter.get("allowEmptyValue") is True, (path, method, parameter)
                    said = parameter["description"]
                    if parameter["name"] in ("tickets", "tickets[]"):  # no ticket asked
                        assert "Empty (tickets=" in said or "Empty: as tickets=" in said
                    else:
                        assert "Empty: as if not given." in said


async def test_a_hosts_actions_route_reads_empty_values_alike(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    settings = DtmsSettings(state_dir=str(tmp_path / "state"))
    with Store(tmp_path / "dtms") as store:
        store.put_record(1, {"ticket": 1, "state": "HEALTHY", "symbol": "XAUUSD"})
        store.put_record(2, {"ticket": 2, "state": "CLOSED", "symbol": "XAUUSD"})
        app = web.Application()
        app.add_routes(routes(LocalStrategy(settings, store), settings))
        client = await aiohttp_client(app)
        body = await _get(client, "/dtms/actions?ticket=&limit=")
        assert body["ticket"] is None
        assert (await _get(client, "/dtms/actions?limit=1&limit=2", 400))["field"] == "limit"
        healthy = await _get(client, "/dtms/trades?tickets=1+2&state=HEALTHY")
        assert sorted(healthy["trades"]) == ["1"]
