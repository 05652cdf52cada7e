"""Two names of one registration field sent with different values: for the trade's side
and its fill, a 400 naming both (which one the client meant would be a guess, and a 201
reads as done); for the stop, the target and the opening, the field's own name wins and
the alias is named in the answer's ``ignored``, as a client written for the original DTMS
sends a MetaTrader position's dict beside the fields (``sl: 0.0`` for "no stop at the
broker", ``time`` on the broker server's clock). The same value under both is one value.
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
        ({"direction": "buy", "entry": 2000.0, "open_price": 2001.0}, "open_price", "entry"),
    ],
)
async def test_a_side_or_a_fill_that_disagree_are_a_400_naming_both(
    client: Client, sent: dict[str, Any], field: str, other: str
) -> None:
    resp = await client.post("/dtms/trade/enable", json={**BASE, **sent})
    body = await resp.json()
    assert resp.status == 400, body
    assert body["field"] == field and other in body["message"], body
    assert (await client.get("/dtms/trade/7001")).status == 404  # nothing kept


@pytest.mark.parametrize(
    ("sent", "kept", "alias"),
    [
        ({"stop_loss": 1990.0, "sl": 1980.0}, ("stop_loss", 1990.0), "sl"),
        ({"stop_loss": 1990.0, "sl": 0.0}, ("stop_loss", 1990.0), "sl"),  # none at the broker
        ({"stop_loss": 1990.0, "take_profit": 2020.0, "tp": 2030.0}, ("take_profit", 2020.0), "tp"),
        (
            {"stop_loss": 1990.0, "opened_at": "2026-01-05T10:00:00Z", "time": 1767614400},
            ("opened_at", "2026-01-05T10:00:00+00:00"),  # time: the server's clock, +02:00
            "time",
        ),
    ],
)  # fmt: skip
async def test_a_level_or_an_opening_under_its_own_name_wins_and_the_alias_is_named(
    client: Client, sent: dict[str, Any], kept: tuple[str, Any], alias: str
) -> None:
    resp = await client.post("/dtms/trade/enable", json={**BASE, "direction": "buy", **sent})
    body = await resp.json()
    assert resp.status == 201, body
    assert body["ignored"] == [alias] and body["ignored_count"] == 1, body
    field, value = kept
    info = body["trade_info"]
    shown = {"stop_loss": "sl", "take_profit": "tp"}.get(field, field)
    assert info.get(field, info.get(shown)) == value, info


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
