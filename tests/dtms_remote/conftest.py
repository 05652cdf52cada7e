"""Fixtures for the remote strategy: a real fake DTMS server on loopback, and strategies
whose sleep, jitter and clock are injected (no real waiting for backoff)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from support.fake_dtms_server import HOST, Clock, FakeDtms, Sleeps

from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.settings import DtmsSettings


@pytest.fixture
async def fake() -> AsyncIterator[FakeDtms]:
    server = await FakeDtms().start()
    yield server
    await server.stop()


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., DtmsSettings]:
    def make(url: str, **overrides: Any) -> DtmsSettings:
        values: dict[str, Any] = {
            "strategy": "remote",
            "api_url": url,
            "state_dir": str(tmp_path / "dtms"),
            "token_env": "DTMS_TEST_TOKEN_UNSET",
            "register_timeout_seconds": 0.5,
            "query_timeout_seconds": 0.5,
        }
        values.update(overrides)
        return DtmsSettings(**values)

    return make


@pytest.fixture
async def started() -> AsyncIterator[Callable[..., Any]]:
    """``await started(settings, ...)`` → a started RemoteStrategy, shut down afterwards."""
    strategies: list[RemoteStrategy] = []

    async def start(settings: DtmsSettings, **kwargs: Any) -> RemoteStrategy:
        kwargs.setdefault("sleep", Sleeps())
        kwargs.setdefault("rand", lambda: 0.5)
        kwargs.setdefault("clock", Clock())
        strategy = RemoteStrategy(settings, **kwargs)
        await strategy.startup(HOST)
        strategies.append(strategy)
        return strategy

    yield start
    for strategy in strategies:
        await strategy.shutdown(HOST)
