"""Lost webhook messages are said where a trader reads, in a real ``hostapp run --live``
on a fresh paper account: its terminal and its summary table. They used to go to
``hostapp.log`` alone: the terminal showed the first failure's ERROR and nothing after it
(not the episode's end, not the final counts, not a full queue), and the summary table had
no note of them. The end of an episode whose ERROR the terminal showed belongs there too
(docs/plugins.md, "Your own log lines"). The webhook's path is its token: it is never
written, on the terminal, in the log or in the summary."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

ROOT = Path(__file__).resolve().parents[2]
SECRET = "tok-7f3a9c"
PATH = f"/api/webhooks/1/{SECRET}"
#: A subprocess on a slow, busy 2-core machine: generous, as the run itself takes seconds.
DEADLINE = 300

Answer = Callable[[int], Awaitable[web.Response]]


@dataclass
class Run:
    """What a finished ``hostapp run --live`` left: its terminal and its report."""

    returncode: int
    stdout: str
    stderr: str
    log: str
    summary: dict[str, Any]
    counts: dict[str, Any]
    host: str  # the receiver as every line may name it: http://127.0.0.1:PORT/***


async def _live_run(aiohttp_server: Any, cwd: Path, answer: Answer, settings: str = "") -> Run:
    """The shipped plugins.toml (DTMS on, so trades change state and get actions) with
    the notifier on, posting to a receiver on 127.0.0.1 that gives each post ``answer``
    (called with the post's number, from 1), in a run of two days of bars played at
    20,000 times real time; the messages' posts and retries take real seconds."""
    posts = 0

    async def receive(request: web.Request) -> web.Response:
        nonlocal posts
        posts += 1
        await request.read()
        return await answer(posts)

    app = web.Application()
    app.router.add_post(PATH, receive)
    server = await aiohttp_server(app)
    shipped = (ROOT / "plugins.toml").read_text(encoding="utf-8")
    config = shipped.replace("enabled = []", 'enabled = ["notify_webhook"]', 1)
    assert config != shipped
    config += (
        f'\n[plugin.notify_webhook]\nurl = "http://127.0.0.1:{server.port}{PATH}"\n{settings}\n'
    )
    return await _run_in(cwd, config, server.port)


async def _run_in(cwd: Path, config: str, port: int) -> Run:
    """``hostapp run --live`` in ``cwd`` (its own paper account and report folder), the
    test's PYTHONPATH inherited; the receiver keeps answering while it runs. Played at
    20,000 times real time, not faster: on a slow machine too, the notifier has posted
    the messages of the run's first trades when the run asks for its report."""
    (cwd / "plugins.toml").write_text(config, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HOSTAPP_", "DTMS_"))}
    argv = ["run", "--live", "--speed", "20000", "--days", "2", "--report", "rep"]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hostapp.cli", *argv, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(), DEADLINE)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    summary = json.loads((cwd / "rep" / "summary.json").read_text(encoding="utf-8"))
    return Run(
        returncode=proc.returncode if proc.returncode is not None else -1,
        stdout=out.decode(),
        stderr=err.decode(),
        log=(cwd / "rep" / "hostapp.log").read_text(encoding="utf-8"),
        summary=summary,
        counts=summary["plugin_reports"]["notify_webhook"],
        host=f"http://127.0.0.1:{port}/***",
    )


def _said(text: str, level: str) -> list[str]:
    """The notifier's lines of ``level`` in ``text`` (a terminal's or the log's), each
    from its message on."""
    mark = f" {level} notify_webhook: notify_webhook: "
    return [line.split(mark, 1)[1] for line in text.splitlines() if mark in line]


def _note(run: Run) -> str:
    """The notifier's note in the run's summary table, on the terminal."""
    notes = [line for line in run.stdout.splitlines() if line.startswith("note (notify_webhook): ")]
    assert len(notes) == 1, run.stdout[-3000:]
    return notes[0].removeprefix("note (notify_webhook): ")


def _no_secret(run: Run) -> None:
    for text in (run.stdout, run.stderr, run.log, json.dumps(run.summary)):
        assert SECRET not in text
    assert "Traceback" not in run.stderr, run.stderr[-3000:]


async def test_a_receiver_that_refuses_every_message_is_said_on_the_terminal(
    aiohttp_server: Any, tmp_path: Path
) -> None:
    """A receiver rate-limited for 100 s: every message fails at once (its wait would
    pass the message's deadline). The terminal had the first failure only."""

    async def limited(post: int) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": "100"})

    run = await _live_run(aiohttp_server, tmp_path, limited)
    assert run.returncode == 0, run.stderr[-3000:]
    failed = run.counts["failed"]
    assert failed >= 1 and run.counts["sent"] == run.counts["dropped"] == 0, run.counts
    (error,) = _said(run.stderr, "ERROR")
    assert f"not delivered to the webhook at {run.host}: answered 429" in error
    (final,) = _said(run.stderr, "WARNING")  # the final counts, ending the episode
    assert final.startswith("0 messages sent, "), final
    assert f"messages not delivered to the webhook at {run.host} over " in final
    assert "past the message's deadline" in final
    assert final in _said(run.log, "WARNING")
    assert _note(run).startswith(
        f"{failed} of {failed} messages not delivered: {failed} failed, 0 dropped (the "
        f"webhook at {run.host}; the last failure: "
    ), _note(run)
    _no_secret(run)


async def test_the_end_of_a_failure_episode_is_said_where_its_error_was(
    aiohttp_server: Any, tmp_path: Path
) -> None:
    """A receiver that fails its first three posts (500, not retried: ``retries = 0``)
    and takes the rest: the terminal kept showing the ERROR as if it still failed."""

    async def down_then_back(post: int) -> web.Response:
        return web.Response(status=500 if post <= 3 else 204)

    run = await _live_run(aiohttp_server, tmp_path, down_then_back, "retries = 0")
    assert run.returncode == 0, run.stderr[-3000:]
    sent = run.counts["sent"]
    assert run.counts["failed"] == 3 and sent >= 1, run.counts  # a run posts a dozen or more
    (error,) = _said(run.stderr, "ERROR")
    assert error.endswith(f"at {run.host}: answered 500 (the next ones that fail are counted "
                          "until one goes through)"), error  # fmt: skip
    back, final = _said(run.stderr, "WARNING")
    assert back.startswith(f"3 messages not delivered to the webhook at {run.host} over "), back
    assert back.endswith("(the last: answered 500); it took a message again"), back
    counted = re.fullmatch(r"(\d+) messages sent, 3 failed, 0 dropped", final)
    assert counted and int(counted[1]) >= sent, final  # shutdown sent what was still queued
    note = _note(run)
    expected = (
        f"3 of {sent + 3} messages not delivered: 3 failed, 0 dropped (the webhook at "
        f"{run.host}; the last failure: answered 500)"
    )
    assert note.startswith(expected), note
    _no_secret(run)


async def test_messages_dropped_from_a_full_queue_are_said_on_the_terminal(
    aiohttp_server: Any, tmp_path: Path
) -> None:
    """``queue_size = 1`` and a receiver that never answers in time: the first message
    waits for it, each one after pushes the one before out of the queue."""

    async def asleep(post: int) -> web.Response:
        await asyncio.sleep(30)
        return web.Response(status=204)

    run = await _live_run(aiohttp_server, tmp_path, asleep, "queue_size = 1\ntimeout_seconds = 2")
    assert run.returncode == 0, run.stderr[-3000:]
    dropped = run.counts["dropped"]
    assert dropped >= 2 and run.counts["sent"] == 0, run.counts
    warnings = _said(run.stderr, "WARNING")
    assert warnings[0] == (
        "the queue is full (receiver slow or down); dropping the oldest messages"
    ), warnings
    assert "messages sent, " in warnings[-1] and "dropped" in warnings[-1], warnings
    assert warnings[-1] in _said(run.log, "WARNING")
    lost = dropped + run.counts["failed"]
    assert _note(run).startswith(
        f"{lost} of {lost} messages not delivered: {run.counts['failed']} failed, {dropped} "
        f"dropped (the webhook at {run.host}; "
    ), _note(run)
    assert "dropped as the queue of 1 was full" in _note(run)
    _no_secret(run)
