"""Bearer token: required everywhere but /health when set, compared in constant time,
read from the environment variable that settings.token_env names."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from support.dtms_server_world import registration

Client = TestClient[web.Request, web.Application]

TOKEN = "s3cret-token"

PROTECTED = [
    ("GET", "/dtms/trade/7"),
    ("DELETE", "/dtms/trade/7"),
    ("POST", "/dtms/trade/enable"),
    ("GET", "/dtms/trades?tickets=1"),
    ("GET", "/dtms/status"),
    ("GET", "/dtms/actions"),
    ("GET", "/openapi.json"),
    ("GET", "/no-such-path"),
]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", "Bearer", TOKEN])
async def test_requests_without_the_right_token_are_401(
    make_client: Any, method: str, path: str, header: str | None
) -> None:
    client: Client = await make_client(token=TOKEN)
    headers = {"Authorization": header} if header is not None else {}
    resp = await client.request(method, path, headers=headers, json=registration(7))
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await resp.json())["error"] == "unauthorized"


async def test_nothing_is_registered_by_an_unauthorised_post(make_client: Any) -> None:
    client: Client = await make_client(token=TOKEN)
    await client.post("/dtms/trade/enable", json=registration(7))
    ok = await client.get("/dtms/trade/7", headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status == 404


async def test_the_right_token_is_accepted(make_client: Any) -> None:
    client: Client = await make_client(token=TOKEN)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    resp = await client.post("/dtms/trade/enable", json=registration(7), headers=auth)
    assert resp.status == 201
    assert (await client.get("/dtms/trade/7", headers=auth)).status == 200
    lower = {"Authorization": f"bearer {TOKEN}"}  # the scheme is case-insensitive
    assert (await client.get("/dtms/status", headers=lower)).status == 200


async def test_health_is_public(make_client: Any) -> None:
    client: Client = await make_client(token=TOKEN)
    assert (await client.get("/health")).status == 200


async def test_auth_off_when_no_token(client: Client) -> None:
    assert (await client.get("/dtms/status")).status == 200
    resp = await client.post("/dtms/trade/enable", json=registration(7))
    assert resp.status == 201


async def test_token_comes_from_the_env_var_named_in_settings(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_DTMS_TOKEN", TOKEN)
    client: Client = await make_client(token=None, token_env="MY_DTMS_TOKEN")
    assert (await client.get("/dtms/status")).status == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert (await client.get("/dtms/status", headers=auth)).status == 200


async def test_empty_env_var_means_no_auth(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DTMS_TOKEN", "")
    client: Client = await make_client(token=None)
    assert (await client.get("/dtms/status")).status == 200


async def test_the_token_is_read_without_surrounding_whitespace(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token from a file keeps its newline; HTTP drops it from a header (clients strip
    it), so a server that kept it refused every client."""
    monkeypatch.setenv("DTMS_TOKEN", f"  {TOKEN}\n")
    client: Client = await make_client(token=None)
    assert (await client.get("/dtms/status")).status == 401
    auth = {"Authorization": f"Bearer {TOKEN}"}
    assert (await client.get("/dtms/status", headers=auth)).status == 200


async def test_with_a_token_any_host_name_is_answered(make_client: Any) -> None:
    """A reverse proxy in front of a server on the loopback may pass on its own public
    name (Caddy's and Traefik's do); the token is what keeps a rebound page out."""
    client = await make_client(token=TOKEN)
    proxied = {"Host": "dtms.example.com", "Authorization": f"Bearer {TOKEN}"}
    assert (await client.get("/dtms/status", headers=proxied)).status == 200
    rebound = {"Host": "evil.example"}
    assert (await client.get("/dtms/status", headers=rebound)).status == 401
