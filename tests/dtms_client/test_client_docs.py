"""The examples of docs/client.md run, as written, against a real DTMS server."""

from __future__ import annotations

import asyncio
import re
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
