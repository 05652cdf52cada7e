"""PluginHost rules beyond single hooks: the breaker, ``on_error = "raise"``, call order,
timeouts per plugin, and what the listing shows."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from support.hostapp_plugin_doubles import Blocker, Boom, Raiser, Recorder, Sleeper, Stubborn

from hookspecs import hookimpl
from hostapp.pluginhost import BREAKER_LIMIT, PluginInfo
from hostapp.testing import T0


class Flaky:
    """is_defensive, allow_order and on_cycle raise while ``failing`` is set."""

    def __init__(self) -> None:
        self.failing = True
        self.calls = 0

    def _maybe_fail(self) -> None:
        self.calls += 1
        if self.failing:
            raise Boom("flaky")

    @hookimpl
    def is_defensive(self) -> bool:
        self._maybe_fail()
        return False

    @hookimpl
    def allow_order(self) -> None:
        self._maybe_fail()

    @hookimpl
    async def on_cycle(self) -> None:
        self._maybe_fail()


def test_breaker_trips_after_five_consecutive_failures(hostapp_factory: Any) -> None:
    flaky, steady = Flaky(), Recorder(is_defensive=False)
    host = hostapp_factory({"flaky": flaky, "steady": steady})
    assert BREAKER_LIMIT == 5
    for _ in range(4):
        assert host.plugins.is_defensive(host, 1) is True
    assert host.plugins.is_enabled("flaky")
    assert host.plugins.is_defensive(host, 1) is True  # the fifth failure trips it
    row = {r.name: r for r in host.plugins.listing()}["flaky"]
    assert row.status == "tripped"
    assert row.error is not None and row.error.startswith("breaker tripped after 5 consecutive")
    assert not host.plugins.is_enabled("flaky") and host.plugins.get("flaky") is None
    # Disabled for the rest of the run: no longer called, but still counted as defensive
    # (fail safe: a defender that cannot be asked must not say "not defended").
    assert host.plugins.is_defensive(host, 1) is True
    assert flaky.calls == 5
    assert host.plugins.names == ["steady"]


@pytest.mark.parametrize("hook", ["is_defensive", "allow_order", "on_cycle"])
async def test_a_success_resets_the_failure_count(hostapp_factory: Any, hook: str) -> None:
    flaky = Flaky()
    host = hostapp_factory({"flaky": flaky})

    async def call() -> None:
        if hook == "on_cycle":
            await host.plugins.on_cycle(host, T0)
        else:
            getattr(host.plugins, hook)(host, 1)

    for _ in range(4):
        await call()
    flaky.failing = False
    await call()
    flaky.failing = True
    for _ in range(4):
        await call()
    assert host.plugins.is_enabled("flaky")
    await call()  # the fifth in a row trips it
    assert not host.plugins.is_enabled("flaky")
    await call()  # not called any more
    assert flaky.calls == 10


@pytest.mark.parametrize("plugin", [Blocker(0.05), Stubborn(0.05)], ids=["blocks", "stubborn"])
async def test_an_async_hook_that_comes_back_late_counts_as_failed(
    hostapp_factory: Any, plugin: Any
) -> None:
    """No timer can interrupt a hook that holds the loop, nor one that catches its
    cancellation: each comes back late, and that counts as a failure, so the breaker
    stops it after five cycles instead of every cycle paying for it forever."""
    host = hostapp_factory({"late": plugin}, {"plugin": {"late": {"timeout_seconds": 0.01}}})
    await host.plugins.on_cycle(host, T0)
    (row,) = host.plugins.listing()
    assert row.error is not None and row.error.startswith("on_cycle: Overran: came back ")
    assert "after its 0.01 s deadline" in row.error
    for _ in range(BREAKER_LIMIT - 1):
        await host.plugins.on_cycle(host, T0)
    assert host.plugins.listing()[0].status == "tripped"


async def test_failures_count_across_hooks_and_timeouts(hostapp_factory: Any) -> None:
    sleeper = Sleeper()
    host = hostapp_factory({"slow": sleeper}, {"plugin": {"slow": {"timeout_seconds": 0.01}}})
    for _ in range(BREAKER_LIMIT):
        await host.plugins.on_cycle(host, T0)
    assert {r.name: r.status for r in host.plugins.listing()} == {"slow": "tripped"}
    assert host.plugins.has_impls("on_cycle") is False


async def test_raiser_everywhere_trips_but_never_breaks_the_others(hostapp_factory: Any) -> None:
    raiser, good = Raiser(), Recorder(is_defensive=False)
    host = hostapp_factory({"bad": raiser, "good": good})
    p = host.plugins
    await p.startup(host)
    for _ in range(BREAKER_LIMIT):  # five failures in a row of one hook (on_cycle) trip it
        await p.on_cycle(host, T0)
        p.is_defensive(host, 1)
    assert {r.name: r.status for r in p.listing()} == {"bad": "tripped", "good": "enabled"}
    calls = raiser.calls
    await p.on_cycle(host, T0)
    assert p.is_defensive(host, 1) is True  # a tripped defender stays "defensive"
    veto = p.allow_order(host, object())  # and a tripped guard stays closed
    assert veto == (  # why it was switched off: on_cycle's failures, not allow_order's
        "bad: switched off (breaker tripped after 5 consecutive failures of on_cycle; last: "
        "on_cycle: Boom: raiser always fails), so its allow_order vetoes (fails closed)"
    )
    assert raiser.calls == calls  # not called any more...
    await p.shutdown(host)
    assert raiser.calls == calls + 1  # ...except shutdown, so it can release what it holds
    (bad,) = [r for r in p.listing() if r.name == "bad"]
    assert bad.error is not None and bad.error.startswith("breaker tripped after 5")
    assert good.hooks_called().count("on_cycle") == BREAKER_LIMIT + 1


async def test_one_hook_failing_every_cycle_trips_though_the_others_work(
    hostapp_factory: Any,
) -> None:
    """The count is per hook: a plugin whose on_cycle fails every cycle is switched off
    although its propose_orders succeeds in between (each success reset it before)."""

    class HalfBroken:
        @hookimpl
        async def on_cycle(self) -> None:
            raise Boom("cycle")

        @hookimpl
        def propose_orders(self) -> list[Any]:
            return []

    host = hostapp_factory({"half": HalfBroken()})
    for _ in range(BREAKER_LIMIT):
        await host.plugins.on_cycle(host, T0)
        await host.plugins.propose_orders(host, "XAUUSD", [], T0)
    (info,) = host.plugins.listing()
    assert info.status == "tripped"
    assert info.error is not None and "consecutive failures of on_cycle" in info.error


async def test_a_cancelled_error_from_a_plugin_is_its_failure_not_the_runs(
    hostapp_factory: Any,
) -> None:
    class Cancels:
        @hookimpl
        async def on_cycle(self) -> None:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            future.cancel()
            await future  # raises CancelledError inside the plugin

    good = Recorder()
    host = hostapp_factory({"cancels": Cancels(), "good": good})
    await host.plugins.on_cycle(host, T0)  # does not raise
    assert good.hooks_called().count("on_cycle") == 1
    (bad,) = [i for i in host.plugins.listing() if i.name == "cancels"]
    assert bad.error is not None and "on_cycle" in bad.error
    await host.plugins.shutdown(host)
    assert "shutdown" in good.hooks_called()


async def test_on_error_raise_re_raises_the_original_exception(hostapp_factory: Any) -> None:
    host = hostapp_factory({"bad": Raiser()}, {"plugins": {"on_error": "raise"}})
    with pytest.raises(Boom):
        host.plugins.is_defensive(host, 1)
    with pytest.raises(Boom):
        host.plugins.allow_order(host, object())
    with pytest.raises(Boom):
        await host.plugins.on_cycle(host, T0)
    with pytest.raises(Boom):
        await host.plugins.propose_orders(host, "XAUUSD", [], T0)
    for _ in range(BREAKER_LIMIT):
        with pytest.raises(Boom):
            host.plugins.is_defensive(host, 1)
    assert host.plugins.is_enabled("bad")  # no breaker in raise mode: every failure surfaces


async def test_on_error_raise_re_raises_timeouts(hostapp_factory: Any) -> None:
    config = {"plugins": {"on_error": "raise"}, "plugin": {"slow": {"timeout_seconds": 0.01}}}
    host = hostapp_factory({"slow": Sleeper()}, config)
    with pytest.raises(TimeoutError):
        await host.plugins.on_cycle(host, T0)


async def test_call_order_follows_plugins_order_then_name(hostapp_factory: Any) -> None:
    seen: list[str] = []

    def plugin(name: str) -> object:
        class P:
            @hookimpl
            def propose_orders(self) -> None:
                seen.append(name)

            @hookimpl
            def is_defensive(self) -> bool:
                seen.append(name)
                return False

        return P()

    names = ["delta", "alpha", "charlie", "bravo"]
    host = hostapp_factory(
        {n: plugin(n) for n in names}, {"plugins": {"order": ["charlie", "delta"]}}
    )
    await host.plugins.propose_orders(host, "XAUUSD", [], T0)
    host.plugins.is_defensive(host, 1)
    expected = ["charlie", "delta", "alpha", "bravo"]
    assert seen == expected + expected
    assert [r.name for r in host.plugins.listing()] == expected


def test_listing_is_plain_data_and_a_copy(hostapp_factory: Any) -> None:
    host = hostapp_factory({"a": Recorder()}, {"plugins": {"disabled": []}})
    (row,) = host.plugins.listing()
    assert isinstance(row, PluginInfo)
    data = dataclasses.asdict(row)
    assert data["name"] == "a" and data["status"] == "enabled" and data["source"] == "builtin"
    assert "is_defensive" in data["hooks"] and "on_action" in data["hooks"]
    row.status = "failed"
    row.hooks.clear()
    assert host.plugins.listing()[0].status == "enabled"
    assert host.plugins.listing()[0].hooks


def test_register_twice_under_one_name_is_refused(hostapp_factory: Any) -> None:
    host = hostapp_factory({"a": Recorder()})
    with pytest.raises(ValueError, match="two plugins are named 'a'"):
        host.plugins.register("a", Recorder())


def test_same_object_under_two_names_is_rejected(hostapp_factory: Any) -> None:
    obj = Recorder()
    host = hostapp_factory({"a": obj})
    assert host.plugins.register("b", obj) is False
    row = {r.name: r for r in host.plugins.listing()}["b"]
    assert row.status == "failed" and "already registered" in (row.error or "")
    assert host.plugins.is_enabled("a")


async def test_a_tripped_defender_keeps_every_trade_defensive(hostapp_factory: Any) -> None:
    """After the breaker trips on a plugin that answers is_defensive (here through failing
    cycles: its states are stale), the exit manager must not see "not defensive"."""

    class Defender:
        failing = True

        @hookimpl
        def on_cycle(self) -> None:
            if self.failing:
                raise RuntimeError("engine down")

        @hookimpl
        def is_defensive(self, ticket: int) -> bool:
            return False

    host = hostapp_factory({"dtms": Defender(), "quiet": Recorder(is_defensive=False)})
    assert host.plugins.is_defensive(host, 7) is False
    for _ in range(BREAKER_LIMIT):
        await host.plugins.on_cycle(host, T0)
    assert {r.name: r.status for r in host.plugins.listing()}["dtms"] == "tripped"
    assert host.plugins.is_defensive(host, 7) is True
    assert host.plugins.is_defensive(host, 8) is True


def test_a_plugins_config_error_names_the_file_the_host_read(
    hostapp_factory: Any, tmp_path: Any
) -> None:
    from hookspecs import ConfigError
    from hostapp.config import config_from_dict

    class Picky:
        @hookimpl
        def configure(self) -> None:
            raise ConfigError("[plugin.picky]: unknown key 'fats'")

    host = hostapp_factory({}, configure=False)
    host.config = config_from_dict({}, path=tmp_path / "mine.toml")
    with pytest.raises(ConfigError) as caught:
        host.plugins.register("picky", Picky())
        host.plugins.configure(host)
    assert str(caught.value) == f"{tmp_path / 'mine.toml'} [plugin.picky]: unknown key 'fats'"


async def test_a_failing_hook_logs_its_traceback_once(
    hostapp_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Five failures in a row trip the breaker; five tracebacks said nothing more. A
    later episode of failures is said again, without the traceback."""
    from hostapp.failed_calls import QUIET_CALLS

    flaky = Flaky()
    host = hostapp_factory({"bad": flaky})
    with caplog.at_level("ERROR"):
        for failing in [True] * 3 + [False] * QUIET_CALLS + [True] * 2:
            flaky.failing = failing
            await host.plugins.on_cycle(host, T0)
    failed = [r for r in caplog.records if "on_cycle failed:" in r.getMessage()]
    assert [r.exc_info is not None for r in failed] == [True, False]
    assert failed[1].getMessage().endswith("(traceback logged at its first failure)")


async def test_a_hook_failing_now_and_then_is_one_line_per_episode_with_a_count(
    hostapp_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An on_cycle raising every other call never trips the breaker (each success
    clears its count of failures in a row) and printed an ERROR line per failure, 5,664
    in a replay: now its first failure, then one line with how many more, and the
    summary's note counts them."""
    from hostapp.run_notes import plugin_failure_notes

    flaky = Flaky()
    host = hostapp_factory({"bad": flaky})
    with caplog.at_level("WARNING"):
        for call in range(200):
            flaky.failing = call % 2 == 0
            await host.plugins.on_cycle(host, T0)
        failed = host.plugins.failed_calls.by_plugin()  # the run ends
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 2 and "on_cycle failed: Boom: flaky" in said[0]
    assert [r.levelname for r in caplog.records] == ["ERROR", "WARNING"]  # the end: no error
    assert said[1] == (
        "plugin bad: on_cycle until the run ended: 99 more failures in 199 calls since its "
        "first failure"
    )
    assert host.plugins.is_enabled("bad") and failed == {"bad": {"on_cycle": 100}}
    (note,) = plugin_failure_notes(host.plugins.listing(), None, failed)
    assert note.startswith(
        "plugin bad failed: on_cycle: Boom: flaky; failed calls: 100 of on_cycle"
    )
