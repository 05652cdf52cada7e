"""How often a live loop asks a broker that went away to reconnect: at skipped cycles
1, 2, 4, 8… and every 64th after, and never more than two minutes apart. Every 64th
cycle is 32 minutes at the default 30 s cycles: a terminal restarted in the meantime
stayed unused, its positions unwatched."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from hookspecs import BrokerError
from hostapp.loop_drivers import RECONNECT_AT_LEAST_EVERY, LoopDrivers
from hostapp.loop_stats import LoopStats


@dataclass
class Terminal:
    """A broker that can reconnect; ``back_at``: the try that finds it running."""

    back_at: int = 10**9
    tries: list[float] = field(default_factory=list)
    now: float = 0.0

    def reconnect(self) -> None:
        self.tries.append(self.now)
        if len(self.tries) < self.back_at:
            raise BrokerError("terminal not running")


@dataclass
class Host:
    broker: Terminal
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("test.reconnect"))


class Loop(LoopDrivers):
    def __init__(self, terminal: Terminal) -> None:
        self.host = Host(terminal)  # type: ignore[assignment]
        self.stats = LoopStats()
        self._wall = lambda: terminal.now  # type: ignore[method-assign, assignment]


def _skip(cycles: int, every: float, terminal: Terminal) -> list[int]:
    """Skip ``cycles`` cycles ``every`` seconds apart; the cycles that tried."""
    loop = Loop(terminal)
    tried: list[int] = []
    for n in range(1, cycles + 1):
        before = len(terminal.tries)
        loop._skipped(n, BrokerError("no IPC connection"))
        if len(terminal.tries) > before:
            tried.append(n)
        terminal.now += every
    return tried


def test_fast_cycles_keep_the_doubling_cadence() -> None:
    """1 s cycles: two minutes are 120 cycles, more than the doubling's gaps up to 64."""
    tried = _skip(200, 1.0, Terminal())
    assert tried == [1, 2, 4, 8, 16, 32, 64, 128, 192]
    assert RECONNECT_AT_LEAST_EVERY == 120.0


def test_slow_cycles_try_at_least_every_two_minutes() -> None:
    terminal = Terminal()
    tried = _skip(80, 30.0, terminal)
    assert tried[:5] == [1, 2, 4, 8, 12]  # from the 8th, every 4th: 120 s of 30 s cycles
    gaps = [b - a for a, b in zip(terminal.tries, terminal.tries[1:], strict=False)]
    assert max(gaps) == RECONNECT_AT_LEAST_EVERY
