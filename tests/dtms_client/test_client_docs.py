"""The examples of docs/client.md run, as written, against a real DTMS server."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
from pathlib import Path

import aiohttp
import pytest

from .conftest import Served

DOC = Path(__file__).parents[2] / "docs" / "client.md"


def examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_each_example_is_about_ten_lines() -> None:
    blocks = examples()
    assert len(blocks) == 2
    lines = [[line for line in block.splitlines() if line.strip()] for block in blocks]
    assert all(len(code) <= 12 for code in lines), lines


async def test_the_examples_run_against_a_real_server(
    served: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DTMS_URL", served.url)
    monkeypatch.delenv("DTMS_TOKEN", raising=False)
    for block in examples():  # each in a plain thread, as a program without our loop
        await asyncio.to_thread(exec, compile(block, str(DOC), "exec"), {"__name__": "example"})
    out = capsys.readouterr().out.split()
    assert out[:2] == ["registered", "free"]
    assert "registered" in out and "HEALTHY" in out
    async with aiohttp.ClientSession() as session, session.get(served.url + "/dtms/trades") as r:
        trades = (await r.json())["trades"]
    assert {t: v["state"] for t, v in trades.items()} == {"1001": "CLOSED", "1002": "CLOSED"}
    assert trades["1001"]["trade_info"]["realised_profit"] == 25.0


async def test_the_curl_lines_run_against_a_real_server(served: Served) -> None:
    """The plain-HTTP example, as written but for the server's port: register, read,
    report the close; each answer is JSON with success."""
    (block,) = re.findall(r"```sh\n(curl .*?)```", DOC.read_text(), flags=re.DOTALL)
    script = block.replace("http://127.0.0.1:8001", served.url)
    env = {**os.environ, "DTMS_TOKEN": ""}
    proc = await asyncio.to_thread(
        subprocess.run, ["bash", "-e", "-c", script], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    answers = [json.loads(line) for line in proc.stdout.replace("}{", "}\n{").splitlines()]
    assert [a["success"] for a in answers] == [True, True, True]
    assert answers[0]["summary"] == "DTMS protection enabled for ticket 1003"
    assert answers[1]["trade_info"]["sl"] == 1990.0
    assert answers[2]["state"] == "CLOSED" and answers[2]["trade_info"]["profit"] == 25.0


async def test_the_examples_run_one_after_another_against_one_server(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run in the page's order against one server, as a reader would: the curl lines
    reused the sync bot's ticket, whose trade was closed, and their first answer was a
    409 ``trade closed``."""
    monkeypatch.setenv("DTMS_URL", served.url)
    monkeypatch.delenv("DTMS_TOKEN", raising=False)
    for block in examples():
        await asyncio.to_thread(exec, compile(block, str(DOC), "exec"), {"__name__": "example"})
    (block,) = re.findall(r"```sh\n(curl .*?)```", DOC.read_text(), flags=re.DOTALL)
    script = block.replace("http://127.0.0.1:8001", served.url)
    env = {**os.environ, "DTMS_TOKEN": ""}
    proc = await asyncio.to_thread(
        subprocess.run, ["bash", "-e", "-c", script], capture_output=True, text=True, env=env
    )
    answers = [json.loads(line) for line in proc.stdout.replace("}{", "}\n{").splitlines()]
    assert [a["success"] for a in answers] == [True, True, True], answers


def test_the_documented_limits_are_the_servers() -> None:
    """``actions(limit=5000)`` answered 1,000 entries and a close reason over 64
    characters was refused, while docs/client.md named neither limit."""
    from dtms_plugin.client.bodies import MAX_REASON_CHARS
    from dtms_plugin.server.closing import MAX_REASON_CHARS as SERVER_REASON_CHARS
    from dtms_plugin.server.query import MAX_ACTIONS_LIMIT

    text = " ".join(DOC.read_text().split())
    assert f"at most {MAX_ACTIONS_LIMIT}: the server's cap" in text
    assert MAX_REASON_CHARS == SERVER_REASON_CHARS
    assert f"`reason` is text of 1 to {SERVER_REASON_CHARS} characters" in text
    assert f"`reason` (text of 1 to {SERVER_REASON_CHARS} characters" in text
