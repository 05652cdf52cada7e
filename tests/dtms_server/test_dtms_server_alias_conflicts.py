"""Two names of one registration field that carry different values are a 400 naming
both (which one the client meant would be a guess, and a 201 reads as done), for every
alias pair as for ``entry`` and ``open_price``; the same value under both is one value.
A date without a time of day is a 400 naming the field, as the public client refuses a
``datetime.date``. On a real server."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration

Client = TestClient[web.Request, web.Application]

BASE = {k: v for k, v in registration(7001).items() if k not in ("direction", "stop_loss")}


@pytest.mark.parametrize(
    ("sent", "field", "other"),
    [
        ({"direction": "buy", "type": "sell", "stop_loss": 1990.0}, "type", "direction"),
        ({"direction": "buy", "type": 1, "stop_loss": 1990.0}, "type", "direction"),
        ({"direction": "buy", "stop_loss": 1990.0, "sl": 1980.0}, "sl", "stop_loss"),
        ({"direction": "buy", "stop_loss": 1990.0, "sl": 0}, "sl", "stop_loss"),
        ({"direction": "buy", "take_profit": 2020.0, "tp": 2030.0}, "tp", "take_profit"),
        (
            {"direction": "buy", "opened_at": "2026-01-05T10:00:00Z", "time": 1767700000},
            "time",
            "opened_at",
        ),
    ],
)
async def test_two_names_that_disagree_are_a_400_naming_both(
    client: Client, sent: dict[str, Any], field: str, other: str
) -> None:
    resp = await client.post("/dtms/trade/enable", json={**BASE, **sent})
    body = await resp.json()
    assert resp.status == 400, body
    assert body["field"] == field and other in body["message"], body
    assert (await client.get("/dtms/trade/7001")).status == 404  # nothing kept


@pytest.mark.parametrize(
    "sent",
    [
        {"direction": "buy", "type": 0, "stop_loss": 1990.0, "sl": "1990"},
        {"direction": "BUY", "type": "POSITION_TYPE_BUY", "stop_loss": 1990.0, "sl": 1990.0},
        {"direction": "buy", "opened_at": "2026-01-05T10:00:00.250Z", "time": 1767607200},
    ],
)
async def test_the_same_value_under_two_names_is_one_value(
    client: Client, sent: dict[str, Any]
) -> None:
    resp = await client.post("/dtms/trade/enable", json={**BASE, **sent})
    body = await resp.json()
    assert resp.status == 201, body
    assert body["trade_info"]["direction"] == "buy" and "ignored" not in body


@pytest.mark.parametrize("field", ["opened_at", "open_time"])
async def test_a_date_without_a_time_of_day_is_a_400(client: Client, field: str) -> None:
    resp = await client.post("/dtms/trade/enable", json={**registration(7002), field: "2024-01-04"})
    body = await resp.json()
    assert (resp.status, body["field"]) == (400, field), body
    assert "without a time of day" in body["message"]
    assert (await client.post("/dtms/trade/enable", json=registration(7002))).status == 201
    closed = await client.post("/dtms/trade/7002/closed", json={"closed_at": "2026-01-05"})
    assert (closed.status, (await closed.json())["field"]) == (400, "closed_at")
