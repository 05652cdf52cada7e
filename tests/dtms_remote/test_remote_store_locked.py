"""The remote strategy's store while another writer holds its folder's database (a real
SQLite lock: tests/support/locked_store.py), as a ``dtms serve`` sharing the folder may.

Its writes wait :data:`~dtms_plugin.remote.LOCK_WAIT_SECONDS` for the lock, not the
store's 5 s: each one held the event loop past the hook's deadline. A write refused whole
is not tried again piece by piece within the call (each piece waited as long, in vain: a
registration was four waits); the entry is kept in memory and sent, and stored once the
store takes writes again (a restart still sends it). Against a real loopback server."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.fake_dtms_server import HOST, FakeDtms, trade
from support.locked_store import locked

from dtms_plugin import remote
from dtms_plugin.settings import DtmsSettings

Start = Callable[..., Any]
Settings = Callable[..., DtmsSettings]
WAIT = 0.3


async def test_a_registration_on_a_locked_folder_waits_once_and_is_stored_when_it_frees(
    fake: FakeDtms,
    settings_for: Settings,
    started: Start,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(remote, "LOCK_WAIT_SECONDS", WAIT)
    fake.fail("enable", 1000, status=503)  # the server takes nothing: it stays to send
    fake.fail("batch", 1000, status=503)
    strategy = await started(settings_for(fake.url))
    await strategy.drain()
    with locked(tmp_path / "dtms"):
        began = time.perf_counter()
        await strategy.on_trade_executed(HOST, trade(7))
        took = time.perf_counter() - began
        assert strategy.store.outbox_len() == 0  # refused: kept in memory
    assert WAIT <= took < 2 * WAIT, took  # one wait, not one per piece nor the store's 5 s
    await strategy.drain()  # the next pass: the store takes writes again
    assert [t for t, _ in strategy.store.outbox_items()] == [7]
    assert not strategy._volatile
