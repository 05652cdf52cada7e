"""The served OpenAPI document and the server agree on edge values that schemathesis's
random examples can miss (tests/dtms_server/test_dtms_server_fuzz.py holds the server to
the same rule, "no schema-valid request refused, no invalid one accepted"): a body the
document's schema calls valid is taken, one it calls invalid is a 400. Each case was a
disagreement: ``direction: buy`` with ``type: sell`` (the document said direction wins;
the server refuses), ``reason: "\\x1d"`` (the document's ``\\S`` allowed it),
``open_price: null`` beside ``entry`` (taken, the document said the type was wrong),
``entry: "1e5"`` (taken, as the original's clients' ``"2.0005e3"`` is, where the
document's pattern allowed only negative exponents), a control character in
``comment``, a time string of 65 characters (the server reads at most 64; the document's
digits-with-spaces pattern had no cap). Checked with jsonschema_rs, schemathesis's own
validator, against the document the server serves."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration

Client = TestClient[web.Request, web.Application]
jsonschema_rs = pytest.importorskip("jsonschema_rs")

_TICKETS = count(5000)

REGISTRATIONS: dict[str, dict[str, Any]] = {
    "type differs from direction": {"direction": "buy", "type": "sell"},
    "type 1 with direction buy": {"direction": "buy", "type": 1},
    "type by name of the other side": {"direction": "Sell", "type": "POSITION_TYPE_BUY"},
    "type 0 with direction buy": {"direction": " BUY ", "type": 0},
    "type agrees by name": {"direction": "sell", "type": "POSITION_TYPE_SELL"},
    "direction null beside type": {"direction": None, "type": "buy"},
    "type null beside direction": {"type": None},
    "type alone": {"direction": None, "type": "0"},
    "direction null alone": {"direction": None},
    "open_price null beside entry": {"open_price": None},
    "entry null beside entry_price": {"entry": None, "entry_price": 2000.0},
    "entry null alone": {"entry": None},
    "entry with a positive exponent": {"entry": "1e5"},
    "entry with a plus exponent": {"entry": "2E+3"},
    "entry past the maximum by its exponent": {"entry": "2e12"},
    "entry of 12 digits by its exponent": {"entry": "9.5e011"},
    "entry with a negative exponent": {"entry": "2000e-1"},
    "entry as text": {"entry": " 2000.5 "},
    "stop with a positive exponent": {"stop_loss": "1e3"},
    "a NUL in the comment": {"comment": "a\x00b"},
    "a comment of text": {"comment": "grid é"},
    "a comment of 256 characters": {"comment": "c" * 256},
    "a comment of 257 characters": {"comment": "c" * 257},
    "a host's own comment of 300 characters": {"comment": "c" * 300, "automatic": True},
    # Unix seconds as text with spaces around: the server reads at most 64 characters
    "an opening of 64 characters": {"opened_at": " " * 27 + "1700000000" + " " * 27},
    "an opening of 65 characters": {"opened_at": " " * 27 + "1700000000" + " " * 28},
}

REASONS = ["\x1d", "\ufeff", "\u3000", " \t", "\x85", "sl", " tp\n", "é", "s\x00l"]


def _validator(doc: dict[str, Any], name: str) -> Any:
    return jsonschema_rs.validator_for(
        {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    )


async def _document(client: Client) -> dict[str, Any]:
    resp = await client.get("/openapi.json")
    assert resp.status == 200
    doc: dict[str, Any] = await resp.json()
    return doc


def _agrees(valid: bool, status: int, answer: Any) -> None:
    if valid:
        assert status in (200, 201), f"the document calls it valid; the server: {answer}"
    else:
        assert status == 400, f"the document calls it invalid; the server: {status} {answer}"


@pytest.mark.parametrize("fields", REGISTRATIONS.values(), ids=list(REGISTRATIONS))
async def test_a_registration_is_taken_exactly_when_the_document_says(
    client: Client, fields: dict[str, Any]
) -> None:
    body = {**registration(next(_TICKETS)), **fields}
    valid = _validator(await _document(client), "Registration").is_valid(body)
    resp = await client.post("/dtms/trade/enable", json=body)
    _agrees(valid, resp.status, await resp.json())


@pytest.mark.parametrize("reason", REASONS, ids=[repr(r) for r in REASONS])
async def test_a_close_reason_is_taken_exactly_when_the_document_says(
    client: Client, reason: str
) -> None:
    ticket = next(_TICKETS)
    resp = await client.post("/dtms/trade/enable", json=registration(ticket))
    assert resp.status == 201
    body = {"reason": reason}
    valid = _validator(await _document(client), "ClosedReport").is_valid(body)
    resp = await client.post(f"/dtms/trade/{ticket}/closed", json=body)
    _agrees(valid, resp.status, await resp.json())


def test_the_paper_brokers_document_states_each_symbols_maximum_volume() -> None:
    """A volume above the symbol's maximum is a 400 (test_dtms_server_limits.py): where
    the document lists the paper broker's symbols, it states each one's maximum, for
    numbers and text, so that a fuzzer's "valid" volume is one the server takes."""
    from dtms_plugin.server.openapi import document

    doc = document(symbols=["XAUUSD", "BTCUSD"], volume_max={"XAUUSD": 100.0, "BTCUSD": 10.0})
    valid = _validator(doc, "Registration").is_valid
    for symbol, taken, refused in (("XAUUSD", [100, "100.0", 99.5, "0.01"], [100.5, "101"]),
                                   ("BTCUSD", [10, "9.99"], [10.01, "10.5", "11"])):  # fmt: skip
        for volume in taken:
            assert valid({**registration(1, symbol=symbol), "volume": volume}), (symbol, volume)
        for volume in refused:
            assert not valid({**registration(1, symbol=symbol), "volume": volume}), volume


def test_every_time_string_is_capped_as_the_server_caps_it() -> None:
    """The server reads a time string of at most ``limits.MAX_TIME_CHARS`` characters
    (coerce.py); each string the document allows for a time says so with its
    ``maxLength``, so no fuzzer's "valid" time is one the server refuses."""
    from dtms_plugin.server import limits
    from dtms_plugin.server.openapi import document

    doc = document()
    times = [
        schema
        for name in ("Registration", "ClosedReport")
        for field, schema in doc["components"]["schemas"][name]["properties"].items()
        if field in ("opened_at", "open_time", "time", "closed_at")
    ]
    assert len(times) == 4
    for schema in times:
        strings = [b for b in schema["anyOf"] if b.get("type") == "string"]
        assert len(strings) == 3, schema
        assert all(b.get("maxLength") == limits.MAX_TIME_CHARS for b in strings), strings
