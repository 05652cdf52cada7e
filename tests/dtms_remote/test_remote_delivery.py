"""Registrations through the outbox, against a real loopback server with injected faults."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import pytest
from support.fake_dtms_server import HOST, Clock, FakeDtms, Sleeps, trade

from dtms_plugin.remote import RemoteStrategy
from dtms_plugin.settings import DtmsSettings
from dtms_plugin.store import Store
from hookspecs import OrderRequest

Start = Callable[..., Any]
Settings = Callable[..., DtmsSettings]


async def test_registration_is_posted_with_the_contract_fields(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    strategy: RemoteStrategy = await started(settings_for(fake.url))
    sold = trade(7, direction="sell", stop_loss=None, magic=777, comment="grid bot")
    await strategy.on_trade_executed(HOST, sold)
    await strategy.drain()
    assert fake.registered[7] == {
        "ticket": 7,
        "symbol": "XAUUSD",
        "direction": "sell",
        "entry": 2000.0,
        "volume": 0.1,
        "stop_loss": None,
        "take_profit": 2020.0,
        "magic": 777,  # kept with the trade: its trade_info shows them
        "comment": "grid bot",
        # the broker's open time: delivered late (the server was down), a registration
        # dated by the server's clock made the later close a 409, dropped with its outcome
        "opened_at": sold.opened_at.isoformat(),
        # a host's own registration: it does not undo an operator's DELETE (docs/client.md)
        "automatic": True,
    }
    assert strategy.store.outbox_len() == 0
    assert fake.auth_headers == [None]


async def test_a_positions_comment_is_sent_without_control_characters(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    """The server refuses a comment with a control character (docs/client.md): the
    broker's comment of a position must not keep it from being registered, and defended."""
    strategy: RemoteStrategy = await started(settings_for(fake.url))
    await strategy.on_trade_executed(HOST, trade(7, comment="grid\x00 bot\n\x9b"))
    await strategy.drain()
    assert fake.registered[7]["comment"] == "grid bot"


async def test_bearer_token_from_the_named_env_var(
    fake: FakeDtms, settings_for: Settings, started: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DTMS_TEST_TOKEN", "s3cret")
    fake.token = "s3cret"
    strategy = await started(settings_for(fake.url, token_env="DTMS_TEST_TOKEN"))
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.drain()
    assert fake.auth_headers == ["Bearer s3cret"]
    assert fake.enable_ok[7] == 1


async def test_on_trade_executed_does_not_wait_for_the_network(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    strategy = await started(settings_for(fake.url))
    fake.stall("enable", 1, seconds=0.3)
    await strategy.on_trade_executed(HOST, trade(7))
    # Returned with the registration durable but not yet answered by the server.
    assert [t for t, _ in strategy.store.outbox_items()] == [7]
    assert fake.enable_ok[7] == 0
    await strategy.drain()
    assert fake.enable_ok[7] == 1


async def test_503_twice_then_success_backs_off_1_then_2_seconds_plus_jitter(
    fake: FakeDtms, settings_for: Settings, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    sleeps = Sleeps()
    fake.fail("enable", 2, status=503, message="engine warming up")
    strategy = await started(settings_for(fake.url), sleep=sleeps, rand=lambda: 0.4)
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.drain()
    assert sleeps.delays == pytest.approx([1.0 + 0.2, 2.0 + 0.2])
    assert fake.hits["enable"] == 3
    assert fake.enable_ok[7] == 1
    assert strategy.store.outbox_len() == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("ticket 7" in m and "503" in m and "attempt 1/4" in m for m in warnings)


async def test_timeout_is_retried(fake: FakeDtms, settings_for: Settings, started: Start) -> None:
    sleeps = Sleeps()
    fake.stall("enable", 1, seconds=2.0)
    strategy = await started(settings_for(fake.url, register_timeout_seconds=0.2), sleep=sleeps)
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.drain()
    assert len(sleeps.delays) == 1
    assert fake.enable_ok[7] == 1
    assert strategy.store.outbox_len() == 0


async def test_a_batch_registered_but_answered_too_late_is_sent_again_and_taken_once(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    """The server registered the batch, its answer came after the client's timeout: the
    outbox keeps the entries and sends them again, and the server (idempotent by ticket)
    answers "already registered": delivered, registered once."""
    fake.stall("batch", 1, seconds=1.0)
    settings = settings_for(fake.url, register_timeout_seconds=0.2)
    strategy = await started(settings, sleep=Sleeps())
    for ticket in (7, 8):
        await strategy.on_trade_executed(HOST, trade(ticket))
    await strategy.drain()  # the first pass: no answer in time
    await asyncio.sleep(1.0)  # meanwhile the server registered them
    assert set(fake.registered) == {7, 8}
    await strategy.on_cycle(HOST, strategy._now())
    await strategy.drain()
    assert strategy.store.outbox_len() == 0
    assert len(fake.registered) == 2 and fake.hits["batch"] >= 2


async def test_dropped_connection_is_retried(
    fake: FakeDtms, settings_for: Settings, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    sleeps = Sleeps()
    fake.drop("enable", 2)
    strategy = await started(settings_for(fake.url), sleep=sleeps)
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.drain()
    assert fake.hits["enable"] == 3
    assert len(sleeps.delays) == 2
    assert fake.enable_ok[7] == 1
    assert any("Disconnected" in r.getMessage() for r in caplog.records)


async def test_400_is_not_retried_and_logged_with_the_servers_message(
    fake: FakeDtms, settings_for: Settings, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    sleeps = Sleeps()
    fake.fail("enable", 1, status=400, message="field 'volume': must be > 0")
    strategy = await started(settings_for(fake.url), sleep=sleeps)
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.on_trade_executed(HOST, trade(8))
    await strategy.drain()
    assert sleeps.delays == []
    assert fake.hits["enable"] == 2  # 7 once (refused), 8 once (registered)
    assert 7 not in fake.registered and fake.enable_ok[8] == 1
    assert strategy.store.outbox_len() == 0  # dropped as undeliverable
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(
        "ticket 7" in m
        and "400" in m
        and "field 'volume': must be > 0" in m
        and "dropped from the outbox as undeliverable" in m
        for m in errors
    )


async def test_bad_token_keeps_the_registration(
    fake: FakeDtms, settings_for: Settings, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    fake.token = "expected"
    strategy = await started(settings_for(fake.url))
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.drain()
    assert (fake.hits["batch"], fake.hits["enable"]) == (1, 0)  # no retry storm
    assert strategy.store.outbox_len() == 1
    assert any("401" in r.getMessage() and "token" in r.getMessage() for r in caplog.records)


def _said(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What reached WARNING or above: what a user sees on the console."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def test_server_down_keeps_the_outbox_and_a_later_cycle_delivers(
    fake: FakeDtms, settings_for: Settings, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """Down from the start: said once, at start-up, naming the server; the cycles after
    it say nothing more; the report says it in words; once back, one line and the
    outbox goes out."""
    url = fake.url
    await fake.stop()
    sleeps = Sleeps()
    strategy = await started(settings_for(url), sleep=sleeps, rand=lambda: 0.0)
    assert len(_said(caplog)) == 1
    assert f"DTMS server {url} is not answering (at start-up, GET /health" in _said(caplog)[0]
    await strategy.on_trade_executed(HOST, trade(7))
    await strategy.on_trade_executed(HOST, trade(8))
    await strategy.drain()
    assert sleeps.delays == [1.0, 2.0, 4.0]  # one batch tried 4 times, then the pass stops
    assert [t for t, _ in strategy.store.outbox_items()] == [7, 8]
    for _ in range(3):
        await strategy.on_cycle(HOST, strategy._now())
        await strategy.drain()
    assert len(_said(caplog)) == 1  # the episode was said once
    note = strategy.report()["note"]
    assert f"DTMS server {url} not answering since" in note
    assert "2 outbox entries not delivered" in note

    await fake.start()  # back, on the same port
    await strategy.on_cycle(HOST, strategy._now())
    await strategy.drain()
    assert strategy.store.outbox_len() == 0
    assert fake.enable_ok == {7: 1, 8: 1}
    back = [m for m in _said(caplog) if "answers again" in m]
    assert len(back) == 1 and "after 5 failed tries" in back[0]  # start-up + 4 passes
    assert "stopped answering once (5 failed tries)" in strategy.report()["note"]


async def test_a_server_that_stops_answering_is_said_once_per_episode(
    fake: FakeDtms, settings_for: Settings, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """Up at start-up, then down: the first failing pass says what failed (its tickets)
    and that the server is not answering; its retries and later cycles add nothing until
    it answers."""
    strategy = await started(settings_for(fake.url), rand=lambda: 0.0)
    await strategy.on_trade_executed(HOST, trade(1))
    await strategy.drain()
    assert fake.enable_ok == {1: 1} and _said(caplog) == []
    await fake.stop()
    await strategy.on_trade_executed(HOST, trade(2))
    await strategy.on_cycle(HOST, strategy._now())
    await strategy.drain()
    first = _said(caplog)
    # two lines, not six: the first attempt (its ticket, why), then the server is down
    assert len(first) == 2, first
    assert "ticket 2" in first[0] and "(attempt 1/4)" in first[0]
    assert "is not answering (1 outbox entries kept" in first[1]
    for ticket in (3, 4, 5):
        await strategy.on_trade_executed(HOST, trade(ticket))
        await strategy.on_cycle(HOST, strategy._now())
        await strategy.drain()
    assert _said(caplog) == first  # nothing more while it lasts
    assert strategy.report()["server_episodes"] == 1

    await fake.start()
    await strategy.on_cycle(HOST, strategy._now())
    await strategy.drain()
    assert set(fake.enable_ok) == {1, 2, 3, 4, 5}
    assert sum("answers again" in m for m in _said(caplog)) == 1


async def test_a_server_that_goes_away_while_no_trade_is_open_is_said_then(
    fake: FakeDtms, settings_for: Settings, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    """With nothing to send nor ask, the host once heard of the server only when its next
    trade opened; now an idle cycle asks ``GET /dtms/status`` (for the account mode, which
    no batch refresh brings), once every ``fresh_seconds`` at most (10 s by default: the
    route reads every record on the server)."""
    clock = Clock()
    strategy = await started(settings_for(fake.url), clock=clock)
    asked = fake.status_asked  # the start-up check
    await strategy.on_cycle(HOST, clock())
    assert fake.status_asked == asked + 1  # the first idle cycle
    clock.advance(9.5)
    await strategy.on_cycle(HOST, clock())
    assert fake.status_asked == asked + 1  # not twice within fresh_seconds
    await fake.stop()
    clock.advance(1)
    await strategy.on_cycle(HOST, clock())
    (line,) = _said(caplog)
    assert f"DTMS server {fake.url} is not answering (GET /dtms/status: " in line
    await fake.start()
    clock.advance(10)
    await strategy.on_cycle(HOST, clock())
    assert any("answers again" in m for m in _said(caplog))


async def test_restart_resends_pending_exactly_once(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    url = fake.url
    await fake.stop()
    settings = settings_for(url)
    first = RemoteStrategy(settings, sleep=Sleeps())
    await first.startup(HOST)
    for ticket in (1, 2, 3):
        await first.on_trade_executed(HOST, trade(ticket))
    await first.drain()
    await first.shutdown(HOST)
    with Store(settings.state_dir) as store:
        assert [t for t, _ in store.outbox_items()] == [1, 2, 3]

    await fake.start()
    second: RemoteStrategy = await started(settings)
    await second.drain()
    assert fake.enable_ok == {1: 1, 2: 1, 3: 1}
    assert second.store.outbox_len() == 0
    await second.on_cycle(HOST, second._now())
    await second.drain()
    assert fake.enable_ok == {1: 1, 2: 1, 3: 1}  # nothing sent twice


async def test_thousand_registrations_while_down_each_registered_once(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    url = fake.url
    await fake.stop()
    strategy = await started(settings_for(url))
    for ticket in range(1, 1001):
        await strategy.on_trade_executed(HOST, trade(ticket))
    await strategy.drain()
    assert strategy.store.outbox_len() == 1000

    await fake.start()
    await strategy.on_cycle(HOST, strategy._now())
    await strategy.drain()
    assert strategy.store.outbox_len() == 0
    assert set(fake.enable_ok) == set(range(1, 1001))
    assert set(fake.enable_ok.values()) == {1}


async def test_cycles_that_wait_for_a_slow_outbox_are_logged_once_and_counted(
    fake: FakeDtms, settings_for: Settings, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    fake.stall("batch", 1, seconds=0.5)
    strategy = await started(settings_for(fake.url), flush_wait_seconds=0.01)
    await strategy.on_trade_executed(HOST, trade(7))
    with caplog.at_level(logging.INFO):
        for _ in range(5):
            await strategy.on_cycle(HOST, strategy._now())
        await strategy.drain()
        await strategy.on_cycle(HOST, strategy._now())
    said = [r.getMessage() for r in caplog.records if "outbox flush" in r.getMessage()]
    assert said == [
        "DTMS outbox flush still running (1 pending); refreshing anyway",
        "DTMS outbox flushed, after 5 cycles that waited for it",
    ]


async def test_a_wrong_token_is_said_at_start_up_once_and_in_the_report(
    fake: FakeDtms,
    settings_for: Settings,
    started: Start,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``/health`` wants no token, so it cannot tell; the start-up check asks a route that
    does. Then the entries the server refuses are not one ERROR each."""
    monkeypatch.setenv("DTMS_TEST_TOKEN", "wrong")
    fake.token = "right"
    with caplog.at_level(logging.DEBUG):
        strategy = await started(settings_for(fake.url, token_env="DTMS_TEST_TOKEN"))
        for ticket in range(1, 6):
            await strategy.on_trade_executed(HOST, trade(ticket))
        await strategy.drain()
        await strategy.drain()
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"DTMS server {fake.url} refuses this host (at start-up, GET ")
    assert "answered 401: invalid token; check the token in DTMS_TEST_TOKEN" in errors[0]
    report = strategy.report()
    assert report["note"].startswith(f"DTMS server {fake.url} refusing this host (at start-up")
    assert report["outbox_pending"] == 5 and fake.enable_ok == {}
    await strategy.on_trade_closed(HOST, trade(1, profit=-40.0), "stop_loss")
    await strategy.drain()
    veto = strategy.allow_order(HOST, OrderRequest("XAUUSD", "buy", 0.1))
    # refused, not "unreachable": the server answers; this host's token is wrong
    assert veto is not None and veto.reason.startswith(
        "DTMS server refusing this host (at start-up"
    ), veto
    assert "with 1 close(s) it has not counted" in veto.reason


async def test_one_entry_the_server_keeps_refusing_does_not_hold_back_the_others(
    fake: FakeDtms, settings_for: Settings, started: Start
) -> None:
    """A replica answers 503 to one close (it cannot take it) while it takes the rest:
    that entry stays for the next pass, and the pass goes on; the server is not "down"."""
    strategy = await started(settings_for(fake.url))
    for ticket in (1, 2):
        await strategy.on_trade_executed(HOST, trade(ticket))
    await strategy.drain()
    fake.fail("closed", 4, status=503, message="the trade is managed by another replica")
    for ticket in (1, 2):  # the oldest goes alone first and walks its four tries
        await strategy.on_trade_closed(HOST, trade(ticket, profit=1.0), "take_profit")
    await strategy.drain()
    assert 2 in fake.closed and 1 not in fake.closed
    assert [t for t, _ in strategy.store.outbox_items()] == [1]
    note = strategy.report()["note"]  # answered all along: never "down"; where DTMS acted
    assert note == (
        f"DTMS managed the 2 trades on the server at {fake.url}: its actions are there "
        "(`dtms actions`), not in this host's action rows"
    )
    await strategy.drain()  # the next pass: no fault left, delivered
    assert 1 in fake.closed and strategy.store.outbox_len() == 0
