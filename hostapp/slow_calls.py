"""Sync hook calls that took longer than their plugin's ``timeout_seconds``.

A sync hook cannot be cut short (docs/plugins.md, "Configuration"): the event loop waits
for it, and the whole run with it. Such a call is not a failure (nothing went wrong but
the time), so it does not count towards the breaker; it is said instead, once per
episode with a count (docs/architecture.md §4): the first slow call of a plugin's hook
in one WARNING line, and when a call of that hook is quick again, or the run ends, how
many more there were and the longest. The run's summary has one note per plugin and hook.
"""

from __future__ import annotations

import logging


class SlowCalls:
    """Slow sync calls by ``(plugin, hook)``: the open episodes and the run's totals."""

    __slots__ = ("episodes", "log", "totals")

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        #: (plugin, hook) → [more slow calls since the first, the longest of them]
        self.episodes: dict[tuple[str, str], list[float]] = {}
        #: (plugin, hook) → [slow calls in the run, the longest, the timeout]
        self.totals: dict[tuple[str, str], list[float]] = {}

    def note(self, plugin: str, hook: str, seconds: float, timeout: float) -> None:
        """One call of ``hook`` took ``seconds``. Called when it took longer than
        ``timeout``, or while an episode is open (a quick call ends it)."""
        key = (plugin, hook)
        if seconds <= timeout:
            if key in self.episodes:
                self._end(key)
            return
        total = self.totals.setdefault(key, [0, 0.0, timeout])
        total[0] += 1
        total[1] = max(total[1], seconds)
        episode = self.episodes.get(key)
        if episode is not None:
            episode[0] += 1
            episode[1] = max(episode[1], seconds)
            return
        self.episodes[key] = [0, seconds]
        self.log.warning(
            "plugin %s: sync %s took %.2f s, longer than its timeout_seconds %g; a sync "
            "hook cannot be cut short, so the run waited for it",
            plugin,
            hook,
            seconds,
            timeout,
        )

    def end_all(self) -> None:
        """The run ends: say how many more slow calls each open episode had."""
        for key in list(self.episodes):
            self._end(key)

    def _end(self, key: tuple[str, str]) -> None:
        more, longest = self.episodes.pop(key)
        if more:
            self.log.warning(
                "plugin %s: %d more sync %s calls took longer than its timeout_seconds "
                "(the longest %.2f s)",
                key[0],
                int(more),
                key[1],
                longest,
            )

    def notes(self) -> list[str]:
        """One sentence per plugin and hook that was slow in the run, for the summary."""
        self.end_all()
        return [
            f"plugin {plugin}: {int(count):,} sync {hook} call{'s' if count > 1 else ''} took "
            f"longer than its timeout_seconds {timeout:g} (the longest {longest:.2f} s); a "
            "sync hook cannot be cut short, so the run waited for each"
            for (plugin, hook), (count, longest, timeout) in self.totals.items()
        ]
