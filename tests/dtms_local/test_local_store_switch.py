"""A trader switches ``[plugin.dtms] store`` from the diskcache folder to Redis between two
live runs, trades open: the new Redis store is empty and the open positions are adopted.
The adoption WARNING says "the store ... was empty" and also that the folder still holds
the diskcache store's records, which this run does not read (docs/scaling.md, "Switching
the store"), so the trader does not take the switch for a lost store."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
from support.dtms_kit import trade
from support.dtms_local_rig import Rig
from support.redis_server import RedisServer


def _adoptions(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "adopted" in r.getMessage()
    ]


async def test_an_empty_redis_store_says_the_records_left_in_the_folder(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "dtms"
    r = Rig(folder)
    await r.start()
    await r.open_buy(ticket=1)
    await r.open_buy(ticket=2)
    await r.cycles(2)
    await r.stop()  # the first run ends; its records stay in the folder
    r.settings = dataclasses.replace(r.settings, store=redis_server.url())
    with caplog.at_level(logging.INFO, logger="dtms_plugin"):
        strategy = await r.restart()
    assert set(strategy.records) == {1, 2}  # adopted afresh in Redis
    [line] = _adoptions(caplog)
    assert "was empty while positions were open; the folder " in line
    assert (
        f"the folder {folder} holds 2 records from a diskcache store: this run does not "
        'read them (docs/scaling.md, "Switching the store", says what can be done with them)'
    ) in line
    await r.stop()


async def test_an_empty_redis_store_with_no_folder_says_only_empty(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A folder with no store in it (nothing was ever run there): nothing more, and none
    is created by looking."""
    folder = tmp_path / "never"
    r = Rig(folder, store=redis_server.url())
    r.broker.add(trade(ticket=7, opened_at=r.clock.now()))
    with caplog.at_level(logging.INFO, logger="dtms_plugin"):
        await r.start()
    [line] = _adoptions(caplog)
    assert "was empty while positions were open: adopted 1" in line
    assert not (folder / "cache.db").exists()
    await r.stop()
