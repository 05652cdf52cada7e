"""The dashboard says what the engine waits for: a real ``dtms serve`` on a paper account
file no trading host drives (its clock stands), a registered trade, the page in headless
Chromium. ``/health`` listed the standing clock under ``waiting`` while ``/dtms/status``
(which the page reads) did not, and the page said "engine: healthy" over green trades
that nothing closed, moved or found gone; ``/dtms/status`` now carries the same list
(``engine.waiting``) and the page's badge says "engine: waiting — <first reason>"."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import requests
from aiohttp import web
from aiohttp.test_utils import TestClient
from observability.obs_chromium import Browser, needs_chromium, row
from support.e2e_procs import AUTH, TOKEN, dtms_server, free_port, toml_config, wait_for

from dtms_plugin.local import LocalStrategy
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from dtms_plugin.web import routes
from hostapp.brokers.paper import PaperBroker, PaperSettings
from hostapp.testing import bars_from_closes

Client = TestClient[web.Request, web.Application]
PILL = "document.getElementById('engine')"
STOOD = "has stood at"
DEADLINE = 60.0


def _standing_account(account: Path) -> None:
    """Three M5 bars of XAUUSD written as a trading host's broker writes them, then the
    file dated an hour back: no host has written it since, so its clock stands."""
    writer = PaperBroker(settings=PaperSettings(account_file=str(account)))
    try:
        for bar in bars_from_closes([2000.0, 2001.0, 2002.0]):
            writer.on_bar("XAUUSD", bar)
    finally:
        writer.release()
    hour_ago = time.time() - 3600
    for each in (account, account.with_name(account.name + "-wal")):
        if each.exists():
            os.utime(each, (hour_ago, hour_ago))


def _stood(waiting: list[str]) -> list[str]:
    """The standing clock's entries of a ``waiting`` list, up to their duration."""
    return [w.split(" for ")[0] for w in waiting if STOOD in w]


@needs_chromium
async def test_a_standing_account_clock_is_in_the_status_and_the_badge_says_waiting(
    tmp_path: Path,
) -> None:
    account = tmp_path / "account.db"
    _standing_account(account)
    config = toml_config(
        tmp_path / "plugins.toml", symbols=["XAUUSD"], account_file=account,
        state_dir=tmp_path / "state",
    )  # fmt: skip
    log = tmp_path / "server.log"
    with dtms_server(config, free_port(), monitor_seconds=0.5, log=log) as server:
        order = {"ticket": 1002, "symbol": "XAUUSD", "direction": "buy", "entry": 2002.0,
                 "volume": 0.1}  # fmt: skip
        reply = requests.post(f"{server.url}/dtms/trade/enable", json=order, headers=AUTH,
                              timeout=30)  # fmt: skip
        assert reply.status_code == 201, reply.text

        def standing() -> dict[str, Any] | None:
            health: dict[str, Any] = server.get("/health").json()
            return health if _stood(health["waiting"]) else None

        health = wait_for(standing, timeout=DEADLINE, what="/health saying the clock stands")
        status = server.json("/dtms/status")
        assert status["engine"]["healthy"] is True  # the server works: healthy still
        # what /health says (each read on its own: the duration may have grown between)
        waiting = status["engine"]["waiting"]
        assert _stood(waiting) == _stood(health["waiting"]), (waiting, health)
        assert STOOD in waiting[0] and str(account) in waiting[0], waiting

        browser = await Browser.start(tmp_path / "profile")
        try:
            await browser.navigate(server.url + "/")
            await browser.evaluate(f"localStorage.setItem('dtms.token', {json.dumps(TOKEN)}); true")
            await browser.navigate(server.url + "/")  # the page again, with its token
            await browser.wait_for(f"{row(1002)} !== null", timeout=DEADLINE)
            text = await browser.wait_for(
                f"{PILL}.textContent.startsWith('engine: waiting — ') && {PILL}.textContent",
                timeout=DEADLINE,
            )
            assert STOOD in text and str(account) in text, text
            assert await browser.evaluate(f"{PILL}.classList.contains('waiting')") is True
            assert await browser.evaluate(f"{PILL}.classList.contains('ok')") is False
            assert STOOD in await browser.evaluate(f"{PILL}.title")
            notice = "document.getElementById('waiting')"
            assert await browser.evaluate(f"{notice}.hidden") is False
            said = await browser.evaluate(f"{notice}.textContent")
            assert "until then nothing is closed, moved or found gone" in said, said
        finally:
            await browser.close()


async def test_the_hosts_status_says_what_its_engine_waits_for_as_its_health_does(
    aiohttp_client: Callable[..., Awaitable[Client]], tmp_path: Path
) -> None:
    """A host serving its local engine (``hostapp run --live --serve``) builds its own
    ``/dtms/status``: it carries the same ``waiting`` as its ``/health``."""
    settings = DtmsSettings(state_dir=str(tmp_path / "state"))
    with Store(tmp_path / "dtms") as store:
        strategy = LocalStrategy(settings, store)
        app = web.Application()
        app.add_routes(routes(strategy, settings))
        client = await aiohttp_client(app)

        async def both() -> tuple[list[str], list[str]]:
            status = await (await client.get("/dtms/status")).json()
            health = await (await client.get("/health")).json()
            return status["engine"]["waiting"], health["waiting"]

        assert await both() == ([], [])
        # what the engine's last cycle found, as it records it (dtms_plugin/local.py)
        strategy.waiting = {"EURUSD": "no closed M5 bar of EURUSD yet"}
        said = ["no closed M5 bar of EURUSD yet: its trades are not evaluated"]
        assert await both() == (said, said)
