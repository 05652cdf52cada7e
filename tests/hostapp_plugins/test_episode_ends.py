"""The end of an episode of a plugin's failures reads as its end, on the terminal where its
start was read (docs/architecture.md §4, "Failures said once per episode").

In a live run the count of a hook's failures came right after the breaker's "back on", as
an ERROR in the words of a failure ("on_cycle failed 4 more times, …"): a trader read a
new failure. And the terminal showed each marked line once per text: the second time a
plugin came back on after the same cool-down, in a run of weeks, its "back on" was kept
from the terminal, which had shown its "switched off". The terminal here is the handler
``hostapp run`` puts on stderr (:func:`hostapp.report_logging.setup_logging`), on a string; the
breaker's wall clock is injected, as in test_breaker_retry.py."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from hookspecs import hookimpl
from hookspecs.events import FOR_TERMINAL, FOR_TERMINAL_ONCE
from hostapp.failed_calls import QUIET_CALLS
from hostapp.logs import ONCE, TERMINAL, ForTerminal, OneLine
from hostapp.testing import T0


class Blip:
    """Its on_cycle fails while ``down``."""

    def __init__(self) -> None:
        self.down = False

    @hookimpl
    def on_cycle(self) -> None:
        if self.down:
            raise ConnectionError("network blip")


@pytest.fixture
def terminal() -> Iterator[io.StringIO]:
    """What the terminal of ``hostapp run`` shows of the host's plugin lines."""
    shown = io.StringIO()
    handler = logging.StreamHandler(shown)
    handler.setFormatter(OneLine())
    handler.setLevel(logging.WARNING)
    handler.addFilter(ForTerminal())
    log = logging.getLogger("hostapp.plugins")
    log.addHandler(handler)
    old = log.level
    log.setLevel(logging.INFO)
    try:
        yield shown
    finally:
        log.removeHandler(handler)
        log.setLevel(old)


def _said(shown: io.StringIO) -> list[str]:
    """The terminal's lines, without their time: level and message."""
    return [line.split(" ", 2)[2] for line in shown.getvalue().splitlines()]


async def test_the_count_after_back_on_reads_as_the_end_each_time_on_the_terminal(
    hostapp_factory: Any, terminal: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    blip = Blip()
    host = hostapp_factory({"blip": blip})
    plugins = host.plugins
    wall = [1000.0]
    plugins.wall = lambda: wall[0]
    plugins.retry_seconds = 300

    async def cycle() -> None:
        plugins.new_cycle()
        await plugins.on_cycle(host, T0)

    async def episode() -> None:
        """Five failures trip it; after the cool-down it answers: back on, then the
        count once it has answered QUIET_CALLS calls in a row."""
        blip.down = True
        for _ in range(5):
            await cycle()
        blip.down = False
        wall[0] += 300
        for _ in range(QUIET_CALLS):
            await cycle()

    caplog.set_level(logging.INFO, logger="hostapp.plugins")
    await episode()
    await episode()  # the same again, a week later
    ends = [r for r in caplog.records if "answers again" in r.getMessage()]
    assert len(ends) == 2 and all(r.levelname == "WARNING" for r in ends)
    assert all(getattr(r, FOR_TERMINAL, False) is True for r in ends)
    end = (
        f"WARNING hostapp.plugins: plugin blip: on_cycle answers again ({QUIET_CALLS} calls "
        f"in a row), after 4 more failures in {QUIET_CALLS + 4} calls since its first failure"
    )
    back = "WARNING hostapp.plugins: plugin blip back on after 5 min switched off (1 retry)"
    retry = (
        "WARNING hostapp.plugins: plugin blip: switched back on to try again after 5 min "
        "switched off (retry 1; its first failure switches it off again)"
    )
    said = _said(terminal)
    assert said[2:5] == [retry, back, end], said
    assert said[7:] == [retry, back, end], said  # each time: not kept as said before
    assert said[0] == "ERROR hostapp.plugins: plugin blip: on_cycle failed: ConnectionError: "\
        "network blip (traceback in hostapp.log)"  # fmt: skip


async def test_failures_still_counted_when_the_run_ends_are_said_as_its_end(
    hostapp_factory: Any, terminal: io.StringIO
) -> None:
    blip = Blip()
    host = hostapp_factory({"blip": blip})
    for down in [True, False, True, True, False, False]:
        blip.down = down
        await host.plugins.on_cycle(host, T0)
    host.plugins.failed_calls.end_all()  # the run ends
    assert _said(terminal)[1:] == [
        "WARNING hostapp.plugins: plugin blip: on_cycle until the run ended: 2 more failures "
        "in 5 calls since its first failure"
    ]


def test_the_terminal_shows_an_end_each_time_and_a_load_warning_once() -> None:
    """A plugin's oddity found as it loads is found again by each run of an A/B (said
    once); the end of an episode may come twice in the same words (said each time)."""
    shown = io.StringIO()
    handler = logging.StreamHandler(shown)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(ForTerminal())
    log = logging.getLogger("test_episode_ends.terminal")
    log.addHandler(handler)
    log.propagate = False
    try:
        for _ in range(2):
            log.warning(
                "plugin odd: [plugin.odd]: key(s) limit checked by no one", extra={ONCE: True}
            )
            # a plugin's own, marked with the contract's name (it imports no hostapp)
            log.warning("odd: no holidays file, trading every day", extra={FOR_TERMINAL_ONCE: True})
            log.warning(
                "plugin blip back on after 5 min switched off (1 retry)", extra={TERMINAL: True}
            )
            log.error("plugin blip: on_cycle failed: boom")
            log.warning("plugin blip: sync on_cycle took 2.00 s")  # the log's alone
    finally:
        log.removeHandler(handler)
    assert shown.getvalue().splitlines() == [
        "WARNING plugin odd: [plugin.odd]: key(s) limit checked by no one",
        "WARNING odd: no holidays file, trading every day",
        "WARNING plugin blip back on after 5 min switched off (1 retry)",
        "ERROR plugin blip: on_cycle failed: boom",
        "WARNING plugin blip back on after 5 min switched off (1 retry)",
        "ERROR plugin blip: on_cycle failed: boom",
    ]
