"""The dashboard of a server that stops answering without going away: a real ``dtms
serve`` subprocess, SIGSTOPped, its port still accepting connections (the kernel does)
that nothing answers, and the page in headless Chromium. The page's first request then
waited for ever and the page said "engine: healthy" over the old numbers, polling no more;
a request is now given up after a few seconds, the page says it has no answer, keeps
asking, and shows live data again once the server is resumed (SIGCONT). Whatever else
holds a poll, data older than three polls is marked stale all the same."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from observability.obs_chromium import Browser, needs_chromium
from observability.obs_rig import TOKEN as RIG_TOKEN
from observability.obs_rig import MakeRig, open_ticket
from support.e2e_procs import TOKEN, dtms_server, free_port, toml_config

pytestmark = needs_chromium

STALE = "document.body.classList.contains('stale')"
PILL = "document.getElementById('engine').textContent"
#: how long a condition may take on a loaded 2-core machine: well over the page's 5 s
#: request timeout and its 2 s poll, but finite
DEADLINE = 60.0


async def test_a_frozen_server_is_said_unanswered_polled_on_and_followed_when_it_resumes(
    tmp_path: Path,
) -> None:
    config = toml_config(
        tmp_path / "plugins.toml",
        symbols=["XAUUSD"],
        account_file=tmp_path / "account.db",
        state_dir=tmp_path / "state",
    )
    log = tmp_path / "server.log"
    with dtms_server(config, free_port(), monitor_seconds=3600, log=log) as server:
        browser = await Browser.start(tmp_path / "profile")
        try:
            await browser.navigate(server.url + "/")
            await browser.evaluate(f"localStorage.setItem('dtms.token', {json.dumps(TOKEN)}); true")
            await browser.navigate(server.url + "/")  # the page again, with its token
            await browser.wait_for(f"window.dtmsDashboard.polls >= 2 && !{STALE}", timeout=DEADLINE)
            live = await browser.evaluate(PILL)
            assert live.startswith("engine: ") and "unknown" not in live

            os.kill(server.proc.pid, signal.SIGSTOP)
            try:
                await browser.wait_for(STALE, timeout=DEADLINE)
                assert await browser.evaluate(PILL) == "engine: unknown (no answer)"
                updated = await browser.evaluate("document.getElementById('updated').textContent")
                assert updated.startswith("last good data at "), updated
                # the requests given up say so, once the first of them times out
                problem = "document.getElementById('problem')"
                said = await browser.wait_for(
                    f"!{problem}.hidden && {problem}.textContent.includes('within') && "
                    f"{problem}.textContent",
                    timeout=DEADLINE,
                )
                assert "no answer from the DTMS API within 5 s" in said, said
                # and it asks again and again, not once: each poll given up counts
                errors = await browser.evaluate("window.dtmsDashboard.errors")
                await browser.wait_for(
                    f"window.dtmsDashboard.errors >= {errors + 2} && {STALE}", timeout=DEADLINE
                )
            finally:
                os.kill(server.proc.pid, signal.SIGCONT)

            polls = await browser.evaluate("window.dtmsDashboard.polls")
            await browser.wait_for(
                f"window.dtmsDashboard.polls > {polls} && !{STALE}", timeout=DEADLINE
            )
            assert "unknown" not in await browser.evaluate(PILL)
            assert await browser.evaluate("document.getElementById('problem').hidden") is True
        finally:
            await browser.close()


async def test_data_older_than_three_polls_is_stale_whatever_holds_the_poll(
    make_rig: MakeRig, tmp_path: Path
) -> None:
    """Whatever keeps a poll from ending (here the page's ``fetch`` replaced by one that
    never settles, abort or not), the page marks data older than three polls stale, and
    starts a new poll once the held one has run past its requests' time: polling resumes
    by itself once requests are answered again."""
    rig = await make_rig(server_kwargs={"host": "127.0.0.1"})
    await rig.register(open_ticket(rig.world))
    url = str(rig.client.make_url("/"))
    browser = await Browser.start(tmp_path / "profile")
    try:
        await browser.navigate(url)
        await browser.evaluate(f"localStorage.setItem('dtms.token', {json.dumps(RIG_TOKEN)}); true")
        await browser.navigate(url)
        await browser.wait_for(f"window.dtmsDashboard.polls >= 2 && !{STALE}", timeout=DEADLINE)
        await browser.evaluate(
            "window.__fetch = window.fetch; window.fetch = () => new Promise(() => {}); true"
        )
        await browser.wait_for(STALE, timeout=DEADLINE)
        assert await browser.evaluate(PILL) == "engine: unknown (no answer)"
        said = await browser.evaluate("document.getElementById('problem').textContent")
        assert said.startswith("no answer from the DTMS API for "), said
        polls = await browser.evaluate("window.dtmsDashboard.polls")
        await browser.evaluate("window.fetch = window.__fetch; true")
        await browser.wait_for(
            f"window.dtmsDashboard.polls > {polls} && !{STALE}", timeout=DEADLINE
        )
        assert await browser.evaluate(PILL) == "engine: healthy"
    finally:
        await browser.close()


async def test_a_server_answering_slowly_within_the_time_allowed_is_not_stale(
    make_rig: MakeRig, tmp_path: Path
) -> None:
    """Answers that take 4.6 s of the 5 allowed kept the data older than three polls between
    two answers: the page flipped to "no answer" and back at every poll. A poll still
    within its time is no silence."""
    rig = await make_rig(server_kwargs={"host": "127.0.0.1"})
    await rig.register(open_ticket(rig.world))
    url = str(rig.client.make_url("/"))
    browser = await Browser.start(tmp_path / "profile")
    try:
        await browser.navigate(url)
        await browser.evaluate(f"localStorage.setItem('dtms.token', {json.dumps(RIG_TOKEN)}); true")
        await browser.navigate(url)
        await browser.wait_for(f"window.dtmsDashboard.polls >= 2 && !{STALE}", timeout=DEADLINE)
        await browser.evaluate(  # every answer 4 s late, a stale mark counted if it comes
            "window.__fetch = window.fetch; window.__staled = 0;"
            " window.fetch = (...a) => new Promise((ok) => setTimeout(ok, 4600))"
            ".then(() => window.__fetch(...a));"
            " new MutationObserver(() => { if (document.body.classList.contains('stale'))"
            " window.__staled += 1; }).observe(document.body, {attributes: true}); true"
        )
        polls = await browser.evaluate("window.dtmsDashboard.polls")
        await browser.wait_for(f"window.dtmsDashboard.polls >= {polls + 5}", timeout=DEADLINE)
        assert await browser.evaluate("window.__staled") == 0
        assert await browser.evaluate(PILL) == "engine: healthy"
    finally:
        await browser.close()
