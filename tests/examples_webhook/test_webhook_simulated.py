"""Which runs post, through the real command and a real receiver on 127.0.0.1: a
simulated run's events are history, so by default only a live run posts; with
``simulated = true`` a simulated run posts too, each message naming the run and the bar's
time, and only the command's own run posts (an A/B's baseline and same-entries runs
replay the same bars: their events would reach the chat twice or three times)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web
from hostapp_loop.replay_cli import bars_folder

HOOK = "/api/webhooks/1/tok-0b7e"
CONFIG = (
    """
[host]
symbols = ["XAUUSD"]
timeframe = "M5"
[plugins]
enabled = ["notify_webhook"]
[plugin.notify_webhook]
url = "http://127.0.0.1:{port}"""
    + HOOK
    + """"
timeout_seconds = 5
actions = "all"
"""
)


async def _hostapp(
    tmp_path: Path, aiohttp_server: Any, settings: str, *args: str
) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    """``hostapp ARGS`` in ``tmp_path`` posting to a receiver of its own: what the receiver
    got, the run's summary.json, and what the command printed."""
    got: list[dict[str, Any]] = []

    async def receive(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post(HOOK, receive)
    server = await aiohttp_server(app)
    (tmp_path / "plugins.toml").write_text(CONFIG.format(port=server.port) + settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTAPP_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hostapp.cli", *args, "--report", "rep", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, err.decode()[-3000:]
    summary = json.loads((tmp_path / "rep" / "summary.json").read_text())
    return got, summary, out.decode()


async def test_a_simulated_run_posts_nothing_by_default_and_says_so(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    """``hostapp run`` posted from its run and again from its A/B's runs: a trader's chat
    got a month of replayed "→ HEDGED" alerts that read as live."""
    got, summary, out = await _hostapp(tmp_path, aiohttp_server, "", "run", "--days", "5")
    assert got == []
    note = summary["plugin_reports"]["notify_webhook"]["note"]
    assert note.startswith("posted nothing: a simulated run; it posts from live runs only")
    assert "simulated = true" in note
    assert "note (notify_webhook): posted nothing: a simulated run" in out


async def test_opted_in_a_run_posts_once_naming_itself_never_from_its_ab(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    got, summary, _ = await _hostapp(
        tmp_path, aiohttp_server, "simulated = true\n", "run", "--days", "5"
    )
    counts = summary["plugin_reports"]["notify_webhook"]
    assert len(got) > 5 and len(got) == counts["sent"] + counts["queued"]  # the A/B: none
    assert {b["event"]["simulated"]["run"] for b in got} == {"run"}
    first = got[0]
    when = first["event"]["simulated"]["time"]  # the bar's time, not the wall clock's
    assert first["content"].startswith(f'[simulated run "run", {when[:10]} {when[11:16]} UTC] ')
    assert first["content"] == first["text"]
    assert not [t for t, n in Counter(b["text"] for b in got).items() if n > 1]
    compare = json.loads((tmp_path / "rep" / "compare" / "summary.json").read_text())
    same = compare["same_entries"]["with"]["plugin_reports"]["notify_webhook"]
    assert same["sent"] == 0 and same["note"].startswith('posted nothing: run "same_entries"')


async def test_a_replay_compared_posts_from_its_full_run_only(
    tmp_path: Path, aiohttp_server: Any
) -> None:
    """``replay --compare`` posted from all three runs: 1,334 messages, 129 exact repeats."""
    bars_folder(tmp_path, bars=1500, config=False)
    got, _, _ = await _hostapp(
        tmp_path, aiohttp_server, "simulated = true\n", "replay", "XAUUSD.csv", "--compare"
    )
    assert got and {b["event"]["simulated"]["run"] for b in got} == {"full"}
    assert all(b["text"].startswith('[simulated run "full", ') for b in got)
    shutil.rmtree(tmp_path / "rep", ignore_errors=True)
