"""The keys of a request body, on a real server: a key given twice in one object is a 400
naming it (``json.loads`` kept the last silently, so a client's duplicate registered a
trade it may not have meant); a key the route does not know is ignored and listed in the
answer's ``ignored``, unless it looks like an optional field whose loss changes money or
risk and the body has not that field (docs/client.md): then it is a 400 naming both, as
its value would otherwise be lost."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration

from dtms_plugin.server.unknown_keys import MAX_LISTED, looks_like
from dtms_plugin.server.validation import REGISTRATION_GUARDED

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


# --- keys a route does not know: ignored and listed, unless they look like a field ---


async def _registered(client: Client, ticket: int) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(ticket))
    assert resp.status == 201, await resp.text()


@pytest.mark.parametrize(
    "key", ["proft", "Profit", "PROFIT", "profits", "porfit", "realized_profit", "Realised-Profit"]
)
async def test_a_misspelt_profit_is_a_400_naming_it_and_the_close_waits(
    client: Client, key: str
) -> None:
    """``{"proft": 25}`` was a 200 that stored a profit of 0: money lost without a word."""
    await _registered(client, 8000)
    resp = await client.post("/dtms/trade/8000/closed", json={"reason": "tp", key: 25})
    body = await resp.json()
    assert (resp.status, body["field"], body["success"]) == (400, key, False), body
    like = "realised_profit" if "real" in key.lower() else "profit"
    assert f"too like {like!r}" in body["message"], body["message"]
    assert (await (await client.get("/dtms/trade/8000")).json())["state"] != "CLOSED"
    resp = await client.post("/dtms/trade/8000/closed", json={"reason": "tp", "profit": 25})
    assert (await resp.json())["trade_info"]["realised_profit"] == 25.0


async def test_realised_profit_is_read_as_the_profit(client: Client) -> None:
    """The server's own trade_info calls it realised_profit: a client sends it back."""
    await _registered(client, 8001)
    sent = {"reason": "tp", "realised_profit": "25.5"}
    resp = await client.post("/dtms/trade/8001/closed", json=sent)
    body = await resp.json()
    assert resp.status == 200, body
    assert body["trade_info"]["realised_profit"] == 25.5
    assert "ignored" not in body  # every key known: the answer is as it was


async def test_profit_and_realised_profit_that_differ_are_a_400_naming_both(
    client: Client,
) -> None:
    await _registered(client, 8002)
    sent = {"reason": "tp", "profit": 25, "realised_profit": 30}
    resp = await client.post("/dtms/trade/8002/closed", json=sent)
    body = await resp.json()
    assert (resp.status, body["field"]) == (400, "realised_profit"), body
    assert body["message"] == "realised_profit: differs from profit (30.0 != 25.0)"
    same = {"reason": "tp", "profit": 25, "realised_profit": "25.0"}
    resp = await client.post("/dtms/trade/8002/closed", json=same)
    assert (resp.status, (await resp.json())["trade_info"]["realised_profit"]) == (200, 25.0)


@pytest.mark.parametrize(
    ("key", "like", "field"),
    [
        ("stoploss", "stop_loss", "stop_loss"),
        ("StopLoss", "stop_loss", "stop_loss"),
        ("stop-loss", "stop_loss", "stop_loss"),
        ("stop_los", "stop_loss", "stop_loss"),
        ("SL", "sl", "stop_loss"),
        ("takeProfit", "take_profit", "take_profit"),
        ("TP", "tp", "take_profit"),
        ("openedAt", "opened_at", "opened_at"),
        ("Time", "time", "opened_at"),
    ],
)
async def test_a_misspelt_registration_field_is_a_400_and_no_trade_is_kept(
    client: Client, key: str, like: str, field: str
) -> None:
    """``"stoploss": 1990`` was a 201 whose trade had no stop (R 0)."""
    body = registration(8100)
    body.pop(field, None)
    resp = await client.post("/dtms/trade/enable", json={**body, key: 1990})
    answer = await resp.json()
    assert (resp.status, answer["field"]) == (400, key), answer
    assert answer["message"] == (
        f"{key}: unknown key, too like {like!r} to be ignored (its value would be lost):"
        f" send it as {like}"
    )
    assert (await client.get("/dtms/trade/8100")).status == 404
    many = await client.post("/dtms/trades", json={"trades": [{**body, key: 1990}]})
    (result,) = (await many.json())["results"]
    assert (result["outcome"], result["status"], result["field"]) == ("refused", 400, key)


#: keys the original DTMS's clients send beside a full registration (TradingView's
#: ``ticker`` beside ``symbol``, a second target, a position's fields in upper case, a
#: second copy of the stop under another spelling): none is a misspelling whose value
#: would be lost, each is ignored and listed
BESIDE_A_REGISTRATION = ["ticker", "take_profit_1", "take_profit_2", "stop_loss_2", "sl2",
                         "comments", "tickets", "stopLoss", "Stop-Loss", "SL", "TP", "Type",
                         "Magic", "entryPrice", "Volume", "Symbol", "symbols",
                         "Ticket"]  # fmt: skip


@pytest.mark.parametrize("key", BESIDE_A_REGISTRATION)
async def test_a_key_beside_the_field_it_looks_like_or_no_guarded_look_alike_is_ignored(
    client: Client, key: str
) -> None:
    resp = await client.post("/dtms/trade/enable", json={**registration(8110), key: 1995})
    body = await resp.json()
    assert (resp.status, body["ignored"], body["ignored_count"]) == (201, [key], 1), body
    view = await (await client.get("/dtms/trade/8110")).json()
    assert (view["trade_info"]["sl"], view["trade_info"]["tp"]) == (1990.0, 2020.0)


async def test_a_second_level_or_another_word_is_ignored_even_without_the_field(
    client: Client,
) -> None:
    """A key ending in a digit is a second level, not a typo; ``unrealised_profit`` is
    another word than ``realised_profit``: neither is refused, though the body has no
    stop, no target, no profit."""
    body = registration(8120)
    del body["stop_loss"], body["take_profit"]
    extra = {"take_profit_1": 2010, "take_profit_2": 2030, "stop_loss_2": 1980, "tp2": 1}
    resp = await client.post("/dtms/trade/enable", json={**body, **extra})
    assert (resp.status, (await resp.json())["ignored"]) == (201, list(extra))
    close = {"reason": "tp", "unrealised_profit": 12.5, "close_date": "2026-01-05"}
    resp = await client.post("/dtms/trade/8120/closed", json={**close, "closed_at": None})
    body = await resp.json()
    assert (resp.status, body["ignored"]) == (200, ["unrealised_profit", "close_date"]), body


@pytest.mark.parametrize("key", ["unrealised_profit", "Unrealised-Profit", "closeDate", "Reason",
                                 "close_date", "profit_2", "closed_at2", "ClosePrice"])  # fmt: skip
async def test_a_close_key_beside_its_field_is_ignored(client: Client, key: str) -> None:
    await _registered(client, 8130)
    sent = {"reason": "tp", "profit": 3, "closed_at": None, "close_price": 2019.5, key: 1}
    resp = await client.post("/dtms/trade/8130/closed", json=sent)
    body = await resp.json()
    assert (resp.status, body["ignored"], body["state"]) == (200, [key], "CLOSED"), body
    assert body["trade_info"]["profit"] == 3.0


@pytest.mark.parametrize(
    ("key", "like"),
    [("close_date", "closed_at"), ("closePrice", "close_price"), ("ClosedAt", "closed_at")],
)
async def test_a_close_time_or_price_misspelt_without_the_field_is_a_400(
    client: Client, key: str, like: str
) -> None:
    """The close's time dates its loss into a day (the daily loss rail): a lost one is
    dated now, and a loss of yesterday counts against today."""
    await _registered(client, 8140)
    resp = await client.post("/dtms/trade/8140/closed", json={"profit": -5, key: "2026-01-05"})
    body = await resp.json()
    assert (resp.status, body["field"]) == (400, key), body
    assert f"too like {like!r}" in body["message"]


async def test_thousands_of_unknown_keys_are_answered_and_the_listing_is_capped(
    client: Client,
) -> None:
    """Each unknown key was compared letter by letter with every known name: a 64 KiB
    body of them held the event loop for a third of a second. Compared with the guarded
    names only, the first ones only, each is cheap; the answer lists the first ones."""
    extra = {f"k{i:04d}x": 0 for i in range(4000)}
    resp = await client.post("/dtms/trade/enable", json={**registration(8150), **extra})
    body = await resp.json()
    assert resp.status == 201, body
    assert (len(body["ignored"]), body["ignored_count"]) == (MAX_LISTED, 4000)
    assert body["ignored"] == list(extra)[:MAX_LISTED]
    # the first way of looking like is a lookup, asked of every key: not lost at the end
    late = registration(8151)
    del late["stop_loss"]
    resp = await client.post("/dtms/trade/enable", json={**late, **extra, "StopLoss": 1990})
    assert (resp.status, (await resp.json())["field"]) == (400, "StopLoss")


#: what a MetaTrader position's dict carries besides DTMS's fields, and what clients of
#: the original DTMS add: none looks like a registration field
OTHER_KEYS = {"time_msc": 1, "price_open": 2000.0, "price_current": 2001.0, "swap": 0.0,
              "profit": 1.5, "identifier": 7, "reason": 3, "external_id": "", "strategy": "x",
              "account": 12345, "timeframe": "M5", "future_field": {"a": 1}}  # fmt: skip


async def test_other_unknown_keys_are_ignored_and_listed_in_the_answer(client: Client) -> None:
    resp = await client.post("/dtms/trade/enable", json={**registration(8200), **OTHER_KEYS})
    body = await resp.json()
    assert (resp.status, body["ignored"]) == (201, list(OTHER_KEYS)), body
    again = await (await client.post("/dtms/trade/enable", json=registration(8200))).json()
    assert "ignored" not in again  # a client sending only known keys sees what it saw
    items = [{**registration(8201), "bot": "b1"}, registration(8202)]
    results = (await (await client.post("/dtms/trades", json={"trades": items})).json())["results"]
    assert [r.get("ignored") for r in results] == [["bot"], None]
    close = {"reason": "tp", "profit": 3, "ticket": 8200, "close_time": "2026-01-05T10:00:00Z"}
    body = await (await client.post("/dtms/trade/8200/closed", json=close)).json()
    assert (body["state"], body["ignored"]) == ("CLOSED", ["ticket", "close_time"])


async def test_the_servers_own_trade_info_sent_back_registers_as_it_is(client: Client) -> None:
    """A client of the original echoes what it read: no key of trade_info is refused."""
    await _registered(client, 8300)
    info = (await (await client.get("/dtms/trade/8300")).json())["trade_info"]
    resp = await client.post("/dtms/trade/enable", json={**info, "ticket": 8300})
    body = await resp.json()
    assert (resp.status, body["already_registered"]) == (200, True), body
    assert "stop_loss" not in body["ignored"] and "state" in body["ignored"]


@pytest.mark.parametrize(
    ("key", "like"),
    [("Time", "time"), ("tiem", "time"), ("open-time", "open_time"), ("stoplos", "stop_loss"),
     ("SL", "sl"), ("take_profits", "take_profit"), ("tpe", None), ("volum", None),
     ("syмbol", None), ("ticker", None), ("comments", None), ("take_profit_1", None),
     ("reopened_at", None), ("content", None), ("r", None), ("seq", None), ("id", None),
     ("ts", None), ("state", None), ("owed", None), ("close_reason", None)],
)  # fmt: skip
def test_what_looks_like_a_guarded_registration_field(key: str, like: str | None) -> None:
    assert looks_like(key, REGISTRATION_GUARDED) == like
