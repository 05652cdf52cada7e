"""The dashboard in headless Chromium: a real server on loopback, a registered trade shows
up, its state badge changes after a scripted transition without a reload, a screenshot is
saved. With ``DTMS_DASHBOARD_SCREENSHOT=docs/dashboard.png`` the screenshot is also copied
there (that is how the README's picture is made)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from observability.obs_chromium import Browser, needs_chromium, row
from observability.obs_rig import TOKEN, MakeRig, Move, open_ticket
from support.dtms_kit import snapshot

from dtms_plugin.blind_spots import BlindSpots
from dtms_plugin.settings import DtmsSettings
from hookspecs import ActionKind, DefensiveState

pytestmark = needs_chromium


def badge(ticket: int) -> str:
    return f"{row(ticket)}?.querySelector('.badge')?.dataset.state"


async def test_dashboard_shows_trades_and_follows_a_transition_live(
    make_rig: MakeRig, tmp_path: Path
) -> None:
    rig = await make_rig(server_kwargs={"host": "127.0.0.1"})
    first = open_ticket(rig.world)
    await rig.register(first)
    browser = await Browser.start(tmp_path / "profile")
    try:
        await browser.navigate(str(rig.client.make_url("/")))
        # no token yet: the page says so instead of showing data
        await browser.wait_for("window.dtmsDashboard.errors > 0")
        problem = await browser.evaluate("document.getElementById('problem').textContent")
        assert "token" in problem
        await browser.evaluate(
            f"document.getElementById('token').value = {json.dumps(TOKEN)};"
            "document.querySelector('#token-form button').click(); true"
        )
        assert await browser.wait_for(badge(first)) == "HEALTHY"
        assert await browser.evaluate("localStorage.getItem('dtms.token')") == TOKEN
        await browser.evaluate("window.__notReloaded = true")

        price = rig.world.price("XAUUSD")
        rig.puppet.moves = [
            Move(
                first,
                DefensiveState.WARNING_L2,
                -4.2,
                ActionKind.TIGHTEN_SL,
                {"stop_loss": price - 3},
            )
        ]
        await rig.cycle()

        await browser.wait_for(f"{badge(first)} === 'WARNING_L2'")
        assert await browser.evaluate("window.__notReloaded") is True
        count = "document.querySelector('.count[data-state=\"WARNING_L2\"] .n').textContent"
        assert await browser.wait_for(f"{count} === '1' && {count}") == "1"
        history = await browser.evaluate("document.querySelector('#history tbody').textContent")
        assert "tighten_sl" in history

        # what the engine scored without: hidden while /dtms/status says nothing of it,
        # shown as soon as it does (this strategy double keeps no counts of its own)
        assert await browser.evaluate("document.getElementById('scoring').hidden") is True
        blind = BlindSpots(DtmsSettings())
        bare = snapshot()  # bars without volume, spread or history
        blind.scored(bare.score("buy"), bare)
        rig.puppet.blind = blind  # type: ignore[attr-defined]
        notice = "document.getElementById('scoring')"
        text = await browser.wait_for(f"!{notice}.hidden && {notice}.textContent")
        assert text.startswith("DTMS scored trades once, some without a signal")
        assert "vwap_volume every time on XAUUSD (no session VWAP" in text
        del rig.puppet.blind  # type: ignore[attr-defined]
        await browser.wait_for(f"{notice}.hidden")

        await _populate(rig, browser)
        shot = await browser.screenshot(tmp_path / "dashboard.png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        target = os.environ.get("DTMS_DASHBOARD_SCREENSHOT")
        if target:
            shutil.copyfile(shot, target)
    finally:
        await browser.close()


async def _populate(rig: object, browser: Browser) -> None:
    """A few more trades in different states, for a screenshot worth looking at."""
    from observability.obs_rig import Rig

    assert isinstance(rig, Rig)
    gold = rig.world.price("XAUUSD")
    euro = rig.world.price("EURUSD")
    t = {
        name: open_ticket(rig.world, sym)
        for name, sym in (
            ("ok", "XAUUSD"),
            ("l1", "EURUSD"),
            ("hedged", "XAUUSD"),
            ("rec", "EURUSD"),
            ("closed", "XAUUSD"),
        )
    }
    for name, ticket in t.items():
        await rig.register(ticket, "EURUSD" if name in ("l1", "rec") else "XAUUSD")
    rig.puppet.moves = [
        Move(t["ok"], DefensiveState.HEALTHY, 1.8, price=gold * 1.004),
        Move(t["l1"], DefensiveState.WARNING_L1, -1.1, price=euro * 0.998),
        Move(
            t["hedged"],
            DefensiveState.WARNING_L2,
            -3.9,
            ActionKind.TIGHTEN_SL,
            {"stop_loss": gold - 4},
        ),
        Move(
            t["rec"],
            DefensiveState.WARNING_L2,
            -3.1,
            ActionKind.TIGHTEN_SL,
            {"stop_loss": euro - 0.004},
        ),
        Move(t["closed"], DefensiveState.WARNING_L1, -2.0, price=gold * 0.995),
    ]
    await rig.cycle()
    rig.puppet.moves = [
        Move(
            t["hedged"],
            DefensiveState.HEDGED,
            -5.6,
            ActionKind.HEDGE,
            {"volume": 1.0},
            price=gold * 0.994,
        ),
        Move(t["rec"], DefensiveState.RECOVERING, 0.7, price=euro * 0.999),
        Move(t["closed"], DefensiveState.CLOSED, -6.3, ActionKind.CLOSE, {}, price=gold * 0.992),
    ]
    await rig.cycle()
    await browser.wait_for(
        f"{badge(t['closed'])} === 'CLOSED' && {badge(t['rec'])} === 'RECOVERING'"
    )
    await browser.evaluate(
        "document.querySelector('#trades details')?.setAttribute('open', ''); true"
    )


async def test_dashboard_pages_through_many_trades_open_ones_first(
    make_rig: MakeRig, tmp_path: Path
) -> None:
    """Past 100 trades the page asks for one page at a time (the server keeps closed trades
    for weeks): open trades first, newest first; "older" shows the rest."""
    rig = await make_rig(server_kwargs={"host": "127.0.0.1"})
    tickets = [open_ticket(rig.world) for _ in range(104)]
    for ticket in tickets:
        await rig.register(ticket)
    closed = tickets[-1]  # the newest ticket, closed: listed after every open one
    report = await rig.client.post(
        f"/dtms/trade/{closed}/closed",
        json={"reason": "tp"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert report.status == 200
    rows = "[...document.querySelectorAll('#trades tbody tr')].map(r => +r.dataset.ticket)"
    page_range = "document.getElementById('page-range').textContent"
    browser = await Browser.start(tmp_path / "profile")
    try:
        await browser.navigate(str(rig.client.make_url("/")))
        await browser.evaluate(f"localStorage.setItem('dtms.token', {json.dumps(TOKEN)}); true")
        await browser.navigate(str(rig.client.make_url("/")))
        assert await browser.wait_for(f"{page_range} === '1–100 of 104' && {page_range}")
        newest_open = sorted(tickets[:-1], reverse=True)
        assert await browser.evaluate(rows) == newest_open[:100]
        assert await browser.evaluate("document.getElementById('newer').disabled") is True
        await browser.evaluate("document.getElementById('older').click(); true")
        assert await browser.wait_for(f"{page_range} === '101–104 of 104' && {page_range}")
        assert await browser.evaluate(rows) == [*newest_open[100:], closed]
        assert await browser.evaluate("document.getElementById('older').disabled") is True
    finally:
        await browser.close()
