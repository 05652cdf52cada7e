"""Headless Chromium driven over the DevTools protocol with aiohttp (no Playwright).

Chromium is started with ``--remote-debugging-port=0`` and a fresh profile; it writes the
port it chose to ``DevToolsActivePort`` in the profile, we connect to the first page's
websocket and send commands (``Page.navigate``, ``Runtime.evaluate``,
``Page.captureScreenshot``). The process is always terminated by :meth:`close`.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import aiohttp
import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1440,1000",
)


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


#: The mark of a test that drives the page in Chromium (``.ci/run`` installs it).
needs_chromium = pytest.mark.skipif(
    chromium_path() is None, reason="needs Debian's chromium (.ci/run installs it)"
)


def row(ticket: int) -> str:
    """A script expression for the page's row of ``ticket`` (null when it has none)."""
    return f"document.querySelector('tr[data-ticket=\"{ticket}\"]')"


class Browser:
    def __init__(self, proc: subprocess.Popen[bytes], session: aiohttp.ClientSession) -> None:
        self.proc = proc
        self.session = session
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)

    @classmethod
    async def start(cls, profile: Path, *, timeout: float = 60.0) -> Browser:
        exe = chromium_path()
        assert exe is not None, "chromium is not installed"
        profile.mkdir(parents=True, exist_ok=True)
        args = [exe, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0"]
        proc = subprocess.Popen(
            [*args, "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        browser = cls(proc, aiohttp.ClientSession())
        try:
            await browser._connect(profile / "DevToolsActivePort", timeout)
        except BaseException:
            await browser.close()
            raise
        return browser

    async def _connect(self, port_file: Path, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            assert self.proc.poll() is None, f"chromium exited with {self.proc.returncode}"
            assert loop.time() < deadline, "chromium did not open its DevTools port"
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().splitlines()[0])
        while True:
            async with self.session.get(f"http://127.0.0.1:{port}/json/list") as resp:
                pages = [t for t in await resp.json() if t.get("type") == "page"]
            if pages:
                break
            assert loop.time() < deadline, "chromium opened no page"
            await asyncio.sleep(0.1)
        self.ws = await self.session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        assert self.ws is not None
        ident = next(self._ids)
        await self.ws.send_str(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads((await self.ws.receive(timeout=60)).data)
            if message.get("id") == ident:
                assert "error" not in message, message
                result: dict[str, Any] = message.get("result", {})
                return result

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"].get("value")

    async def wait_for(self, expression: str, *, timeout: float = 30.0) -> Any:
        """Evaluate ``expression`` until it is truthy; its value, or an AssertionError."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if loop.time() > deadline:
                state = await self.evaluate("JSON.stringify(window.dtmsDashboard || null)")
                raise AssertionError(f"timed out waiting for {expression!r}; page: {state}")
            await asyncio.sleep(0.1)

    async def navigate(self, url: str) -> None:
        await self.send("Page.enable")
        await self.send("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete'")

    async def screenshot(self, path: Path) -> Path:
        result = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(result["data"]))
        return path

    async def close(self) -> None:
        try:
            if self.ws is not None:
                await self.ws.close()
            await self.session.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
