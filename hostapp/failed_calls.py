"""Failed hook calls, said once per episode with a count (docs/architecture.md §4).

A plugin that fails now and then (an ``on_cycle`` that raises every other call) never
trips its breaker, which counts failures in a row; one ERROR line per failure buried a
replay's terminal under thousands of them. Here the first failure of a plugin's hook
starts an episode and is said in full by the registry; the others are counted. The
episode ends when the hook has answered :data:`QUIET_CALLS` calls in a row, or the run
ends: then one line says how many more failures there were, in how many calls. That line
ends something said at ERROR, so it is a WARNING that reads as the end it is ("answers
again", "until the run ended"), carried to the terminal where the first failure was read
(:data:`~hostapp.logs.TERMINAL`): said at ERROR in the words of a failure, right after
the breaker's "back on", it read as a new failure. The run's summary says how many calls
of each hook failed in all.
"""

from __future__ import annotations

import logging

from .logs import TERMINAL

#: Calls in a row without a failure that end an episode: a hook failing every third call
#: stays in one episode, one that failed once an hour ago is said again if it fails again.
QUIET_CALLS = 100


class FailedCalls:
    """Failed calls by ``(plugin, hook)``: the open episodes and the run's totals."""

    __slots__ = ("episodes", "log", "totals")

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        #: (plugin, hook) → [failures since the first, calls since the first, calls in a
        #: row without a failure]
        self.episodes: dict[tuple[str, str], list[int]] = {}
        #: (plugin, hook) → failed calls in the run
        self.totals: dict[tuple[str, str], int] = {}

    def failed(self, plugin: str, hook: str) -> bool:
        """Count one failure; ``True`` when it starts an episode (the caller says it)."""
        key = (plugin, hook)
        self.totals[key] = self.totals.get(key, 0) + 1
        episode = self.episodes.get(key)
        if episode is None:
            self.episodes[key] = [0, 1, 0]
            return True
        episode[0] += 1
        episode[1] += 1
        episode[2] = 0
        return False

    def succeeded(self, plugin: str, hook: str) -> bool:
        """Count one success in an open episode; ``True`` when the episode is over (or
        there was none)."""
        key = (plugin, hook)
        episode = self.episodes.get(key)
        if episode is None:
            return True
        episode[1] += 1
        episode[2] += 1
        if episode[2] < QUIET_CALLS:
            return False
        self._end(key, recovered=True)
        return True

    def end_all(self) -> None:
        """The run ends: say how many more failures each open episode had."""
        for key in list(self.episodes):
            self._end(key, recovered=False)

    def _end(self, key: tuple[str, str], *, recovered: bool) -> None:
        more, calls, quiet = self.episodes.pop(key)
        if not more:
            return
        how = (
            f"answers again ({quiet:,} calls in a row), after"
            if recovered
            else "until the run ended:"
        )
        self.log.warning(
            "plugin %s: %s %s %s more failure%s in %s call%s since its first failure",
            key[0], key[1], how, f"{more:,}", "s" if more > 1 else "", f"{calls - 1:,}",
            "s" if calls > 2 else "",
            extra={TERMINAL: True},  # where its first failure was read, at ERROR
        )  # fmt: skip

    def by_plugin(self) -> dict[str, dict[str, int]]:
        """The failed calls of the run, by plugin and hook (open episodes are ended)."""
        self.end_all()
        out: dict[str, dict[str, int]] = {}
        for (plugin, hook), count in self.totals.items():
            out.setdefault(plugin, {})[hook] = count
        return out
