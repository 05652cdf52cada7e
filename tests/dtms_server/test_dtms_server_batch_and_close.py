"""``POST /dtms/trades`` (many registrations, one outcome each) and
``POST /dtms/trade/{ticket}/closed`` (a close kept as history), on a real server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration, service_of

from dtms_plugin.server.batch import MAX_BATCH_REGISTRATIONS
from dtms_plugin.server.errors import ClockConflict
from dtms_plugin.server.validation import check_not_ahead

Client = TestClient[web.Request, web.Application]


async def test_a_batch_gets_one_outcome_per_item_in_order(client: Client) -> None:
    await client.post("/dtms/trade/enable", json=registration(3))
    items = [registration(1), registration("2"), registration(3), registration(4, volume=-1)]
    resp = await client.post("/dtms/trades", json={"trades": items})
    assert resp.status == 200
    body = await resp.json()
    assert body["success"] is False  # one item was refused: a 200, but not a success
    outcomes = [(r["index"], r["outcome"], r["status"]) for r in body["results"]]
    assert outcomes == [
        (0, "registered", 201),
        (1, "registered", 201),
        (2, "already_registered", 200),
        (3, "refused", 400),
    ]
    assert body["results"][1]["ticket"] == 2
    assert body["results"][0]["summary"] == "DTMS protection enabled for ticket 1"
    refused = body["results"][3]
    assert (refused["ticket"], refused["field"], refused["success"]) == (4, "volume", False)
    assert body["counts"] == {"registered": 2, "already_registered": 1, "refused": 1}
    assert (await client.get("/dtms/trade/4")).status == 404


async def test_a_batch_whose_every_item_is_refused_is_no_success(client: Client) -> None:
    """A client of the original DTMS tests ``success`` alone: a true one over refusals
    reads as "registered"."""
    resp = await client.post("/dtms/trades", json={"trades": [{"ticket": 0}, {"ticket": 1}]})
    body = await resp.json()
    assert (resp.status, body["success"]) == (200, False)
    assert body["counts"] == {"registered": 0, "already_registered": 0, "refused": 2}
    assert [r["outcome"] for r in body["results"]] == ["refused", "refused"]


async def test_sending_a_batch_again_registers_nothing_twice(client: Client) -> None:
    items = [registration(t) for t in (11, 12, 13)]
    first = await (await client.post("/dtms/trades", json={"trades": items})).json()
    again = await (await client.post("/dtms/trades", json={"trades": items})).json()
    assert first["counts"]["registered"] == 3
    assert again["counts"] == {"registered": 0, "already_registered": 3, "refused": 0}
    assert first["success"] is True and again["success"] is True
    strategy = service_of(client).strategy
    assert sorted(t.ticket for t in strategy.executed) == [11, 12, 13]


async def test_a_batch_that_is_not_a_list_or_too_long_is_400_naming_trades(
    client: Client,
) -> None:
    too_many = [registration(t) for t in range(1, MAX_BATCH_REGISTRATIONS + 2)]
    said = []
    for body in ({"trades": []}, {"trades": {}}, [], {"trades": too_many}):
        resp = await client.post("/dtms/trades", json=body)
        assert resp.status == 400, body
        answer = await resp.json()
        assert (answer["field"], answer["success"]) == ("trades", False)
        said.append(answer["message"])
    assert said[0].endswith("non-empty list of registrations, got an empty list")
    assert said[1].endswith("non-empty list of registrations, got <dict>")


async def test_a_reported_close_keeps_the_trade_with_its_outcome(client: Client) -> None:
    await client.post("/dtms/trade/enable", json=registration(21))
    resp = await client.post("/dtms/trade/21/closed", json={"reason": "tp", "profit": 42.5})
    assert resp.status == 200
    body = await resp.json()
    assert (body["success"], body["state"], body["defensive"]) == (True, "CLOSED", False)
    info = body["trade_info"]
    assert (info["close_reason"], info["realised_profit"]) == ("tp", 42.5)
    assert info["closed_at"] is not None
    # still listed (the dashboard's request), and its close is in the history
    listed = (await (await client.get("/dtms/trades")).json())["trades"]
    assert listed["21"]["state"] == "CLOSED"
    history = (await (await client.get("/dtms/actions?ticket=21")).json())["actions"]
    assert [(e["type"], e.get("to")) for e in history] == [("state_change", "CLOSED")]
    assert history[0]["reason"] == "position closed (tp)"
    status = await (await client.get("/dtms/status")).json()
    assert status["states"]["CLOSED"] == 1


async def test_reporting_a_close_twice_changes_nothing(client: Client) -> None:
    await client.post("/dtms/trade/enable", json=registration(22))
    await client.post("/dtms/trade/22/closed", json={"reason": "sl", "profit": -10})
    again = await client.post("/dtms/trade/22/closed", json={"reason": "manual", "profit": 5})
    assert again.status == 200
    info = (await again.json())["trade_info"]
    assert (info["close_reason"], info["realised_profit"]) == ("sl", -10.0)
    history = (await (await client.get("/dtms/actions?ticket=22")).json())["actions"]
    assert len(history) == 1


async def test_closing_an_unknown_trade_is_404_and_bad_fields_are_400(client: Client) -> None:
    missing = await client.post("/dtms/trade/23/closed", json={"reason": "sl"})
    assert (missing.status, (await missing.json())["success"]) == (404, False)
    await client.post("/dtms/trade/enable", json=registration(23))
    for body, field in (
        ({"reason": ""}, "reason"),
        ({"profit": "lots"}, "profit"),
        ({"profit": 1e300}, "profit"),
        ({"closed_at": "yesterday"}, "closed_at"),
        ({"close_price": -1}, "close_price"),
        ([], "body"),
    ):
        resp = await client.post("/dtms/trade/23/closed", json=body)
        assert resp.status == 400, body
        assert (await resp.json())["field"] == field
    assert (await (await client.get("/dtms/trade/23")).json())["state"] == "HEALTHY"


async def test_a_number_out_of_range_is_refused_by_both_bounds(client: Client) -> None:
    """A profit of -1e15 was refused with "must be <= 1e+12", a bound it was under: the
    rule said is the one applied, both bounds; a price's (0, 1e12] as such."""
    await client.post("/dtms/trade/enable", json=registration(24))
    for body, field, rule in (
        ({"profit": -1e15}, "profit", "must be between -1e+12 and 1e+12"),
        ({"profit": 10**13}, "profit", "must be between -1e+12 and 1e+12"),
        ({"realised_profit": "-2e12"}, "realised_profit", "must be between -1e+12 and 1e+12"),
        ({"close_price": 1e13}, "close_price", "must be > 0 and <= 1e+12"),
    ):
        resp = await client.post("/dtms/trade/24/closed", json=body)
        answer = await resp.json()
        assert (resp.status, answer["field"]) == (400, field), answer
        assert rule in answer["message"], answer
    resp = await client.post("/dtms/trade/enable", json=registration(25, entry=2e12))
    answer = await resp.json()
    assert (resp.status, answer["field"]) == (400, "entry")
    assert "must be > 0 and <= 1e+12" in answer["message"], answer


async def test_a_close_before_the_trade_opened_is_a_409_and_a_second_report_is_said(
    client: Client,
) -> None:
    """A close dated before the open (a clock or zone mistake) would also have sent the
    trade past its retention at once, history and all."""
    await client.post("/dtms/trade/enable", json=registration(31, opened_at="2026-01-05T10:00:00Z"))
    early = {"reason": "tp", "profit": 1, "closed_at": "2001-01-01T00:00:00Z"}
    resp = await client.post("/dtms/trade/31/closed", json=early)
    assert resp.status == 409
    body = await resp.json()
    assert body["field"] == "closed_at" and "before the trade opened" in body["message"]
    assert (await (await client.get("/dtms/trade/31")).json())["state"] != "CLOSED"
    first = await client.post("/dtms/trade/31/closed", json={"reason": "tp", "profit": 25.5})
    assert "already_closed" not in await first.json()
    again = await client.post("/dtms/trade/31/closed", json={"reason": "sl", "profit": -10})
    body = await again.json()
    assert (again.status, body["already_closed"]) == (200, True)
    assert body["summary"] == "Trade 31 was already reported closed; kept as it was"
    info = body["trade_info"]
    assert (info["close_reason"], info["realised_profit"]) == ("tp", 25.5)


async def test_a_refused_item_echoes_its_ticket_only_as_the_document_allows(
    client: Client,
) -> None:
    """A client generated from /openapi.json parses the whole answer: a ticket that is
    no integer or text is echoed as null (it failed on ``2.5`` before)."""
    odd = [2.5, {"x": [1, 2]}, True, ["a"], "abc", 77]
    items = [registration(41) | {"ticket": t, "volume": -1} for t in odd]
    body = await (await client.post("/dtms/trades", json={"trades": items})).json()
    echoed = [r["ticket"] for r in body["results"]]
    assert echoed == [None, None, None, None, "abc", 77]
    assert all(r["outcome"] == "refused" for r in body["results"])


async def test_a_time_more_than_a_day_ahead_is_a_409_naming_its_field(client: Client) -> None:
    """A close dated next year kept the trade past its retention; a registration opened
    next year would never arm. Both are a client's clock or zone mistake."""
    ahead = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    resp = await client.post("/dtms/trade/enable", json=registration(41, opened_at=ahead))
    body = await resp.json()
    assert (resp.status, body["field"]) == (409, "opened_at"), body
    assert "more than a day ahead of the server's wall clock" in body["message"]
    assert body["message"].endswith(
        "; leave opened_at out and the server dates it by its own clock"
    )
    batch = {"trades": [registration(42, opened_at=ahead), registration(43)]}
    results = (await (await client.post("/dtms/trades", json=batch)).json())["results"]
    assert [(r["status"], r.get("field")) for r in results] == [(409, "opened_at"), (201, None)]
    assert (await client.get("/dtms/trade/42")).status == 404

    await client.post("/dtms/trade/enable", json=registration(44))
    resp = await client.post("/dtms/trade/44/closed", json={"reason": "tp", "closed_at": ahead})
    assert (resp.status, (await resp.json())["field"]) == (409, "closed_at")
    assert (await (await client.get("/dtms/trade/44")).json())["state"] != "CLOSED"
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()  # a fast client clock
    resp = await client.post("/dtms/trade/44/closed", json={"reason": "tp", "closed_at": soon})
    assert resp.status == 200
    assert (await (await client.get("/dtms/trade/44")).json())["state"] == "CLOSED"


def test_the_server_clock_ahead_of_the_wall_moves_the_limit() -> None:
    """A paper host under ``--speed``: its data clock runs ahead of the wall's, and the
    times its trades report follow that clock."""
    data_clock = datetime.now(UTC) + timedelta(days=30)
    check_not_ahead("closed_at", data_clock + timedelta(hours=20), data_clock)
    with pytest.raises(ClockConflict) as err:
        check_not_ahead("closed_at", data_clock + timedelta(days=1, minutes=1), data_clock)
    assert err.value.field == "closed_at"


async def test_a_repeat_registration_says_the_values_it_did_not_apply(client: Client) -> None:
    """A repeat differing in stop or entry was a 200 "already registered" and the new
    values were dropped without a word: a client that meant to move its stop this way
    believed it done."""
    first = await client.post("/dtms/trade/enable", json=registration(8))
    assert first.status == 201 and "not_applied" not in await first.json()
    same = await (await client.post("/dtms/trade/enable", json=registration(8))).json()
    assert same["already_registered"] is True and "not_applied" not in same
    moved = registration(8, stop_loss=1995.0, entry=2001.0)
    resp = await client.post("/dtms/trade/enable", json=moved)
    body = await resp.json()
    assert (resp.status, body["already_registered"]) == (200, True)
    assert body["not_applied"] == {
        "entry_price": {"sent": 2001.0, "kept": 2000.0},
        "stop_loss": {"sent": 1995.0, "kept": 1990.0},
    }
    assert body["trade_info"]["stop_loss"] == 1990.0  # nothing changed
    batch = await client.post("/dtms/trades", json={"trades": [registration(8, volume=2.0)]})
    (result,) = (await batch.json())["results"]
    assert result["not_applied"] == {"volume": {"sent": 2.0, "kept": 1.0}}


def test_not_applied_reads_what_the_engine_registered_the_trade_with() -> None:
    """The engine's record keeps the registered stop and volume as ``initial_*`` while
    its stop trails and its volume is partly closed: a repeat of the first registration
    is no change, whatever the trade has become since."""
    from dtms_plugin.engine import register
    from dtms_plugin.server.validation import Registration
    from dtms_plugin.server.views import not_applied
    from hookspecs import Trade

    at = datetime(2024, 1, 2, tzinfo=UTC)
    trade = Trade(8, "XAUUSD", "buy", 1.0, 2000.0, 1990.0, 2020.0, at)
    record = register(trade, 5.0, at).to_json()
    record.update(stop_loss=1998.0, volume=0.5)  # trailed, half closed
    sent = Registration(8, "XAUUSD", "buy", 2000.0, 1.0, 1990.0, 2020.0, at)
    assert not_applied(sent, record) == {}
    moved = Registration(8, "XAUUSD", "buy", 2000.0, 1.0, 1995.0, 2020.0, at)
    assert not_applied(moved, record) == {"stop_loss": {"sent": 1995.0, "kept": 1990.0}}
