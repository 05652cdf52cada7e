"""The OpenAPI document is true: it lists exactly the app's routes and methods, and real
responses of a server on loopback validate against its response schemas."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_schema import errors
from support.dtms_server_world import World, open_position, registration, service_of

from dtms_plugin.server import ServerSettings, create_app
from dtms_plugin.server.openapi import document

Client = TestClient[web.Request, web.Application]
TOKEN = "t0ken"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

#: Documented responses no test here can provoke without breaking the server on purpose;
#: the 503s of /health are covered by the engine tests, which validate them too.
NOT_EXERCISED = {
    ("/dtms/trade/enable", "post", "422"),
    # answered by Redis replicas only: tests/dtms_replicas/test_close_inbox.py checks it
    # against the document
    ("/dtms/trade/{ticket}/closed", "post", "202"),
    ("/dtms/trade/{ticket}", "delete", "202"),
    # a Host this server does not answer to, which needs a server without a token:
    # test_dtms_server_client_quirks.py provokes it (writes' 403s are exercised here)
    *{(p, m, "403") for p, ops in document()["paths"].items() for m in ops if m in ("get", "head")},
    *{
        (p, m, "503")
        for p in ("/dtms/trade/enable", "/dtms/trade/{ticket}")
        for m in ("get", "post", "delete")
    },
    *{
        (p, m, "503")
        for p in ("/dtms/trades", "/dtms/status", "/dtms/actions", "/health")
        for m in ("get", "head")
    },
    ("/dtms/trade/{ticket}", "head", "503"),
    # a dead engine: test_dtms_server_original_engine_routes.py checks them against it
    *{(p, m, "503") for p in ("/dtms/health", "/dtms/engine") for m in ("get", "head")},
    ("/dtms/initialize", "post", "503"),
    *{(p, "post", "503") for p in ("/dtms/trades", "/dtms/trade/{ticket}/closed")},
    *{(p, "post", "413") for p in ("/dtms/trades", "/dtms/trade/{ticket}/closed")},
    # 405 and 413 are provoked and checked against the document by
    # test_dtms_server_hostile_input.py
    ("/dtms/trade/enable", "post", "413"),
    *{(path, method, "405") for path, ops in document()["paths"].items() for method in ops},
}


def _documented() -> dict[str, set[str]]:
    return {path: {m.upper() for m in ops} for path, ops in document()["paths"].items()}


def _routes(app: web.Application) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for resource in app.router.resources():
        out.setdefault(resource.canonical, set()).update(r.method for r in resource)
    return out


def test_every_route_is_documented_with_its_methods_and_nothing_else(tmp_path: Any) -> None:
    app = create_app(ServerSettings(token=""))
    assert _routes(app) == _documented()


def test_the_document_is_openapi_3_1_with_resolvable_refs() -> None:
    doc = document()
    assert doc["openapi"] == "3.1.0"
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, response in op["responses"].items():
                if method == "head":  # no body, by HTTP's definition of HEAD
                    assert "content" not in response, (path, status)
                    continue
                schema = response["content"]["application/json"]["schema"]
                # an empty value checked against the schema resolves every $ref on the way
                assert isinstance(errors({}, schema, doc), list), (path, method, status)


async def _exercise(client: Client, world: World) -> list[tuple[str, str, int, Any]]:
    """(documented path, method, status, body) for a run through every route."""
    seen: list[tuple[str, str, int, Any]] = []

    async def call(template: str, method: str, url: str, **kw: Any) -> Any:
        headers = kw.pop("headers", AUTH)
        resp = await client.request(method.upper(), url, headers=headers, **kw)
        body = await resp.json()
        seen.append((template, method, resp.status, body))
        if method == "get":  # HEAD answers as GET: the same status and headers, no body
            head = await client.head(url, headers=headers)
            seen.append((template, "head", head.status, await head.read()))
            assert head.status == resp.status, url
            for name in ("Content-Type", "Content-Length", "Allow", "WWW-Authenticate"):
                assert head.headers.get(name) == resp.headers.get(name), (url, name)
        return body

    ticket = open_position(world)
    entry = world.price("XAUUSD")
    enable = "/dtms/trade/enable"
    await call(enable, "post", enable, json=registration(ticket, entry=entry))
    # an unknown key: named in the answer's ignored
    await call(enable, "post", enable, json=registration(str(ticket), entry=entry, bot="mine"))
    await call(enable, "post", enable, json=registration(ticket, entry=entry, StopLoss=1))
    await call(enable, "post", enable, json=registration(ticket, volume=-1))
    await call(enable, "post", enable, json=registration(ticket, entry=entry, direction="sell"))
    await call(enable, "post", enable, json=registration(ticket), headers={})
    evil = {**AUTH, "Origin": "http://evil.example"}  # a web page of another site
    await call(enable, "post", enable, json=registration(ticket), headers=evil)
    await call("/dtms/trades", "post", "/dtms/trades", json={"trades": []}, headers=evil)
    await call("/dtms/trade/{ticket}/closed", "post", f"/dtms/trade/{ticket}/closed", json={},
               headers=evil)  # fmt: skip
    await call("/dtms/trade/{ticket}", "delete", f"/dtms/trade/{ticket}", headers=evil)
    foo = {**AUTH, "Content-Encoding": "foo"}  # an encoding the server does not decode
    await call(enable, "post", enable, json=registration(ticket), headers=foo)
    await call("/dtms/trades", "post", "/dtms/trades", json={"trades": []}, headers=foo)
    await call("/dtms/trade/{ticket}/closed", "post", f"/dtms/trade/{ticket}/closed", json={},
               headers=foo)  # fmt: skip
    world.broker.set_price("XAUUSD", entry - 10.0)
    await service_of(client).run_cycle()  # moves the trade, journals an action
    one = "/dtms/trade/{ticket}"
    await call(one, "get", f"/dtms/trade/{ticket}")
    await call(one, "get", "/dtms/trade/999")
    await call(one, "get", "/dtms/trade/x")
    await call(one, "get", f"/dtms/trade/{ticket}", headers={})
    await call("/dtms/trades", "get", f"/dtms/trades?tickets={ticket},999")
    await call("/dtms/trades", "get", "/dtms/trades?tickets=a")
    await call("/dtms/trades", "get", "/dtms/trades?tickets=1", headers={})
    await call("/dtms/status", "get", "/dtms/status")
    await call("/dtms/status", "get", "/dtms/status", headers={})
    await call("/dtms/status", "get", "/dtms/status?since=1")  # no parameter taken
    await call("/dtms/actions", "get", "/dtms/actions?limit=10")
    await call("/dtms/actions", "get", f"/dtms/actions?ticket={ticket}")
    await call("/dtms/actions", "get", "/dtms/actions?limit=-1")
    await call("/dtms/actions", "get", "/dtms/actions", headers={})
    await call("/health", "get", "/health", headers={})
    await call("/health", "get", "/health?verbose=1", headers={})
    for path in ("/dtms/health", "/dtms/engine"):  # the original's engine routes
        await call(path, "get", path)
        await call(path, "get", path, headers={})
        await call(path, "get", f"{path}?verbose=1")
    await call("/dtms/initialize", "post", "/dtms/initialize")
    await call("/dtms/initialize", "post", "/dtms/initialize", headers={})
    await call("/dtms/initialize", "post", "/dtms/initialize", headers=evil)
    await call("/openapi.json", "get", "/openapi.json")
    await call("/openapi.json", "get", "/openapi.json?format=yaml")
    await call("/openapi.json", "get", "/openapi.json", headers={})
    many = "/dtms/trades"
    batch = [registration(ticket, entry=entry, bot="mine"), registration(ticket + 1000),
             {"ticket": "x"}]  # fmt: skip
    await call(many, "post", many, json={"trades": batch})
    await call(many, "post", many, json={"trades": []})
    await call(many, "post", many, json={"trades": batch}, headers={})
    closed = "/dtms/trade/{ticket}/closed"
    await call(
        closed, "post", f"/dtms/trade/{ticket + 1000}/closed", json={"profit": -3.5, "bot": "mine"}
    )
    await call(closed, "post", "/dtms/trade/999/closed", json={"reason": "sl"})
    await call(closed, "post", f"/dtms/trade/{ticket}/closed", json={"reason": ""})
    early = {"reason": "sl", "closed_at": "2001-01-01T00:00:00Z"}  # before it opened
    await call(closed, "post", f"/dtms/trade/{ticket}/closed", json=early)
    await call(closed, "post", f"/dtms/trade/{ticket}/closed", json={}, headers={})
    await call(one, "delete", f"/dtms/trade/{ticket}")
    await call(one, "delete", f"/dtms/trade/{ticket}")
    await call(one, "delete", "/dtms/trade/0")
    await call(one, "delete", f"/dtms/trade/{ticket + 1000}")  # closed: kept (409)
    await call(one, "delete", "/dtms/trade/1", headers={})
    return seen


async def test_real_responses_match_the_documented_schemas(make_client: Any, world: World) -> None:
    client: Client = await make_client(token=TOKEN)
    doc = document()
    covered = set()
    for template, method, status, body in await _exercise(client, world):
        responses = doc["paths"][template][method]["responses"]
        assert str(status) in responses, f"{method.upper()} {template}: undocumented {status}"
        covered.add((template, method, str(status)))
        if method == "head":
            assert body == b"", f"HEAD {template} {status}: a body"
            continue
        schema = responses[str(status)]["content"]["application/json"]["schema"]
        problems = errors(body, schema, doc)
        assert problems == [], f"{method.upper()} {template} {status}: {problems}"
        covered.add((template, method, str(status)))
    documented = {
        (path, method, status)
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        for status in op["responses"]
    }
    assert documented - covered - NOT_EXERCISED == set()


async def test_served_document_is_the_document(make_client: Any) -> None:
    secured: Client = await make_client(token=TOKEN)
    resp = await secured.get("/openapi.json", headers=AUTH)
    assert resp.status == 200
    assert await resp.json() == document()


async def test_without_a_token_the_document_asks_for_none(make_client: Any) -> None:
    """A server without a token declared a bearer requirement and 401s it never sends:
    schemathesis took every 200 without a token for a route left open."""
    client: Client = await make_client(token="")
    served = await (await client.get("/openapi.json")).json()
    assert served == document(token=False)
    assert "security" not in served and "securitySchemes" not in served["components"]
    for path, ops in served["paths"].items():
        for method, op in ops.items():
            assert "security" not in op and "401" not in op["responses"], (path, method)
    secured = document()
    assert secured["security"] == [{"bearer": []}]
    assert "401" in secured["paths"]["/dtms/status"]["get"]["responses"]
    assert secured["paths"]["/health"]["get"]["security"] == []


async def test_real_answers_without_a_token_match_that_document(
    make_client: Any, world: World
) -> None:
    client: Client = await make_client(token="")
    doc = document(token=False)
    for url, template in [
        ("/dtms/status", "/dtms/status"),
        ("/dtms/trades", "/dtms/trades"),
        ("/dtms/trade/999", "/dtms/trade/{ticket}"),
        ("/dtms/actions?ticket=&limit=", "/dtms/actions"),
        ("/openapi.json", "/openapi.json"),
    ]:
        resp = await client.get(url)
        responses = doc["paths"][template]["get"]["responses"]
        assert str(resp.status) in responses, (url, resp.status)
        schema = responses[str(resp.status)]["content"]["application/json"]["schema"]
        assert errors(await resp.json(), schema, doc) == [], url


@pytest.mark.parametrize(
    ("value", "schema", "bad"),
    [
        ({"a": 1}, {"type": "object", "required": ["b"]}, True),
        ({"a": "x"}, {"type": "object", "properties": {"a": {"type": "integer"}}}, True),
        ([1, "x"], {"type": "array", "items": {"type": "integer"}}, True),
        ("C", {"type": "string", "enum": ["A", "B"]}, True),
        (True, {"type": "integer"}, True),
        (None, {"type": ["string", "null"]}, False),
        ({"k": 1}, {"type": "object", "additionalProperties": {"type": "string"}}, True),
        ({"a": 1}, {"type": "object", "properties": {"a": {"type": "number"}}}, False),
    ],
)
def test_the_schema_checker_catches_what_it_claims(value: Any, schema: Any, bad: bool) -> None:
    assert bool(errors(value, schema, {})) is bad
