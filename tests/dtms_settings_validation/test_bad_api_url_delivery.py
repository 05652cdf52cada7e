"""An api_url that slipped past the settings checks (set on a frozen settings object by force) makes
aiohttp raise InvalidURL: a delivery fails at once, is kept in the outbox, and is reported
once at ERROR with the URL, never as a traceback each cycle."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from support.fake_dtms_server import HOST, Clock, Sleeps, trade

from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store


@pytest.mark.parametrize("url", ["http://", "http://host:99999", "ftp://dtms.example"])
async def test_an_unusable_url_keeps_the_entry_and_logs_one_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, url: str
) -> None:
    settings = DtmsSettings(strategy="remote", state_dir=str(tmp_path / "dtms"))
    object.__setattr__(settings, "api_url", url)  # bypasses the checks (replace runs them)
    sleeps = Sleeps()
    with Store(tmp_path / "dtms") as store:
        strategy = RemoteStrategy(
            settings, store=store, sleep=sleeps, rand=lambda: 0.5, clock=Clock()
        )
        await strategy.startup(HOST)
        try:
            caplog.set_level(logging.DEBUG, logger="dtms_plugin")
            await strategy.on_trade_executed(HOST, trade(7))
            await strategy.drain()
            for _ in range(3):  # three more cycles' worth of flushes
                await strategy.flush()
            assert [t for t, _ in store.outbox_items()] == [7]
        finally:
            await strategy.shutdown(HOST)
    assert sleeps.delays == []  # no backoff: no retry can mend a URL
    assert not [r for r in caplog.records if r.exc_info]
    bad = [r for r in caplog.records if "not a usable URL" in r.getMessage()]
    assert len(bad) == 4
    assert [r.levelno for r in bad] == [logging.ERROR] + [logging.DEBUG] * 3
    assert url.rstrip("/") in bad[0].getMessage()
    assert "api_url" in bad[0].getMessage()


async def test_the_state_refresh_reports_an_unusable_url_without_raising(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = DtmsSettings(strategy="remote", state_dir=str(tmp_path / "dtms"))
    object.__setattr__(settings, "api_url", "ftp://dtms.example")
    with Store(tmp_path / "dtms") as store:
        strategy = RemoteStrategy(settings, store=store, sleep=Sleeps(), clock=Clock())
        await strategy.startup(HOST)
        try:
            await strategy.on_trade_executed(HOST, trade(7))
            await strategy.drain()
            store.outbox_remove(7)  # as if delivered: the ticket is now refreshed
            caplog.set_level(logging.ERROR, logger="dtms_plugin")
            await strategy.refresh()  # must not raise
        finally:
            await strategy.shutdown(HOST)
    refresh = [r for r in caplog.records if "DTMS refresh" in r.getMessage()]
    assert len(refresh) == 1 and "api_url" in refresh[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]
