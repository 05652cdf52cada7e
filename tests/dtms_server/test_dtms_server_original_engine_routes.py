"""The original server's engine routes (GET /dtms/health, GET /dtms/engine, POST
/dtms/initialize) answer with its shapes on a real server on loopback: its scripts wait
for /dtms/health's ready and initialise before registering, and a 404 stalled them."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_schema import errors
from support.dtms_server_world import dead_engine_client, registration

from dtms_plugin.server.openapi import document

Client = TestClient[web.Request, web.Application]
TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def _call(client: Client, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    """The status and body, the body checked against the document's schema for it."""
    resp = await client.request(method, path, **kw)
    body = await resp.json()
    doc = document()
    responses = doc["paths"][path.split("?")[0]][method.lower()]["responses"]
    assert str(resp.status) in responses, (path, resp.status)
    schema = responses[str(resp.status)]["content"]["application/json"]["schema"]
    assert errors(body, schema, doc) == [], (path, body)
    return resp.status, body


async def test_a_running_engine_is_ready_and_initialised(make_client: Any) -> None:
    client: Client = await make_client(token=TOKEN)
    assert (await client.post("/dtms/trade/enable", json=registration(7), headers=AUTH)).ok
    status, health = await _call(client, "GET", "/dtms/health", headers=AUTH)
    assert status == 200
    assert health["ready"] is True and health["success"] is True
    assert (health["dtms_initialized"], health["monitoring_active"]) == (True, True)
    assert health["active_trades"] == 1
    status, engine = await _call(client, "GET", "/dtms/engine", headers=AUTH)
    assert status == 200 and engine["success"] is True
    assert engine["engine_info"]["active_trades_count"] == 1
    assert engine["engine_info"]["monitoring_active"] is True
    # ticket -> Unix time of its latest check: none here, the scripted strategy keeps no
    # checks (the local engine's: test_dtms_server_original_status_page.py)
    info = engine["engine_info"]
    assert (info["last_fast_check"], info["last_deep_check"]) == ({"7": None}, {"7": None})
    for _ in range(2):  # idempotent: the same answer every time
        status, init = await _call(client, "POST", "/dtms/initialize", headers=AUTH)
        assert status == 200 and init["success"] is True
        assert init["dtms_status"] == {"system_active": True, "already_initialized": True}
        assert "nothing to do" in init["summary"]


async def test_they_want_the_token_and_initialise_is_a_guarded_write(make_client: Any) -> None:
    client: Client = await make_client(token=TOKEN)
    for method, path in (("GET", "/dtms/health"), ("GET", "/dtms/engine")):
        assert (await _call(client, method, path))[0] == 401
    assert (await _call(client, "POST", "/dtms/initialize"))[0] == 401
    evil = {**AUTH, "Origin": "http://evil.example"}
    assert (await _call(client, "POST", "/dtms/initialize", headers=evil))[0] == 403
    assert (await _call(client, "GET", "/dtms/health?x=1", headers=AUTH))[0] == 400
    assert (await client.get("/health")).status == 200  # the liveness probe stays public


async def test_a_dead_engine_is_not_ready_and_initialise_says_so(make_client: Any) -> None:
    client: Client = await dead_engine_client(make_client)
    status, health = await _call(client, "GET", "/dtms/health")
    assert status == 503
    assert (health["ready"], health["success"], health["dtms_initialized"]) == (False,) * 3
    assert "scripted death" in health["message"]
    status, engine = await _call(client, "GET", "/dtms/engine")
    assert status == 503 and engine["engine_info"] is None and engine["success"] is False
    status, init = await _call(client, "POST", "/dtms/initialize")
    assert status == 503 and init["success"] is False
    assert init["dtms_status"]["system_active"] is False
