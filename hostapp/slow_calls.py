"""Sync hook calls that took longer than their plugin's ``timeout_seconds``, and async
ones of a replay that held the event loop that long.

A sync hook cannot be cut short (docs/plugins.md, "Configuration"): the event loop waits
for it, and the whole run with it. An async call that computes without awaiting cannot
be cut short either; live, it comes back too late and fails, but a replay's clock stands
still while it runs (a first registration that prepares a year of bars, say), so its
answer is kept. Such a call is not a failure (nothing went wrong but
the time), so it does not count towards the breaker; it is said instead, once per
episode with a count (docs/architecture.md §4): the first slow call of a plugin's hook
in one WARNING line, and when a call of that hook is quick again, or the run ends, how
many more there were and the longest. The run's summary has one note per plugin and hook.
"""

from __future__ import annotations

import logging


class SlowCalls:
    """Slow sync calls by ``(plugin, hook)``: the open episodes and the run's totals."""

    __slots__ = ("episodes", "held", "log", "totals")

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        #: (plugin, hook) → [more slow calls since the first, the longest of them]
        self.episodes: dict[tuple[str, str], list[float]] = {}
        #: (plugin, hook) → [slow calls in the run, the longest, the timeout]
        self.totals: dict[tuple[str, str], list[float]] = {}
        #: the (plugin, hook) whose slow calls were async ones a replay kept
        self.held: set[tuple[str, str]] = set()

    def note(
        self, plugin: str, hook: str, seconds: float, timeout: float, *, held: bool = False
    ) -> None:
        """One call of ``hook`` took ``seconds``. Called when it took longer than
        ``timeout``, or while an episode is open (a quick call ends it). ``held``: an
        async call of a replay that held the event loop (its answer kept)."""
        key = (plugin, hook)
        if seconds <= timeout:
            if key in self.episodes:
                self._end(key, recovered=True)
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
        if held:
            self.held.add(key)
        self.log.warning(
            "plugin %s: %s took %s s, longer than its timeout_seconds %g; %s",
            plugin, self._call(key), over(seconds, timeout), timeout, self._why(key, "it"),
        )  # fmt: skip

    def _call(self, key: tuple[str, str]) -> str:
        return key[1] if key in self.held else f"sync {key[1]}"

    def _why(self, key: tuple[str, str], calls: str) -> str:
        if key in self.held:
            return (
                f"it held the event loop, and a replay's clock stands still meanwhile, so "
                f"{'its answer was' if calls == 'it' else 'their answers were'} kept (a "
                "replay may do at once what a live run never does, such as preparing a "
                "whole series of bars at a plugin's first call; a live call this slow "
                "would fail for lateness)"
            )
        return f"a sync hook cannot be cut short, so the run waited for {calls}"

    def end_all(self) -> None:
        """The run ends: say how many more slow calls each open episode had."""
        for key in list(self.episodes):
            self._end(key, recovered=False)

    def _end(self, key: tuple[str, str], *, recovered: bool) -> None:
        """The episode's end in the words of an end, as a failure's is
        (:mod:`hostapp.failed_calls`): its count said after "is quick again" or "until
        the run ended", not as one more slow call."""
        more, longest = self.episodes.pop(key)
        timeout = self.totals[key][2]
        if more:
            how = "is quick again, after" if recovered else "until the run ended:"
            self.log.warning(
                "plugin %s: %s %s %d more call%s longer than its timeout_seconds (the "
                "longest %s s)",
                key[0], self._call(key), how, int(more), "s" if more > 1 else "",
                over(longest, timeout),
            )  # fmt: skip

    def notes(self) -> list[str]:
        """One sentence per plugin and hook that was slow in the run, for the summary."""
        self.end_all()
        return [
            f"plugin {key[0]}: {int(count):,} {self._call(key)} call{'s' if count > 1 else ''} "
            f"took longer than its timeout_seconds {timeout:g} (the longest "
            f"{over(longest, timeout)} s); " + self._why(key, "each")
            for key, (count, longest, timeout) in self.totals.items()
        ]


def over(seconds: float, timeout: float) -> str:
    """``seconds`` (longer than ``timeout``) with two decimals, or as many more as it takes
    to read as longer: 0.0104 s against 0.01 is "0.0104", never "0.01"."""
    for digits in range(2, 7):
        text = f"{seconds:.{digits}f}"
        if float(text) > timeout:
            return text
    return f"{seconds:.6f}"
