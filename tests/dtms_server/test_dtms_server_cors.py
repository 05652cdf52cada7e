"""Web pages of other sites that ``[plugin.dtms] cors_origins`` lists may read and call
the API from a browser, as the pages written for the original DTMS (which allowed every
origin) did; every other origin gets no CORS header and its writes stay refused. A real
server on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest
from support.dtms_server_world import registration

from dtms_plugin.settings import load_settings
from hookspecs import ConfigError

PAGE = "http://localhost:8000"
OTHER = "http://evil.example"
TOKEN = "s3cret"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_a_listed_page_reads_and_calls_the_api(make_client: Any) -> None:
    client = await make_client(token=TOKEN, cors_origins=(PAGE + "/",))
    preflight = await client.options(
        "/dtms/trade/enable",
        headers={"Origin": PAGE, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"},
    )  # fmt: skip
    assert preflight.status == 204  # answered before the token is asked (none is sent)
    assert preflight.headers["Access-Control-Allow-Origin"] == PAGE
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    sent = await client.post(
        "/dtms/trade/enable", json=registration(5), headers={"Origin": PAGE, **AUTH}
    )
    assert sent.status == 201 and sent.headers["Access-Control-Allow-Origin"] == PAGE
    read = await client.get("/dtms/status", headers={"Origin": PAGE, **AUTH})
    assert read.status == 200 and read.headers["Vary"] == "Origin"
    refused = await client.get("/dtms/status", headers={"Origin": PAGE})  # no token
    assert refused.status == 401 and refused.headers["Access-Control-Allow-Origin"] == PAGE


async def test_an_origin_not_listed_gets_nothing_more_than_before(make_client: Any) -> None:
    client = await make_client(token="", cors_origins=(PAGE,))
    read = await client.get("/dtms/status", headers={"Origin": OTHER})
    assert read.status == 200 and "Access-Control-Allow-Origin" not in read.headers
    assert read.headers["Vary"] == "Origin"  # a cache keeps it from a listed page
    write = await client.post("/dtms/trade/enable", json=registration(6), headers={"Origin": OTHER})
    assert write.status == 403
    preflight = await client.options(
        "/dtms/trade/enable", headers={"Origin": OTHER, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status == 405 and "Access-Control-Allow-Origin" not in preflight.headers
    unlisted = await make_client(token="")  # the default: no origin at all
    read = await unlisted.get("/dtms/status", headers={"Origin": PAGE})
    assert "Access-Control-Allow-Origin" not in read.headers


@pytest.mark.parametrize(
    "origin",
    ["*", "localhost:8000", "http://localhost:8000/page", "ftp://h", "http://u:p@h",
     "http://localhost:80", "https://h:443", "http://localhost:8000/?", "http://local host:8000"],
)  # fmt: skip
def test_an_origin_that_is_no_origin_is_refused_naming_the_key(origin: str) -> None:
    with pytest.raises(ConfigError, match=r"cors_origins: expected a web page's origin"):
        load_settings({"cors_origins": [origin]})


async def test_a_listed_page_gets_its_headers_on_a_body_that_cannot_be_read(
    make_client: Any,
) -> None:
    """That answer is written before the middlewares around it see it: the page got an
    opaque network error in place of the 400."""
    client = await make_client(token="", cors_origins=(PAGE,))
    resp = await client.post(
        "/dtms/trade/enable",
        data=b"not gzip at all",
        headers={"Origin": PAGE, "Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert resp.status == 400
    assert resp.headers["Access-Control-Allow-Origin"] == PAGE
