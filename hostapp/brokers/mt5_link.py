"""The terminal's link to its trade server, watched once a live cycle.

A terminal can stay up (its IPC link answers, bars and positions read) while it has lost
its trade server: every order then fails with 10031, which says nothing of why, nor for
how long. Start-up refuses a terminal that is not connected (:mod:`.mt5_connect`); this
watch says when the connection is lost mid-run and, when it is back, how long it was
gone (docs/mt5.md, "When the terminal goes away mid-run").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outage:
    """One time the terminal was cut off from its trade server, and the cycles it lasted."""

    since: datetime
    seconds: float
    cycles: int


class TradeServerWatch:
    """Fed terminal_info's ``connected`` once a cycle; says each outage once, at its start
    and at its end, and keeps them for the run's summary."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._since: datetime | None = None  # the outage going on
        self._cycles = 0
        self.outages: list[Outage] = []

    def observe(self, connected: bool) -> None:
        now = self._now()
        if not connected:
            if self._since is None:
                self._since, self._cycles = now, 0
                log.warning(
                    "the MetaTrader 5 terminal lost its connection to the trade server: "
                    "orders fail (10031) until it is back (said again when it is)"
                )
            self._cycles += 1
            return
        if self._since is None:
            return
        outage = Outage(self._since, (now - self._since).total_seconds(), self._cycles)
        self.outages.append(outage)
        self._since = None
        log.warning(
            "the MetaTrader 5 terminal is connected to its trade server again, after %s "
            "(%d cycles)",
            _length(outage.seconds),
            outage.cycles,
        )

    @property
    def notes(self) -> list[str]:
        """For the run's summary: the outages, and one still going on at the end."""
        out: list[str] = []
        if self.outages:
            n = len(self.outages)
            total = sum(o.seconds for o in self.outages)
            longest = max(self.outages, key=lambda o: o.seconds)
            out.append(
                f"the terminal lost its trade server {n} time{'s' if n > 1 else ''}, "
                f"{_length(total)} in all (the longest {_length(longest.seconds)}, from "
                f"{longest.since.isoformat(timespec='seconds')}); orders could not reach "
                "the broker then"
            )
        if self._since is not None:
            out.append(
                "the terminal was not connected to its trade server at the end, since "
                f"{self._since.isoformat(timespec='seconds')} ({self._cycles} cycles): "
                "orders could not reach the broker"
            )
        return out


def _length(seconds: float) -> str:
    """``"42 s"``, ``"3 min 20 s"``, ``"2 h 5 min"``."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"
