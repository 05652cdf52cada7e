"""The keys of a request body, on a real server: a key given twice in one object is a 400
naming it (``json.loads`` kept the last silently, so a client's duplicate registered a
trade it may not have meant)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

Client = TestClient[web.Request, web.Application]
JSON = {"Content-Type": "application/json"}
REGISTRATION = '"symbol": "XAUUSD", "direction": "buy", "entry": 2000, "volume": 1'


async def _post(client: Client, path: str, text: str) -> tuple[int, Any]:
    resp = await client.post(path, data=text.encode(), headers=JSON)
    return resp.status, await resp.json()


async def test_a_key_given_twice_is_a_400_naming_it_and_nothing_is_registered(
    client: Client,
) -> None:
    text = '{"ticket": 5004, "ticket": 5005, ' + REGISTRATION + "}"
    status, body = await _post(client, "/dtms/trade/enable", text)
    assert (status, body["field"], body["success"]) == (400, "ticket", False), body
    assert (
        body["message"] == "ticket: given twice in one JSON object (5004, then 5005); send it once"
    )
    for ticket in (5004, 5005):
        assert (await client.get(f"/dtms/trade/{ticket}")).status == 404


async def test_a_key_given_twice_in_a_batch_item_or_a_close_is_a_400_naming_it(
    client: Client,
) -> None:
    item = '{"ticket": 5006, ' + REGISTRATION + ', "stop_loss": 1990, "stop_loss": 1995}'
    status, body = await _post(client, "/dtms/trades", '{"trades": [' + item + "]}")
    assert (status, body["field"]) == (400, "stop_loss"), body
    ok = '{"ticket": 5007, ' + REGISTRATION + "}"
    assert (await _post(client, "/dtms/trade/enable", ok))[0] == 201
    status, body = await _post(client, "/dtms/trade/5007/closed", '{"profit": 1, "profit": 2}')
    assert (status, body["field"]) == (400, "profit"), body
    view = await (await client.get("/dtms/trade/5007")).json()
    assert view["state"] != "CLOSED"  # the close was not applied with either value


async def test_the_same_key_in_two_objects_is_no_duplicate(client: Client) -> None:
    items = ", ".join(f'{{"ticket": {t}, {REGISTRATION}}}' for t in (5008, 5009))
    status, body = await _post(client, "/dtms/trades", '{"trades": [' + items + "]}")
    assert (status, body["counts"]["registered"]) == (200, 2), body
