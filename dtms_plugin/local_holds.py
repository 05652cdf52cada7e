"""Hedges the spread rail held back, said once per episode and counted for the run report.

On a hedging account the engine holds rows 7 and 10 of the state machine back while the
spread rail forbids a hedge (docs/dtms.md §5 and §7): no transition, the trade stays where
it is, and the evaluation's ``why`` names the cause ("hedge held back (S -6.50 ≤ -6):
spread above the limit"). Without a transition nothing said it: a trade held in
WARNING_L2 that fell back to WARNING_L1 and later stopped out left no trace in the log,
the record or the report. docs/dtms.md §5 promises the reason logged, and a problem that
repeats each cycle is said once per episode with a count (docs/dtms.md §7): so the first
hold of a trade is one WARNING and a warning on its record, the cycles after it are
counted, and when the hold ends (the trade hedged, moved, closed, or its score no longer
calls for a hedge) one line says how many cycles it lasted. The same class serves
``dtms serve``, whose monitor runs this strategy's cycles.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from .engine import TradeRecord

#: how the engine's ``why`` begins when it holds a transition back (dtms_plugin/engine/
#: machine.py: rows 7 and 10 of docs/dtms.md §5); the cause follows the last ": "
HELD = ("hedge held back", "re-hedge held back")

#: the cause as the engine names it (dtms_plugin/engine/rails.py) → the report's words
_CAUSES = {"spread above the limit": "for the spread", "no quote": "without a quote"}

#: tickets a cause's report names; past them it counts (``dtms serve`` runs for months)
NAMED = 10


@dataclass
class _Episode:
    """One trade's hold, from its first held evaluation until the hold ends."""

    state: str  # the state the trade was held in
    cause: str  # the engine's (spread above the limit, no quote)
    since: datetime
    cycles: int = 1  # evaluations of the trade while it lasted
    held: int = 1  # of them, those the engine held back (scorings: a new bar each)


@dataclass
class _Tally:
    episodes: int = 0
    tickets: tuple[int, ...] = ()  # the newest NAMED, oldest first


class HeldTransitions:
    """The holds of a run (or of a server's life): the episodes open now, by ticket, and
    those begun so far, by cause."""

    def __init__(self, log: logging.Logger) -> None:
        self.log = log
        self._open: dict[int, _Episode] = {}
        self._tally: dict[str, _Tally] = {}

    def seen(self, rec: TradeRecord, why: str, now: datetime, *, scored: bool) -> TradeRecord:
        """One evaluation of ``rec`` (the engine's record and ``why``; ``scored``: on a
        fresh score): the record to keep, with a warning when a hold begins (the warnings
        are where a trade's skipped actions are kept, docs/dtms.md §6), else ``rec``."""
        ep = self._open.get(rec.ticket)
        if why.startswith(HELD):
            if ep is not None:
                ep.cycles += 1
                ep.held += 1
                return rec
            cause = why.rpartition(": ")[2]
            self._open[rec.ticket] = _Episode(rec.state.value, cause, now)
            tally = self._tally.setdefault(cause, _Tally())
            tally.episodes += 1
            if rec.ticket not in tally.tickets:
                tally.tickets = (*tally.tickets, rec.ticket)[-NAMED:]
            self.log.warning(
                "DTMS %s (%s): %s; it stays %s (said once: the hold's end is said with "
                "how many cycles it lasted)",
                rec.ticket,
                rec.symbol,
                why,
                rec.state.value,
            )
            return rec.evolve(warnings=rec.with_warning(f"{why} (from {now:%Y-%m-%d %H:%M})"))
        if ep is None:
            return rec
        if rec.is_open and rec.state.value == ep.state and not scored:
            ep.cycles += 1  # no new bar, nothing decided: the hold goes on
            return rec
        if "→" not in why:  # a transition's why names both states; any other, the state now
            score = "" if rec.last_score is None else f"S {rec.last_score:+.2f}: "
            why = f"{why or f'{score}no hedge called for'}; {rec.state.value}"
        self._end(rec.ticket, why)
        return rec

    def sweep(self, records: Mapping[int, TradeRecord]) -> None:
        """End the holds of trades closed (or let go) without an evaluation of theirs: a
        stop hit, a close the broker reported."""
        for ticket in [t for t in self._open if t not in records or not records[t].is_open]:
            rec = records.get(ticket)
            self._end(ticket, f"the trade closed: {rec.close_reason}" if rec else "let go")

    def finish(self) -> None:
        """The run ends (or the server stops) with holds still on: each said with its count."""
        for ticket in list(self._open):
            self._end(ticket, "still held when DTMS stopped")

    def _end(self, ticket: int, how: str) -> None:
        ep = self._open.pop(ticket)
        cycles = "1 cycle" if ep.cycles == 1 else f"{ep.cycles:,} cycles"
        times = "once" if ep.held == 1 else f"{ep.held:,} times"
        self.log.warning(
            "DTMS %s: hedge no longer held back (%s), after %s since %s (held back %s: %s)",
            ticket,
            how,
            cycles,
            f"{ep.since:%Y-%m-%d %H:%M}",
            times,
            ep.cause,
        )

    def counts(self) -> dict[str, int]:
        """The report's figure: holds begun, by the engine's cause."""
        return {cause: t.episodes for cause, t in sorted(self._tally.items())}

    def note(self) -> str | None:
        """One clause for the run's notes ("held 2 hedges back for the spread (tickets 1,
        2)"), or ``None`` when no hedge was held back."""
        if not self._tally:
            return None
        parts = []
        for cause, t in sorted(self._tally.items()):
            n = t.episodes
            named = ", ".join(map(str, t.tickets))
            which = f"ticket {named}" if len(t.tickets) == 1 else f"tickets {named}"
            if n > len(t.tickets):
                which = f"{which}, the newest" if len(t.tickets) == NAMED else which
            words = _CAUSES.get(cause, f"({cause})")
            parts.append(f"{n:,} hedge{'' if n == 1 else 's'} back {words} ({which})")
        return f"held {' and '.join(parts)}: each trade stayed in its state meanwhile"
