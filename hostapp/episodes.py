"""A problem that repeats, said once per episode with a count (docs/architecture.md §6).

A strategy may propose an order every bar while a guard vetoes every one of them (an
account in defensive mode for a day), or while the broker refuses every one (an account
with no money left). One log line per order would bury everything else in the log, so the
loop says the first order of such an episode in full and counts the rest; when the
episode ends (an order goes through, or the run ends) one line says how many more there
were and over what time, in the words of an end ("orders go through again, after …",
"until the run ended: …"), as the host's other episodes end (:mod:`hostapp.failed_calls`):
a count said alone read as one more problem.

A guard whose ``allow_order`` fails vetoes the order (fails closed), with a reason that
holds its error's text; a text that names the order ("timeout for order XAUUSD 0.01")
made each veto an episode of its own, and a guard failing every third order was one line
per failure, since the orders between went through. Its vetoes belong to the episode of
its failures instead (:class:`FailedGuards`), which the host already says once
(:mod:`hostapp.failed_calls`): the first vetoed order in full, the count when the guard
has answered again long enough, or the run ends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

#: Episodes open at once, per :class:`Episodes`; past it the oldest is ended (said).
OPEN_EPISODES = 100

#: How an episode ended, the words its line begins with (:meth:`Episodes.end_all`).
THROUGH = "orders go through again, after"
RUN_ENDED = "until the run ended:"
CROWDED = f"no longer counted ({OPEN_EPISODES} others open):"
#: How a failing guard's episode ends when the episode of its failures does.
ANSWERS_AGAIN = "its allow_order answers again, after"


@dataclass
class _Episode:
    first: datetime
    last: datetime
    more: int = 0


class Episodes:
    """Episodes of one kind of problem (vetoed orders, refused orders), by ``key``: the
    text that stays the same for as long as the cause lasts (a veto's reason, which
    names the time the account mode ends, or a refusal's result code)."""

    def __init__(self, log: logging.Logger, level: int, verb: str) -> None:
        self.log = log
        self.level = level
        self.verb = verb  # what happened to the orders: "vetoed", "refused"
        self._open: dict[str, _Episode] = {}

    def __bool__(self) -> bool:
        """Is any episode open?"""
        return bool(self._open)

    def first(self, key: str, now: datetime) -> bool:
        """Note one more occurrence of ``key`` at ``now``; ``True`` when it starts an
        episode, so the caller says it in full (a repeat is only counted)."""
        episode = self._open.get(key)
        if episode is not None:
            episode.more += 1
            episode.last = now
            return False
        if len(self._open) >= OPEN_EPISODES:  # the oldest first: dicts keep order
            self._end(next(iter(self._open)), CROWDED)
        self._open[key] = _Episode(now, now)
        return True

    def end_all(self, ended: str) -> None:
        """Every episode is over (an order went through: :data:`THROUGH`; or the run
        ends: :data:`RUN_ENDED`): say how many more each one had, if any."""
        for key in list(self._open):
            self._end(key, ended)

    def _end(self, key: str, ended: str) -> None:
        episode = self._open.pop(key)
        if episode.more:
            self.log.log(
                self.level,
                "%s %d more %s %s (%s) from %s to %s",
                ended,
                episode.more,
                "orders" if episode.more > 1 else "order",
                self.verb,
                key,
                episode.first.isoformat(timespec="seconds"),
                episode.last.isoformat(timespec="seconds"),
            )


class FailedGuards(Episodes):
    """The vetoes of guards whose ``allow_order`` failed, one episode per plugin whatever
    the error's text: keyed ``"<plugin>: allow_order failed"``, ended not by an order
    that goes through but with the episode of the plugin's failures
    (:meth:`end_answered`), or the run."""

    def __init__(self, log: logging.Logger) -> None:
        super().__init__(log, logging.INFO, "vetoed")
        self._plugins: dict[str, str] = {}  # key → plugin

    def first_of(self, plugin: str, now: datetime) -> bool:
        """:meth:`Episodes.first` of ``plugin``'s failed ``allow_order``."""
        key = f"{plugin}: allow_order failed"
        self._plugins[key] = plugin
        return self.first(key, now)

    def end_answered(self, failing: Callable[[str, str], bool]) -> None:
        """End the episodes of the plugins no longer ``failing`` (``(plugin, hook)``:
        their episode of failures is over, :mod:`hostapp.failed_calls`)."""
        for key, plugin in list(self._plugins.items()):
            if not failing(plugin, "allow_order"):
                self._end(key, ANSWERS_AGAIN)

    def _end(self, key: str, ended: str) -> None:
        self._plugins.pop(key, None)
        super()._end(key, ended)
