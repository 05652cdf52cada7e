"""A report of a close the server already keeps changes nothing (``already_closed``):
the first outcome stands. Its answer now lists the fields it sent otherwise than they
are kept, in ``not_applied`` (sent and kept), as a repeated registration's answer does;
fields it did not send, and fields sent as they are kept, are not listed. A real server
on loopback over the scripted world (the ``client`` fixture)."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration

Client = TestClient[web.Request, web.Application]


async def test_a_second_close_lists_each_field_it_did_not_apply(client: Client) -> None:
    assert (await client.post("/dtms/trade/enable", json=registration(71))).status == 201
    first = {"reason": "tp", "profit": 25.0, "close_price": 2020.0}
    resp = await client.post("/dtms/trade/71/closed", json=first)
    assert resp.status == 200 and "not_applied" not in await resp.json()
    kept = (await (await client.get("/dtms/trade/71")).json())["trade_info"]

    later = datetime.fromisoformat(kept["closed_at"]) + timedelta(minutes=1)
    other = {"reason": "sl", "realised_profit": "-99", "closed_at": later.isoformat(),
             "close_price": 1990.5}  # fmt: skip
    resp = await client.post("/dtms/trade/71/closed", json=other)
    body = await resp.json()
    assert (resp.status, body["already_closed"]) == (200, True)
    assert body["not_applied"] == {
        "reason": {"sent": "sl", "kept": "tp"},
        "profit": {"sent": -99.0, "kept": 25.0},
        "closed_at": {"sent": later.isoformat(), "kept": kept["closed_at"]},
        "close_price": {"sent": 1990.5, "kept": 2020.0},
    }
    info = body["trade_info"]
    assert (info["close_reason"], info["realised_profit"], info["close_price"]) == (
        "tp", 25.0, 2020.0,
    )  # fmt: skip


async def test_a_close_sent_again_as_kept_or_without_fields_lists_nothing(
    client: Client,
) -> None:
    assert (await client.post("/dtms/trade/enable", json=registration(72))).status == 201
    first = {"reason": "tp", "profit": 25.0}
    assert (await client.post("/dtms/trade/72/closed", json=first)).status == 200
    kept = (await (await client.get("/dtms/trade/72")).json())["trade_info"]
    same_time = {**first, "closed_at": kept["closed_at"], "profit": "25.0"}
    for again in (first, same_time, {}, {"reason": " tp "}):
        body = await (await client.post("/dtms/trade/72/closed", json=again)).json()
        assert body["already_closed"] is True and "not_applied" not in body, (again, body)
    only_profit = await client.post("/dtms/trade/72/closed", json={"profit": 3})
    assert (await only_profit.json())["not_applied"] == {"profit": {"sent": 3.0, "kept": 25.0}}
