"""How often and when the local engine looked at its trades, as the original DTMS told it.

The original server's status page reads, per trade, when the engine last looked at it
(``GET /dtms/engine``: ``last_fast_check`` and ``last_deep_check``, ticket → Unix time),
and how many looks it made (``GET /dtms/status``: ``performance.fast_checks_total`` and
``deep_checks_total``). The original had two loops: a quick one at the price, a slower
one that scored the trade. This engine evaluates every trade each cycle (the quick look)
and scores it on each new closed fast bar or an adverse move (the scoring), so those are
what is counted and dated here (docs/architecture.md, "The DTMS API").

Written by the engine's thread only; the server's side copies a map whole (one C-level
``dict`` copy under the GIL, as :class:`dtms_plugin.server.observed.MonitorStatus` is
read), never iterates it while the engine writes.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime


class Checks:
    """The counts since the engine started, and each trade's latest evaluation and
    scoring (the engine's clock)."""

    __slots__ = ("evaluated", "evaluations", "scored", "scorings")

    def __init__(self) -> None:
        self.evaluations = 0
        self.scorings = 0
        #: ticket -> the engine time of its latest evaluation, of its latest scoring
        self.evaluated: dict[int, datetime] = {}
        self.scored: dict[int, datetime] = {}

    def saw(self, ticket: int, at: datetime, *, scored: bool) -> None:
        """One evaluation of ``ticket`` at ``at``; ``scored``: it scored the trade."""
        self.evaluations += 1
        self.evaluated[ticket] = at
        if scored:
            self.scorings += 1
            self.scored[ticket] = at

    def keep(self, held: Collection[int]) -> None:
        """Forget the trades that left ``held`` (the engine's records), once the map has
        grown past them: a check of two lengths per cycle, a rebuild only then, so the
        maps stay as small as the engine's records."""
        if len(self.evaluated) > len(held):
            self.evaluated = {t: at for t, at in self.evaluated.items() if t in held}
        if len(self.scored) > len(held):
            self.scored = {t: at for t, at in self.scored.items() if t in held}
