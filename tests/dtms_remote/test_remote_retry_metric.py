"""The client's registration-retries counter: one per retried attempt, none for a first
try, whatever the outcome; read through the strategy's :class:`ClientMetrics`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from support.fake_dtms_server import HOST, FakeDtms, Sleeps, trade

from dtms_plugin.metrics import ClientMetrics
from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.settings import DtmsSettings

Start = Callable[..., Any]
Settings = Callable[..., DtmsSettings]


def scrape(metrics: ClientMetrics) -> dict[str, float]:
    return {
        s.name: s.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for s in family.samples
    }


async def test_503_twice_counts_two_retries(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    sleeps = Sleeps()
    fake.fail("enable", 2, status=503)
    strategy: RemoteStrategy = await started(settings_for(fake.url), sleep=sleeps)
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.drain()
    assert fake.enable_ok[7] == 1
    got = scrape(strategy.metrics)
    assert got["dtms_client_registration_retries_total"] == 2
    assert got["dtms_client_outbox_depth"] == 0
    assert len(sleeps.delays) == 2  # the policy itself is unchanged


async def test_first_try_success_and_a_refusal_count_no_retry(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    fake.fail("enable", 1, status=400, message="field 'volume': must be > 0")
    strategy: RemoteStrategy = await started(settings_for(fake.url))
    await strategy.on_trade_executed(HOST, trade(7))  # refused, dropped
    await strategy.on_trade_executed(HOST, trade(8))  # registered at once
    await strategy.drain()
    assert fake.enable_ok[8] == 1
    assert scrape(strategy.metrics)["dtms_client_registration_retries_total"] == 0


async def test_server_down_counts_every_retry_and_the_kept_entries(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    url = fake.url
    await fake.stop()
    strategy: RemoteStrategy = await started(settings_for(url))
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.on_trade_executed(HOST, trade(8))
    await strategy.drain()
    got = scrape(strategy.metrics)
    assert got["dtms_client_registration_retries_total"] == 3  # 4 attempts for ticket 7
    assert got["dtms_client_outbox_depth"] == 2
