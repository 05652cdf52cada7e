"""``GET /dtms/trades``'s query: filters by ``state`` and ``symbol`` (``total`` counts
what they keep), ``journal=0`` for the dashboard's light rows, a 400 naming a parameter the
route does not take or a one-value parameter given twice, and each row's ``last_reason``
from its own history. On a real server."""

from __future__ import annotations

import json

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration, service_of

from dtms_plugin.server import limits

Client = TestClient[web.Request, web.Application]


async def _five_trades_two_closed(client: Client) -> None:
    for ticket in range(1, 6):
        assert (await client.post("/dtms/trade/enable", json=registration(ticket))).status == 201
    for ticket in (2, 4):
        closed = await client.post(f"/dtms/trade/{ticket}/closed", json={"reason": "tp"})
        assert closed.status == 200


async def _get(client: Client, query: str, status: int = 200) -> dict[str, object]:
    resp = await client.get("/dtms/trades?" + query)
    assert resp.status == status, (query, await resp.text())
    body: dict[str, object] = await resp.json()
    return body


async def test_state_and_symbol_filter_the_trades_and_total_counts_them(client: Client) -> None:
    await _five_trades_two_closed(client)
    closed = await _get(client, "state=CLOSED&limit=10")
    assert (sorted(closed["trades"]), closed["total"]) == (["2", "4"], 2)  # type: ignore[call-overload]
    both = await _get(client, "state=closed,healthy")  # any case, comma-separated
    assert sorted(both["trades"], key=int) == ["1", "2", "3", "4", "5"]  # type: ignore[call-overload]
    repeated = await _get(client, "state=HEDGED&state=CLOSED&limit=1")
    assert (list(repeated["trades"]), repeated["total"]) == (["4"], 2)  # type: ignore[call-overload]
    assert (await _get(client, "state=HEDGED"))["trades"] == {}
    gold = await _get(client, "symbol=XAUUSD&state=HEALTHY&limit=100")
    assert (sorted(gold["trades"]), gold["total"]) == (["1", "3", "5"], 3)  # type: ignore[call-overload]
    none = await _get(client, "symbol=EURUSD&limit=100")
    assert (none["trades"], none["total"]) == ({}, 0)


async def test_unknown_states_parameters_and_repeats_are_a_400_naming_them(
    client: Client,
) -> None:
    await _five_trades_two_closed(client)
    for query, field in [
        ("state=PANIC", "state"),
        ("state=HEDGED,", "state"),
        ("sort=ticket", "sort"),
        ("cursor=abc", "cursor"),
        ("limit=5&sorted=1", "sorted"),
        ("limit=5&limit=6", "limit"),
        ("offset=0&offset=1", "offset"),
        ("journal=0&journal=1", "journal"),
        ("journal=no", "journal"),
        ("tickets=1,2&state=PANIC", "state"),
    ]:
        body = await _get(client, query, 400)
        assert body["field"] == field, (query, body)
    assert "HEDGED" in json.dumps(await _get(client, "state=PANIC", 400))


async def test_offset_past_the_largest_reads_as_it_and_the_document_says_so(
    client: Client,
) -> None:
    body = await _get(client, "offset=" + "9" * 20)
    assert body["offset"] == limits.MAX_TICKET
    doc = await (await client.get("/openapi.json")).json()
    params = doc["paths"]["/dtms/trades"]["get"]["parameters"]
    offset = next(p for p in params if p["name"] == "offset")
    assert str(limits.MAX_TICKET) in offset["description"]
    assert {"state", "symbol", "journal"} <= {p["name"] for p in params}


async def test_journal_0_leaves_the_journals_out_and_the_default_keeps_them(
    client: Client,
) -> None:
    for ticket in range(1, 101):
        assert (await client.post("/dtms/trade/enable", json=registration(ticket))).status == 201
    store = service_of(client).store
    for ticket in range(1, 101):  # a journal as a managed trade collects one
        record = store.get_record(ticket)
        record["journal"] = [
            {"kind": "tighten_sl", "key": f"{ticket}:{n}", "status": "done", "at": "x" * 20,
             "params": {"stop_loss": 1990.0 + n}, "message": "SL moved to 1991.00"}
            for n in range(8)
        ]  # fmt: skip
        store.put_record(ticket, record)
    full_resp = await client.get("/dtms/trades?limit=100")
    light_resp = await client.get("/dtms/trades?limit=100&journal=0")
    full, light = await full_resp.json(), await light_resp.json()
    assert full["trades"]["7"]["trade_info"]["journal"][0]["kind"] == "tighten_sl"
    assert full["trades"]["7"]["trade_info"]["actions_taken"]
    info = light["trades"]["7"]["trade_info"]
    assert "journal" not in info and "actions_taken" not in info
    assert light["trades"]["7"]["last_action"]["message"] == "SL moved to 1991.00"
    full_bytes, light_bytes = len(json.dumps(full)), len(json.dumps(light))
    print(f"100 trades: {full_bytes} bytes with journals, {light_bytes} with journal=0")
    assert light_bytes < full_bytes / 2


async def test_last_reason_comes_from_each_trades_own_history(client: Client) -> None:
    """Older trades kept no reason once 1,000 newer entries of other trades were written:
    the reason was looked for in a window of the newest history, not in the trade's."""
    for ticket in (1, 2):
        assert (await client.post("/dtms/trade/enable", json=registration(ticket))).status == 201
    store = service_of(client).store
    at = "2026-01-05T10:00:00+00:00"
    store.append_actions(
        [{"type": "state_change", "ticket": 1, "from": "HEALTHY", "to": "WARNING_L1",
          "reason": "score -2.1 below -2", "at": at}]
    )  # fmt: skip
    store.append_actions(
        {"type": "action", "ticket": 2, "kind": "tighten_sl", "ok": True, "at": at}
        for _ in range(1100)
    )
    body = await _get(client, "limit=10")
    assert body["trades"]["1"]["last_reason"] == "score -2.1 below -2"  # type: ignore[index]
