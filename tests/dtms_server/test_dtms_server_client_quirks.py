"""What clients written for the original DTMS really send: Python's ``json`` escapes a
lone surrogate as ``\\ud800`` (it used to poison every later write of the server), a
list as repeated query keys, a close report after the engine already saw the position
go, a reused ticket for another position, forms, broken compression. Each is answered
as data (a 2xx or a 4xx naming the field), never a 500, and the server goes on."""

from __future__ import annotations

import gzip
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import World, registration, service_of, wavy_path

from dtms_plugin.server.service import default_strategy_factory

Client = TestClient[web.Request, web.Application]
LONE = '"\\ud800 x"'  # JSON text of a lone high surrogate, as json.dumps writes it


async def post_text(client: Client, path: str, text: str, **headers: str) -> Any:
    resp = await client.post(
        path, data=text.encode(), headers={"Content-Type": "application/json", **headers}
    )
    return resp.status, await resp.json()


async def test_a_lone_surrogate_is_a_400_naming_the_field_and_the_server_goes_on(
    client: Client,
) -> None:
    base = '{"ticket": 5, "symbol": "XAUUSD", "direction": "buy", "entry": 2000, "volume": 1'
    status, body = await post_text(
        client, "/dtms/trade/enable", base + ', "comment": ' + LONE + "}"
    )
    assert (status, body["field"]) == (400, "comment")
    assert "lone surrogate" in body["message"]
    assert (await client.post("/dtms/trade/enable", json=registration(6))).status == 201
    batch = '{"trades": [' + base.replace("5", "7") + '}, {"ticket": 8, "symbol": ' + LONE + "}]}"
    status, body = await post_text(client, "/dtms/trades", batch)
    assert status == 200 and body["counts"] == {
        "registered": 1, "already_registered": 0, "refused": 1
    }  # fmt: skip
    assert body["results"][1]["field"] == "symbol"
    status, body = await post_text(client, "/dtms/trade/6/closed", '{"reason": ' + LONE + "}")
    assert (status, body["field"]) == (400, "reason")
    await service_of(client).run_cycle()
    assert (await client.get("/health")).status == 200


async def test_repeated_query_keys(client: Client) -> None:
    for ticket in (31, 32):
        await client.post("/dtms/trade/enable", json=registration(ticket))
    body = await (await client.get("/dtms/trades?tickets=31&tickets=32")).json()
    assert sorted(body["trades"]) == ["31", "32"]  # what requests sends for a list
    resp = await client.get("/dtms/actions?ticket=31&ticket=32")
    body = await resp.json()
    assert (resp.status, body["field"]) == (400, "ticket")
    assert "given 2 times" in body["message"]


async def test_a_form_or_a_broken_compression_is_a_400_that_says_so(client: Client) -> None:
    resp = await client.post("/dtms/trade/enable", data={"ticket": "5"})
    body = await resp.json()
    assert (
        resp.status == 400
        and "send a JSON object (Content-Type: application/json)" in (body["message"])
    )
    curl_style = await client.post(  # curl -d: JSON sent with a form's content type
        "/dtms/trade/enable",
        data=b'{"ticket": 9, "symbol": "XAUUSD", "direction": "buy", "entry": 1, "volume": 1}',
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert curl_style.status == 201
    for encoding in ("gzip", "deflate"):  # aiohttp ends such a connection after the answer
        status, body = await post_text(
            client,
            "/dtms/trade/enable",
            "not compressed",
            **{"Content-Encoding": encoding, "Connection": "close"},
        )
        assert (status, body["field"]) == (400, "Content-Encoding"), encoding
    good = gzip.compress(b'{"ticket": 10, "symbol": "XAUUSD", "direction": "sell", '
                         b'"entry": 1, "volume": 1}')  # fmt: skip
    resp = await client.post(
        "/dtms/trade/enable",
        data=good,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert resp.status == 201


async def test_a_body_that_does_not_decompress_leaves_the_next_request_whole(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    """On a kept-alive connection, the unread rest of a broken gzip body was read as the
    next request: a valid registration after it got a reset connection, and aiohttp
    logged a traceback. The 400 now closes that connection; the client opens another."""
    for encoding in ("gzip", "deflate"):
        with caplog.at_level("ERROR"):
            resp = await client.post(
                "/dtms/trade/enable",
                data=b"x" * 5000,
                headers={"Content-Type": "application/json", "Content-Encoding": encoding},
            )
            assert (resp.status, (await resp.json())["field"]) == (400, "Content-Encoding")
            assert resp.headers.get("Connection", "").lower() == "close"
            nxt = await client.post("/dtms/trade/enable", json=registration(60))
            assert nxt.status in (200, 201), encoding
        assert not [r for r in caplog.records if r.name.startswith("aiohttp")], encoding


async def test_a_close_reason_is_checked_as_the_schema_says(client: Client) -> None:
    await client.post("/dtms/trade/enable", json=registration(41))
    for reason in ("   ", " " * 10 + "x" * 60):
        resp = await client.post("/dtms/trade/41/closed", json={"reason": reason})
        assert (resp.status, (await resp.json())["field"]) == (400, "reason"), reason
    ok = await client.post("/dtms/trade/41/closed", json={"reason": " tp "})
    assert ok.status == 200 and (await ok.json())["trade_info"]["close_reason"] == "tp"


async def test_a_report_gives_an_engine_closed_trade_its_outcome(make_client: Any) -> None:
    """The engine closes a trade whose position is gone from its broker ("position
    gone", no profit known); the client's report that follows is its outcome."""
    world = World({"XAUUSD": wavy_path(2000.0, 400)}, visible=300)
    client: Client = await make_client(world=world, strategy_factory=default_strategy_factory)
    assert (await client.post("/dtms/trade/enable", json=registration(51))).status == 201
    await service_of(client).run_cycle()  # the broker has no ticket 51: gone
    view = await (await client.get("/dtms/trade/51")).json()
    info = view["trade_info"]
    assert (view["state"], info["close_reason"], info["realised_profit"]) == (
        "CLOSED", "position gone", None
    )  # fmt: skip
    resp = await client.post("/dtms/trade/51/closed", json={"reason": "tp", "profit": 25.0})
    info = (await resp.json())["trade_info"]
    assert (info["close_reason"], info["realised_profit"]) == ("tp", 25.0)
    assert info["closed_at"] == view["trade_info"]["closed_at"]  # the engine's close time
    again = await client.post("/dtms/trade/51/closed", json={"reason": "sl", "profit": -9.0})
    info = (await again.json())["trade_info"]
    assert (info["close_reason"], info["realised_profit"]) == ("tp", 25.0)  # the first one


async def test_a_closed_ticket_registered_for_another_position_is_a_new_trade(
    client: Client,
) -> None:
    assert (await client.post("/dtms/trade/enable", json=registration(61))).status == 201
    await client.post("/dtms/trade/61/closed", json={"reason": "tp", "profit": 5.0})
    for changed in ({"direction": "sell"}, {"symbol": "EURUSD", "entry": 1.1, "stop_loss": 1.09,
                                            "take_profit": 1.12}):  # fmt: skip
        resp = await client.post("/dtms/trade/enable", json=registration(61, **changed))
        body = await resp.json()
        assert resp.status == 201 and body["state"] == "HEALTHY", changed
        await client.post("/dtms/trade/61/closed", json={"reason": "tp", "profit": 1.0})
    same = await client.post("/dtms/trade/enable", json=registration(61, symbol="EURUSD",
                             entry=1.1, stop_loss=1.09, take_profit=1.12))  # fmt: skip
    assert same.status == 409 and (await same.json())["error"] == "trade closed"


async def test_a_trailing_slash_is_redirected_to_the_path(client: Client) -> None:
    """The original server (FastAPI) redirected ``/dtms/status/``; a 404 broke clients
    written with the slash."""
    resp = await client.get("/dtms/status/")
    assert resp.status == 200 and "dtms_status" in await resp.json()
    assert [r.status for r in resp.history] == [308]
    moved = await client.get("/dtms/trades/?limit=2", allow_redirects=False)
    body = await moved.json()  # JSON as every answer, with where to go
    assert (moved.status, body["location"], body["success"]) == (308, "/dtms/trades?limit=2", False)
    resp = await client.post("/dtms/trade/enable/", json=registration(70))
    assert resp.status == 201 and (await resp.json())["ticket"] == 70  # method and body kept
    assert (await client.get("/nowhere/")).status == 404


async def test_a_write_from_a_web_page_of_another_site_is_refused(client: Client) -> None:
    """A page the trader opens may POST text cross-site without asking the server; a
    server on 127.0.0.1 without a token took it as a client's and let the trade go."""
    await client.post("/dtms/trade/enable", json=registration(80))
    page = {"Origin": "https://evil.example", "Content-Type": "text/plain"}
    resp = await client.post("/dtms/trade/80/closed", data=b'{"reason": "x"}', headers=page)
    body = await resp.json()
    assert (resp.status, body["error"]) == (403, "cross-origin request refused")
    assert (await (await client.get("/dtms/trade/80")).json())["state"] == "HEALTHY"
    own = {"Origin": str(client.make_url("")).rstrip("/")}  # the dashboard's own origin
    assert (await client.post("/dtms/trade/80/closed", json={}, headers=own)).status == 200
    assert (await client.get("/dtms/trade/80", headers=page)).status == 200  # reads: fine


async def test_without_a_token_a_request_for_another_host_name_is_refused(
    client: Client,
) -> None:
    """A page whose domain was rebound to 127.0.0.1 is same-origin to the browser: its
    Origin matches its Host, so only the name it asks by tells it apart."""
    rebound = {"Host": "evil.example:1", "Origin": "http://evil.example:1"}
    resp = await client.delete("/dtms/trade/424242", headers=rebound)
    assert (resp.status, (await resp.json())["error"]) == (403, "host not allowed")
    assert (await client.get("/dtms/status", headers={"Host": "evil.example"})).status == 403
    for name in ("localhost:8001", "127.0.0.1", "[::1]:8001"):  # what programs send
        assert (await client.get("/health", headers={"Host": name})).status == 200, name
