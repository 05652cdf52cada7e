"""What the dashboard shows of a trade beyond its state, and how it says the data is old:
a real server on loopback, the page in headless Chromium. Warnings, the last action's
message, prices at the entry's decimals, the hedge; the pager hidden for one page; after
the server goes, the engine badge is unknown and the data dimmed with its age."""

from __future__ import annotations

import json
from pathlib import Path

from observability.obs_chromium import Browser, needs_chromium, row
from observability.obs_rig import TOKEN, MakeRig, open_ticket
from support.dtms_server_world import service_of

pytestmark = needs_chromium


async def test_a_rows_warnings_prices_and_hedge_then_stale_data_when_the_server_goes(
    make_rig: MakeRig, tmp_path: Path
) -> None:
    rig = await make_rig(server_kwargs={"host": "127.0.0.1"})
    ticket = open_ticket(rig.world)
    await rig.register(ticket, entry=2121.5, stop_loss=2110.25, take_profit=2140.0)
    store = service_of(rig.client).store
    record = store.get_record(ticket)
    # the record keeps the broker's fill (docs/client.md); an entry of one decimal, shown
    # at two as its stop's and target's are
    record |= {
        "entry_price": 2121.5,
        "warnings": ["partial_close skipped: partial volume 0 below the minimum 0.01"],
        "hedge_ticket": 70,
        "hedge_volume": 0.05,
        "last_eval_price": 2119.8,
        "journal": [{"kind": "tighten_sl", "key": "k", "status": "done",
                     "at": "2026-01-05T10:00:00+00:00", "message": "SL moved to 2121.75",
                     "params": {"stop_loss": 2121.75}}],
    }  # fmt: skip
    store.put_record(ticket, record)
    browser = await Browser.start(tmp_path / "profile")
    try:
        await browser.navigate(str(rig.client.make_url("/")))
        await browser.evaluate(
            f"localStorage.setItem('dtms.token', {json.dumps(TOKEN)}); location.reload(); true"
        )
        text = await browser.wait_for(f"{row(ticket)}?.textContent")
        assert "partial_close skipped: partial volume 0 below the minimum 0.01" in text
        assert "SL moved to 2121.75" in text
        assert "hedged by #70, 0.05 lots" in text
        assert "entry 2121.50" in text and "SL 2110.25 · TP 2140.00" in text
        assert "last 2119.80" in text
        assert await browser.evaluate("document.getElementById('pager').hidden") is True
        assert (
            await browser.evaluate("getComputedStyle(document.getElementById('pager')).display")
            == "none"
        )
        check = await browser.wait_for("document.getElementById('last-check').textContent")
        assert check.startswith("last check ") and "engine time" in check
        assert await browser.evaluate("document.getElementById('engine').textContent") == (
            "engine: healthy"
        )

        await rig.client.close()  # the server goes away
        await browser.wait_for("document.body.classList.contains('stale')")
        assert await browser.evaluate("document.getElementById('engine').textContent") == (
            "engine: unknown (no answer)"
        )
        updated = await browser.evaluate("document.getElementById('updated').textContent")
        assert updated.startswith("last good data at ")
        assert await browser.evaluate(f"{row(ticket)} !== null") is True  # kept, dimmed
    finally:
        await browser.close()
