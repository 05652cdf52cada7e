"""A live run's breaker tries a tripped plugin again (hostapp/breaker.py): after
``[host] breaker_retry_seconds`` of the wall clock, doubled after each retry that fails,
at most an hour; a retry's first failure switches it off again, and a cycle in which its
hooks answer ends the episode. A replay's (``retry_seconds`` 0) stays off for good. The
wall clock is injected, so the arithmetic is checked to the second without sleeping."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hookspecs import ConfigError, hookimpl
from hostapp.breaker import LONGEST_WAIT, cool_down
from hostapp.config import config_from_dict
from hostapp.durations import duration_text
from hostapp.run_notes import plugin_failure_notes
from hostapp.testing import T0


class Blip:
    """on_cycle and is_defensive fail while ``down``; is_defensive answers False when up."""

    def __init__(self) -> None:
        self.down = True
        self.calls = 0

    @hookimpl
    def on_cycle(self) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionError("network blip")

    @hookimpl
    def is_defensive(self) -> bool:
        if self.down:
            raise ConnectionError("network blip")
        return False


def test_the_cool_down_doubles_up_to_an_hour() -> None:
    assert [cool_down(300, n) for n in range(6)] == [300, 600, 1200, 2400, 3600, 3600]
    assert cool_down(1, 5) == 32 and cool_down(1, 10**6) == LONGEST_WAIT == 3600
    assert cool_down(7200, 0) == cool_down(7200, 4) == 7200  # longer than an hour: as set
    assert [duration_text(s) for s in (1, 59.6, 60, 299, 3600, 5400)] == [
        "1 s", "60 s", "60 s", "4 min", "1 h", "1 h 30 min",
    ]  # fmt: skip


class _Run:
    """A live run's PluginHost on an injected wall clock, cycle by cycle."""

    def __init__(self, host: Any, retry_seconds: float) -> None:
        self.host, self.plugins = host, host.plugins
        self.wall = 1000.0
        self.plugins.wall = lambda: self.wall
        self.plugins.retry_seconds = retry_seconds

    async def cycle(self, at: float | None = None) -> None:
        if at is not None:
            self.wall = at
        self.plugins.new_cycle()
        await self.plugins.on_cycle(self.host, T0)

    def entry(self) -> dict[str, Any]:
        (entry,) = self.plugins.tripped()
        return entry

    def status(self) -> str:
        return {r.name: r.status for r in self.plugins.listing()}["blip"]


async def test_a_tripped_plugin_is_retried_doubling_and_back_on_when_it_answers(
    hostapp_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    blip = Blip()
    run = _Run(hostapp_factory({"blip": blip}), retry_seconds=300)
    caplog.set_level(logging.INFO, logger="hostapp.plugins")
    for _ in range(5):
        await run.cycle()
    assert run.status() == "tripped" and blip.calls == 5
    assert run.plugins.is_defensive(run.host, 1) is True  # off: its fail-safe answers
    entry = run.entry()
    due = datetime.fromisoformat(entry["retry_at"])
    assert abs(due - (datetime.now(UTC) + timedelta(seconds=300))) < timedelta(seconds=5)
    assert {k: entry[k] for k in ("trips", "retries", "on_trial", "back_on")} == {
        "trips": 1, "retries": 0, "on_trial": False, "back_on": False,
    }  # fmt: skip
    tripped_at = 1000.0  # the wall clock of the fifth failure
    # Each retry is due its cool-down after the trip before it; each fails once.
    for retry, wait in enumerate([300, 600, 1200, 2400, 3600, 3600], start=1):
        await run.cycle(tripped_at + wait - 1)
        assert run.status() == "tripped" and blip.calls == 5 + retry - 1, retry
        await run.cycle(tripped_at + wait)
        assert run.status() == "tripped" and blip.calls == 5 + retry, retry  # one failure
        tripped_at += wait
        assert run.entry()["trips"] == 1 + retry and run.entry()["retries"] == retry
    said = [r.getMessage() for r in caplog.records if r.name == "hostapp.plugins"]
    assert said[1].startswith(
        "plugin blip switched off: breaker tripped after 5 consecutive failures of on_cycle; "
        "last: on_cycle: ConnectionError: network blip; tried again in 5 min"
    )
    failed = [s for s in said if "failed (" in s]
    assert [s.rsplit("tried again in ", 1)[1] for s in failed] == [
        "10 min", "20 min", "40 min", "1 h", "1 h", "1 h",
    ]  # fmt: skip
    assert failed[0] == (
        "plugin blip: retry 1 failed (on_cycle: ConnectionError: network blip): switched "
        "off again, tried again in 10 min"
    )
    tries = [s for s in said if "switched back on to try again" in s]
    assert len(tries) == 6 and tries[0].startswith(
        "plugin blip: switched back on to try again after 5 min switched off (retry 1;"
    )

    blip.down = False  # the network is back
    await run.cycle(tripped_at + 3600)  # retry 7: its on_cycle answers
    assert run.status() == "enabled" and run.entry()["on_trial"] is True
    assert run.plugins.is_defensive(run.host, 1) is False  # asked again, answers itself
    await run.cycle()  # a cycle in which its hooks answered is over: back on
    back = caplog.records[-1].getMessage()
    off = duration_text(tripped_at + 3600 - 1000.0)  # since the trip, by the wall clock
    assert off == "4 h 15 min"  # 5 + 10 + 20 + 40 min + 3 × 1 h
    assert back == f"plugin blip back on after {off} switched off (7 retries)"
    entry = run.entry()
    assert entry["back_on"] is True and entry["retry_at"] is None and entry["trips"] == 7
    assert entry["why"].startswith("breaker tripped again at retry 6: on_cycle: Connection")

    # Back on, it takes five failures in a row again, and a new episode starts at 5 min.
    blip.down = True
    for _ in range(4):
        await run.cycle()
    assert run.status() == "enabled"
    await run.cycle()
    assert run.status() == "tripped" and run.entry()["trips"] == 8
    assert (
        caplog.records[-1]
        .getMessage()
        .endswith("tried again in 5 min ([host] breaker_retry_seconds)")
    )


async def test_a_retry_fails_at_the_first_failure_of_any_of_its_hooks(
    hostapp_factory: Any,
) -> None:
    blip = Blip()
    run = _Run(hostapp_factory({"blip": blip}), retry_seconds=60)
    for _ in range(5):
        await run.cycle()
    blip.down = False
    await run.cycle(1060)  # on trial; its on_cycle answered
    assert run.status() == "enabled"
    blip.down = True
    assert run.plugins.is_defensive(run.host, 1) is True  # fails: off again at once
    assert run.status() == "tripped"
    entry = run.entry()
    assert entry["why"] == (
        "breaker tripped again at retry 1: is_defensive: ConnectionError: network blip"
    )
    await run.cycle(1060 + 119)
    assert run.status() == "tripped"  # the wait doubled: 120 s
    await run.cycle(1060 + 120)
    assert run.entry()["retries"] == 2


async def test_a_replay_switches_a_tripped_plugin_off_for_the_rest_of_the_run(
    hostapp_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    blip = Blip()
    run = _Run(hostapp_factory({"blip": blip}), retry_seconds=0)
    for _ in range(5):
        await run.cycle()
    blip.down = False
    for hours in range(1, 50):
        await run.cycle(1000 + hours * 3600)
    assert run.status() == "tripped" and blip.calls == 5
    assert run.entry() == {
        "plugin": "blip",
        "at": None,  # the host of this test has no clock for the breaker
        "why": "breaker tripped after 5 consecutive failures of on_cycle; last: on_cycle: "
        "ConnectionError: network blip",
    }
    assert any("disabled for the rest of the run" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("bad", [-1, "300", float("nan"), 86_401, True])
def test_breaker_retry_seconds_is_checked_like_the_other_host_keys(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict({"host": {"breaker_retry_seconds": bad}})
    assert str(info.value).startswith("plugins.toml [host]: key 'breaker_retry_seconds': ")
    assert "\n" not in str(info.value)
    assert config_from_dict({"host": {"breaker_retry_seconds": 0}}).host.breaker_retry_seconds == 0
    assert config_from_dict({}).host.breaker_retry_seconds == 300


def test_the_notes_say_where_a_retried_plugin_stands() -> None:
    from hostapp.hookcalls import PluginInfo

    guard = PluginInfo("guard", None, None, "entry point", ["allow_order"], "tripped", "x")
    back = PluginInfo("dfd", None, None, "entry point", ["is_defensive"], "enabled", "y")
    base = {"at": "2026-03-02T10:05:00+00:00", "why": "breaker tripped after 5 …"}
    tripped = {
        "guard": {**base, "trips": 3, "retries": 2, "on_trial": False, "back_on": False,
                  "retry_at": "2026-03-02T10:25:00+00:00"},
        "dfd": {**base, "trips": 1, "retries": 1, "on_trial": False, "back_on": True,
                "retry_at": None},
    }  # fmt: skip
    off, on = plugin_failure_notes([guard, back], None, None, tripped)
    assert off.startswith(
        "plugin guard was switched off 3 times (the last at 2026-03-02 10:05:00 UTC: breaker "
        "tripped after 5 …); off at the end after 2 retries, the next due at 2026-03-02 "
        "10:25:00 UTC by the wall clock; its allow_order now vetoes every entry"
    )
    assert on == (
        "plugin dfd was switched off 1 time (the last at 2026-03-02 10:05:00 UTC: breaker "
        "tripped after 5 …) and is back on after 1 retry (hostapp.log says each episode of "
        "failures)"
    )


class Guard:
    """Only is_defensive, failing while ``down``: called only when someone asks."""

    def __init__(self) -> None:
        self.down = True

    @hookimpl
    def is_defensive(self) -> bool:
        if self.down:
            raise ConnectionError("network blip")
        return False


async def test_a_retry_whose_hooks_are_not_called_is_back_on_after_a_cool_down(
    hostapp_factory: Any,
) -> None:
    """A plugin whose hooks are not called during its retry (a guard with nothing to
    judge) is back on once a cool-down passed without a failure: it does not stay on
    trial, one failure from off, for hours."""
    run = _Run(hostapp_factory({"blip": Guard()}), retry_seconds=60)
    for _ in range(5):
        assert run.plugins.is_defensive(run.host, 1) is True  # failed: fail-safe
    assert run.status() == "tripped"
    await run.cycle(1060)  # the retry begins; nobody asks it anything
    assert run.status() == "enabled" and run.entry()["on_trial"] is True
    await run.cycle(1090)  # half a cool-down on trial
    assert run.entry()["on_trial"] is True
    await run.cycle(1120)  # a cool-down on trial without a failure: back on
    assert run.entry()["back_on"] is True and run.entry()["on_trial"] is False
