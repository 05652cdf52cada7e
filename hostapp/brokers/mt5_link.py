"""The terminal's link to its trade server and its Algo Trading button, watched once a
live cycle.

A terminal can stay up (its IPC link answers, bars and positions read) while it has lost
its trade server: every order then fails with 10031, which says nothing of why, nor for
how long. Or someone turns its Algo Trading button off: every order then fails with
10027, a plain refusal. Start-up refuses a terminal in either state (:mod:`.mt5_connect`);
these watches say when it happens mid-run, once, with what to do, and when it is over,
how long it lasted (docs/mt5.md, "When the terminal goes away mid-run").
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
            "(%d cycle%s)",
            _length(outage.seconds),
            outage.cycles,
            "" if outage.cycles == 1 else "s",
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
                f"{self._since.isoformat(timespec='seconds')} ({self._cycles} "
                f"cycle{'' if self._cycles == 1 else 's'}): "
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


#: What a trader does about 10027 (the start-up check says the same, :mod:`.mt5_connect`).
ALGO_TRADING_HINT = (
    'press the "Algo Trading" button in the terminal\'s toolbar (Tools > Options > Expert '
    "Advisors > Allow algorithmic trading)"
)

#: What 10027 means while ``terminal_info().trade_allowed`` says the button is on: not
#: the button, so pressing it is no advice; what else refuses algorithmic trading.
BUTTON_ON_HINT = (
    "the terminal's Algo Trading button is on, so it is not the button: check Tools > "
    'Options > Expert Advisors ("Disable algorithmic trading via external Python API" '
    "unticked) and whether the account or another program disabled it for this connection"
)


#: The summary's words for the episodes in which the button was on all along.
ON_BUT_REFUSED = "orders were refused with 10027 while the terminal's Algo Trading button was on"


@dataclass(frozen=True, slots=True)
class AlgoTradingOff:
    """One time orders were refused with 10027, and how many meanwhile; ``button``: the
    terminal showed its Algo Trading button off (else it said the button was on)."""

    since: datetime
    seconds: float
    refused: int
    button: bool = True


class AlgoTradingWatch:
    """The Algo Trading button: ``terminal_info().trade_allowed`` once a cycle, and every
    order the terminal refused with 10027 (``TRADE_RETCODE_CLIENT_DISABLES_AT``), with
    the button as the terminal showed it then. An episode starts at the first of either
    and is said once, with what to do: press the button when it is off; when it is on,
    the button is not the cause, and the words say so. An episode the button showed ends
    when a cycle sees it on again; any episode ends when an order goes through."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._since: datetime | None = None  # the episode going on
        self._seen_off = False  # terminal_info said so during it
        self._button_said = False  # it was said that the button is on during it
        self._refused = 0
        self.episodes: list[AlgoTradingOff] = []

    def observe(self, allowed: bool) -> None:
        if not allowed:
            self._start()
            self._seen_off = True
        elif self._seen_off:
            self._end()

    def refused(self, button_on: bool | None = None) -> str:
        """The terminal refused an order with 10027 while its button was ``button_on``
        (``None``: it did not say); returns the words the order's result ends with."""
        if button_on:
            self._seen_off = False  # whatever a cycle saw before, it is on now
            if self._since is None:
                self._since, self._refused = self._now(), 0
            if not self._button_said:
                self._button_said = True
                log.warning(
                    "orders are refused with 10027 (AutoTrading disabled by client) while "
                    "%s (said again when an order goes through)",
                    BUTTON_ON_HINT,
                )
            self._refused += 1
            return "; the terminal's Algo Trading button is on: not the button"
        self._start()
        self._seen_off = self._seen_off or button_on is False
        self._refused += 1
        return "; AutoTrading is off in the terminal"

    def went_through(self) -> None:
        """An order was executed (or a stop change made): trading is on."""
        if self._since is not None:
            self._end()

    def _start(self) -> None:
        if self._since is not None:
            return
        self._since, self._seen_off, self._refused = self._now(), False, 0
        self._button_said = False
        log.warning(
            "AutoTrading is off in the MetaTrader 5 terminal: every order fails with 10027 "
            "until it is on again; %s (said again when it is)",
            ALGO_TRADING_HINT,
        )

    def _end(self) -> None:
        if self._since is None:
            return
        seconds = (self._now() - self._since).total_seconds()
        button = not self._button_said
        self.episodes.append(AlgoTradingOff(self._since, seconds, self._refused, button))
        self._since, self._seen_off, self._button_said = None, False, False
        said = (
            "AutoTrading is on again in the MetaTrader 5 terminal"
            if button
            else ("orders go through the MetaTrader 5 terminal again")
        )
        log.warning(
            "%s, after %s (%s refused with 10027 meanwhile)",
            said,
            _length(seconds),
            _refusals(self._refused),
        )

    @property
    def notes(self) -> list[str]:
        """For the run's summary: the episodes, and one still going on at the end."""
        out: list[str] = []
        for button in (True, False):
            episodes = [e for e in self.episodes if e.button is button]
            if not episodes:
                continue
            n = len(episodes)
            total = sum(e.seconds for e in episodes)
            refused = sum(e.refused for e in episodes)
            what = ON_BUT_REFUSED if not button else "AutoTrading was off in the terminal"
            out.append(
                f"{what} {n} time{'s' if n > 1 else ''}, {_length(total)} in all: "
                f"{_refusals(refused)} {'was' if refused == 1 else 'were'} refused with 10027 "
                "meanwhile"
            )
        if self._since is not None:
            since = self._since.isoformat(timespec="seconds")
            so_far = f"{_refusals(self._refused)} refused with 10027"
            if self._button_said:
                out.append(
                    f"orders were still refused with 10027 at the end, since {since}: "
                    f"{so_far} since; {BUTTON_ON_HINT}"
                )
            else:
                out.append(
                    f"AutoTrading was still off in the terminal at the end, since {since}: "
                    f"{so_far} since; {ALGO_TRADING_HINT}"
                )
        return out


def _refusals(n: int) -> str:
    """``"1 order or action"``, ``"3 orders and actions"``."""
    return f"{n} order or action" if n == 1 else f"{n} orders and actions"
