"""Registrations in the shapes other clients send (docs/client.md, "Registering"): the
original's names, numbers as text, Unix times, a symbol in another case; what stays
refused says which field; a closed trade registered again is a 409, never "defended"."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration, service_of

Client = TestClient[web.Request, web.Application]


async def _info(client: Client, ticket: int) -> dict[str, Any]:
    view = await client.get(f"/dtms/trade/{ticket}")
    assert view.status == 200, await view.text()
    info: dict[str, Any] = (await view.json())["trade_info"]
    return info


async def test_the_originals_names_are_read_as_their_fields(client: Client) -> None:
    """``sl``/``tp`` were dropped (a trade kept without its stop), ``open_price`` and
    ``type`` were 400s: what the server's own trade_info shows is sent back as it is."""
    body = registration(101, sl=1990.0, tp=2020.0, open_price=2000.5, type="BUY")
    for name in ("stop_loss", "take_profit", "entry", "direction"):
        del body[name]
    resp = await client.post("/dtms/trade/enable", json=body)
    assert resp.status == 201, await resp.text()
    info = await _info(client, 101)
    assert (info["stop_loss"], info["take_profit"]) == (1990.0, 2020.0)
    assert (info["entry_price"], info["direction"]) == (2000.5, "buy")
    # what GET answered, sent back as a registration of another ticket, is the same trade
    echoed = {k: info[k] for k in ("symbol", "volume", "sl", "tp", "open_price", "type")}
    resp = await client.post("/dtms/trade/enable", json={"ticket": 102, **echoed})
    assert resp.status == 201, await resp.text()
    again = await _info(client, 102)
    assert (again["stop_loss"], again["take_profit"], again["direction"]) == (1990.0, 2020.0, "buy")


async def test_open_time_and_time_are_the_opening(client: Client) -> None:
    for ticket, name in ((103, "open_time"), (104, "time")):
        resp = await client.post(
            "/dtms/trade/enable", json=registration(ticket, **{name: 1767225600})
        )
        assert resp.status == 201, await resp.text()
        assert (await _info(client, ticket))["opened_at"] == "2026-01-01T00:00:00+00:00"


async def test_two_entry_prices_that_differ_are_a_400_naming_both(client: Client) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(105, open_price=2001.0))
    body = await resp.json()
    assert resp.status == 400 and body["field"] == "open_price", body
    assert "entry" in body["message"] and "open_price" in body["message"]
    assert service_of(client).store.get_record(105) is None


@pytest.mark.parametrize(
    ("extra", "ignored"),
    [
        ({"sl": 1980.0}, ["sl"]),
        ({"sl": None}, None),
        ({"tp": 0}, ["tp"]),
        ({"tp": None, "type": None}, None),
        ({"sl": 1990.0, "type": "buy"}, None),
        ({"time": "2026-01-01T00:00:00Z", "opened_at": "2026-01-02T00:00:00Z"}, ["time"]),
        ({"time": "2026-01-02T00:00:00Z", "opened_at": "2026-01-02T00:00:00Z"}, None),
    ],
)
async def test_a_fields_own_name_wins_over_an_alias_sent_beside_it(
    client: Client, extra: dict[str, Any], ignored: list[str] | None
) -> None:
    """Clients that copy a MetaTrader position's dict into their body send ``sl``,
    ``tp`` or ``time`` along with the canonical fields (``sl: 0`` for no stop at the
    broker, ``time`` on its server's clock): the field's own name wins, and an alias of
    another value is named in ``ignored``; refusing them would break such clients. The
    same value, or null, is no second value. (A side or a fill that disagrees is a 400:
    test_dtms_server_alias_conflicts.py.)"""
    resp = await client.post("/dtms/trade/enable", json=registration(105, **extra))
    assert resp.status == 201, await resp.text()
    assert (await resp.json()).get("ignored") == ignored
    info = await _info(client, 105)
    assert (info["stop_loss"], info["take_profit"], info["direction"]) == (1990.0, 2020.0, "buy")
    if "opened_at" in extra:
        assert info["opened_at"] == "2026-01-02T00:00:00+00:00"


async def test_a_malformed_alias_is_a_400_naming_it(client: Client) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(108, sl="abc"))
    body = await resp.json()
    assert resp.status == 400 and body["field"] == "sl", body


async def test_metatraders_integer_type_is_the_direction(client: Client) -> None:
    body = registration(109, type=1)
    del body["direction"]
    resp = await client.post("/dtms/trade/enable", json=body)
    assert resp.status == 201, await resp.text()
    assert (await _info(client, 109))["direction"] == "sell"


async def test_an_alias_that_agrees_and_an_unknown_key_are_accepted(client: Client) -> None:
    body = registration(106, sl=1990.0, type="Buy", strategy="x", future_field={"a": 1})
    resp = await client.post("/dtms/trade/enable", json=body)
    assert resp.status == 201, await resp.text()


async def test_numbers_as_plain_decimal_text_are_read_like_tickets(client: Client) -> None:
    body = registration(
        "107", entry="2000.5", volume="0.1", stop_loss="1990", take_profit=" 2020.25 ",
        magic="240617",
    )  # fmt: skip
    resp = await client.post("/dtms/trade/enable", json=body)
    assert resp.status == 201, await resp.text()
    info = await _info(client, 107)
    assert (info["entry_price"], info["volume"], info["stop_loss"]) == (2000.5, 0.1, 1990.0)
    assert info["take_profit"] == 2020.25
    assert service_of(client).strategy.executed[-1].magic == 240617
    closed = await client.post("/dtms/trade/107/closed", json={"reason": "tp", "profit": "25"})
    assert closed.status == 200, await closed.text()
    assert (await _info(client, 107))["realised_profit"] == 25.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("entry", "abc"),
        ("entry", ""),
        ("volume", "NaN"),
        ("volume", "inf"),
        ("stop_loss", "1e"),
        ("stop_loss", "e3"),
        ("magic", "12.5"),
    ],
)
async def test_text_that_is_no_plain_decimal_is_refused_naming_the_field(
    client: Client, field: str, value: str
) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(108, **{field: value}))
    body = await resp.json()
    assert (resp.status, body["field"]) == (400, field), body


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        (1767225600, "2026-01-01T00:00:00+00:00"),
        ("1767225600", "2026-01-01T00:00:00+00:00"),
        (1767225600500, "2026-01-01T00:00:00.500000+00:00"),  # milliseconds
        ("1767225600000250", "2026-01-01T00:00:00.000250+00:00"),  # microseconds
        (100_000_000_000, "1973-03-03T09:46:40+00:00"),  # the first number read as ms
        ("2026-01-01T00:00:00z", "2026-01-01T00:00:00+00:00"),
    ],
)
async def test_unix_times_and_a_lower_case_z_are_read(client: Client, sent: Any, kept: str) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(109, opened_at=sent))
    assert resp.status == 201, await resp.text()
    assert (await _info(client, 109))["opened_at"] == kept


@pytest.mark.parametrize("sent", ["0001-01-01T00:00:00Z", "1969-12-31T23:59:59Z", -1])
async def test_a_time_before_1970_is_refused(client: Client, sent: Any) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(110, opened_at=sent))
    body = await resp.json()
    assert (resp.status, body["field"]) == (400, "opened_at"), body
    assert "1970" in body["message"]


@pytest.mark.parametrize("field", ["symbol", "direction"])
async def test_a_missing_symbol_or_direction_is_required(client: Client, field: str) -> None:
    for body in ({k: v for k, v in registration(111).items() if k != field},
                 registration(111, **{field: None})):  # fmt: skip
        resp = await client.post("/dtms/trade/enable", json=body)
        answer = await resp.json()
        assert (resp.status, answer["field"]) == (400, field), answer
        assert "required" in answer["message"] and "None" not in answer["message"]


async def test_a_symbol_in_another_case_is_the_brokers_symbol(client: Client) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(112, symbol="xauusd"))
    assert resp.status == 201, await resp.text()
    assert (await _info(client, 112))["symbol"] == "XAUUSD"
    # the same trade in the broker's spelling is the same trade, not a conflict
    again = await client.post("/dtms/trade/enable", json=registration(112, symbol="XauUsd"))
    assert again.status == 200 and (await again.json())["already_registered"] is True
    unknown = await client.post("/dtms/trade/enable", json=registration(113, symbol="gbpusd"))
    assert (unknown.status, (await unknown.json())["field"]) == (400, "symbol")


async def test_a_volume_below_the_symbols_minimum_is_refused(client: Client) -> None:
    resp = await client.post("/dtms/trade/enable", json=registration(114, volume=1e-300))
    body = await resp.json()
    assert (resp.status, body["field"]) == (400, "volume"), body
    assert "0.01" in body["message"]  # the broker's minimum, named
    assert service_of(client).store.get_record(114) is None
    batch = await client.post(
        "/dtms/trades", json={"trades": [registration(115, volume=0.001), registration(116)]}
    )
    results = (await batch.json())["results"]
    assert [(r["status"], r.get("field")) for r in results] == [(400, "volume"), (201, None)]


async def test_a_json_body_after_a_byte_order_mark_is_read(client: Client) -> None:
    raw = (
        b"\xef\xbb\xbf"
        + b'{"ticket": 117, "symbol": "XAUUSD", "direction": "buy",'
        + (b' "entry": 2000.5, "volume": 0.1}')
    )
    resp = await client.post(
        "/dtms/trade/enable", data=raw, headers={"Content-Type": "application/json"}
    )
    assert resp.status == 201, await resp.text()


async def test_a_closed_trade_registered_again_is_a_409_naming_its_close(client: Client) -> None:
    """Answered 200 "already registered", a client written for the original DTMS took a
    trade nobody manages for one DTMS defends."""
    opened = "2026-01-05T10:00:00Z"
    assert (
        await client.post("/dtms/trade/enable", json=registration(118, opened_at=opened))
    ).status == 201
    report = {"reason": "tp", "profit": 25.0, "closed_at": "2026-01-05T12:00:00Z"}
    assert (await client.post("/dtms/trade/118/closed", json=report)).status == 200
    store = service_of(client).store
    kept = store.get_record(118)
    for send in (
        lambda: client.post("/dtms/trade/enable", json=registration(118, opened_at=opened)),
        lambda: client.post("/dtms/trade/enable", json=registration(118)),  # no opening sent
    ):
        resp = await send()
        body = await resp.json()
        assert resp.status == 409, body
        assert (body["error"], body["field"], body["success"]) == ("trade closed", "ticket", False)
        assert "DTMS no longer manages it" in body["message"]
        assert "2026-01-05T12:00:00" in body["message"] and "tp" in body["message"]
        assert body["closed_at"].startswith("2026-01-05T12:00:00")
        assert (body["close_reason"], body["realised_profit"]) == ("tp", 25.0)
    batch = await client.post(
        "/dtms/trades", json={"trades": [registration(118, opened_at=opened)]}
    )
    (item,) = (await batch.json())["results"]
    assert (item["status"], item["error"], item["outcome"]) == (409, "trade closed", "refused")
    assert store.get_record(118) == kept  # nothing changed, nothing archived
    assert store.archived(118) == []
