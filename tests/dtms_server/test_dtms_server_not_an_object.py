"""A body that is no JSON object reads the same on every route: ``expected a JSON object,
got an array`` (it was ``got list`` on ``/dtms/trade/enable`` and ``got <list>`` on a
close), in JSON's words; and a batch's item that is no object is named by its place,
``trades[1]``, not ``body`` (the body was an object). A real server on loopback over the
scripted world (the ``client`` fixture)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration

Client = TestClient[web.Request, web.Application]


@pytest.mark.parametrize(
    ("sent", "kind"),
    [([1], "an array"), ("x", "a string"), (3, "a number"), (True, "a boolean")],
)
async def test_a_body_that_is_no_object_reads_alike_on_each_route(
    client: Client, sent: Any, kind: str
) -> None:
    await client.post("/dtms/trade/enable", json=registration(90))
    for path in ("/dtms/trade/enable", "/dtms/trade/90/closed"):
        resp = await client.post(path, json=sent)
        body = await resp.json()
        assert (resp.status, body["field"]) == (400, "body"), (path, body)
        assert body["message"] == f"body: expected a JSON object, got {kind}", (path, body)


async def test_a_batch_item_that_is_no_object_is_named_by_its_place(client: Client) -> None:
    items = [registration(91), [1, 2], "x", None]
    resp = await client.post("/dtms/trades", json={"trades": items})
    results = (await resp.json())["results"]
    assert [(r["status"], r.get("field")) for r in results] == [
        (201, None), (400, "trades[1]"), (400, "trades[2]"), (400, "trades[3]"),
    ]  # fmt: skip
    assert [r.get("message") for r in results[1:]] == [
        "trades[1]: expected a JSON object, got an array",
        "trades[2]: expected a JSON object, got a string",
        "trades[3]: expected a JSON object, got null",
    ]
