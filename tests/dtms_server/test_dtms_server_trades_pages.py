"""``GET /dtms/trades`` without ``tickets`` in pages (``limit``, ``offset``): open trades
first, then closed ones, newest ticket first; without either, every trade as the original
DTMS answered. On a real server."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration

from dtms_plugin.server import routes
from dtms_plugin.server.dashboard import PAGE_DEFAULT

Client = TestClient[web.Request, web.Application]


async def _seven_trades_two_closed(client: Client) -> None:
    for ticket in range(1, 8):
        assert (await client.post("/dtms/trade/enable", json=registration(ticket))).status == 201
    for ticket in (2, 5):
        closed = await client.post(f"/dtms/trade/{ticket}/closed", json={"reason": "tp"})
        assert closed.status == 200


async def _page(client: Client, query: str) -> dict[str, object]:
    resp = await client.get("/dtms/trades?" + query)
    assert resp.status == 200, await resp.text()
    body: dict[str, object] = await resp.json()
    return body


async def test_pages_show_open_trades_first_then_closed_newest_first(client: Client) -> None:
    await _seven_trades_two_closed(client)
    pages = [await _page(client, f"limit=3&offset={at}") for at in (0, 3, 6, 9)]
    assert [list(p["trades"]) for p in pages] == [  # type: ignore[call-overload]
        ["7", "6", "4"],
        ["3", "1", "5"],
        ["2"],
        [],
    ]
    assert [(p["total"], p["offset"], p["limit"]) for p in pages] == [
        (7, 0, 3),
        (7, 3, 3),
        (7, 6, 3),
        (7, 9, 3),
    ]
    assert pages[1]["trades"]["5"]["state"] == "CLOSED"  # type: ignore[index]
    first = await _page(client, "offset=0")  # either key asks for a page: 100 by default
    assert (len(first["trades"]), first["limit"]) == (7, 100)  # type: ignore[arg-type]


async def test_without_limit_or_offset_the_first_page_says_more_follow(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every trade at once was 20 MB for 15,500 trades, made on the event loop: the
    listing is paged by default, says whether more follow, and is encoded off the loop."""
    batch = [registration(ticket) for ticket in range(1, 106)]
    assert (await client.post("/dtms/trades", json={"trades": batch})).status == 200
    threads: list[str] = []
    real = routes.encoded

    def spy(body: dict[str, Any], status: int = 200) -> bytes:
        threads.append(threading.current_thread().name)
        return real(body, status)

    monkeypatch.setattr(routes, "encoded", spy)
    first = await _page(client, "")
    assert len(first["trades"]) == PAGE_DEFAULT == first["limit"]  # type: ignore[arg-type]
    assert (first["total"], first["offset"], first["more"]) == (105, 0, True)
    rest = await _page(client, f"offset={PAGE_DEFAULT}")
    assert (len(rest["trades"]), rest["more"]) == (5, False)  # type: ignore[arg-type]
    assert not set(first["trades"]) & set(rest["trades"])  # type: ignore[arg-type]
    assert threads and threading.main_thread().name not in threads


@pytest.mark.parametrize("query", ["tickets=", "tickets[]=", "tickets=&tickets[]=&state=HEDGED"])
async def test_an_empty_ticket_list_asks_about_no_trade(client: Client, query: str) -> None:
    """A client joining an empty list of tickets was answered every trade."""
    await _seven_trades_two_closed(client)
    body = await _page(client, query)
    assert (body["trades"], body["unknown"], body["success"]) == ({}, [], True)
    assert "total" not in body


async def test_bad_paging_is_a_400_naming_the_field_and_tickets_are_answered_whole(
    client: Client,
) -> None:
    await _seven_trades_two_closed(client)
    for query, field in [
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("offset=-1", "offset"),
        ("offset=%20", "offset"),  # empty is not given; a space is no integer
        ("tickets=1&limit=-1", "limit"),
    ]:
        resp = await client.get("/dtms/trades?" + query)
        assert resp.status == 400, query
        assert (await resp.json())["field"] == field, query
    listed = await _page(client, "tickets=1,2,3&limit=2&offset=1")  # a list is answered whole
    assert (sorted(listed["trades"]), "total" in listed) == (["1", "2", "3"], False)  # type: ignore[arg-type]
    big = await _page(client, "limit=5000&offset=" + "9" * 40)
    assert (big["limit"], big["trades"], big["total"]) == (1000, {}, 7)


async def test_ticket_for_tickets_is_a_400_and_axios_lists_are_read(client: Client) -> None:
    """``?ticket=3`` answered every trade (2.3 MB for a real server) as if nothing was
    asked; axios writes a list as ``tickets[]=1&tickets[]=2``."""
    await _seven_trades_two_closed(client)
    resp = await client.get("/dtms/trades?ticket=3")
    assert resp.status == 400 and (await resp.json())["field"] == "ticket"
    listed = await _page(client, "tickets[]=3&tickets[]=4&tickets[]=99")
    assert (sorted(listed["trades"]), listed["unknown"]) == (["3", "4"], [99])  # type: ignore[arg-type]
