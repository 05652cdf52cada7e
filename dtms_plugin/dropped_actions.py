"""What the ladder owed a trade and dropped undone in a run, counted for its report.

A partial close the minimum lot cannot take, a hedge below the minimum volume, an action
out of retries: the engine drops such an intent with a warning on the trade's record
(:class:`~dtms_plugin.engine.planning.Dropped`). A record is read one trade at a time;
a run that dropped the same intent on a hundred trades says so once, in its report, with
a count and the reason met (docs/dtms.md §6).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .engine.planning import Dropped

#: (intent, given up after its retries) → how many times, and the newest reason met
Tally = dict[tuple[str, bool], tuple[int, str]]


class DroppedActions:
    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self._tally: Tally = {}

    def add(self, ticket: int, dropped: Iterable[Dropped]) -> None:
        """Count ``dropped`` (one evaluation's), each said once in the log with its trade;
        one whose purpose holds already (a stop that is tight enough) is no news."""
        for d in dropped:
            if d.met:
                self.log.debug("DTMS %s: %s", ticket, d.text)
                continue
            key = (d.kind.value, d.given_up)
            count, _ = self._tally.get(key, (0, ""))
            self._tally[key] = (count + 1, d.why)
            self.log.info("DTMS %s: %s", ticket, d.text)

    def counts(self) -> dict[str, int]:
        """Dropped intents by kind (skipped or given up alike): the report's figure."""
        out: dict[str, int] = {}
        for (kind, _), (count, _) in sorted(self._tally.items()):
            out[kind] = out.get(kind, 0) + count
        return out

    def note(self) -> str | None:
        """One line for the run's notes, or None when nothing was dropped."""
        if not self._tally:
            return None
        total = sum(count for count, _ in self._tally.values())
        parts = [
            f"{kind} {count:,} ({'given up after ' if given_up else 'e.g. '}{why})"
            for (kind, given_up), (count, why) in sorted(self._tally.items())
        ]
        actions = "action" if total == 1 else "actions"
        return f"did not send {total:,} {actions} its ladder owed: {', '.join(parts)}"
