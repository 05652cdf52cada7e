"""What the local strategy did at the broker, for its run report: the trailing stop's
moves apart from the ladder's actions (docs/dtms.md §6).

The trail moves the stop of a trade that is not armed yet (a stop is an exit rule, no
verdict on the trade), so a report that counted only the trades it evaluated said "DTMS
evaluated 0 of 1 trades … before arming" with ``activity`` 0 beside a trade one of its
trail moves took from +2.00R to −0.39R. The moves are told from the ladder's actions by
their idempotency key (``TRAIL_MARK``), which the engine gives the trail's alone.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from hookspecs import Action, ActionResult

from .engine.record import TRAIL_MARK


class Acted:
    """The actions the broker carried out, counted: trail moves (and on which trades),
    and the ladder's by kind."""

    def __init__(self) -> None:
        self.trail_moves = 0
        self.trailed: set[int] = set()  # tickets whose stop the trail moved
        self.unarmed: set[int] = set()  # of those, moved before any evaluation of theirs
        self.ladder: Counter[str] = Counter()  # kind -> ladder actions done

    def done(self, action: Action, result: ActionResult, *, evaluated: bool) -> None:
        """One action's result at the broker: counted when it was carried out;
        ``evaluated``: its trade was scored before (armed)."""
        if not result.ok:
            return
        if TRAIL_MARK in action.key:
            self.trail_moves += 1
            self.trailed.add(action.ticket)
            if not evaluated:
                self.unarmed.add(action.ticket)
        else:
            self.ladder[action.kind.value] += 1

    @property
    def ladder_actions(self) -> int:
        return sum(self.ladder.values())

    def counts(self) -> dict[str, Any]:
        """The report's figures: ``trail_moves``, ``trail_trades`` (of them
        ``trail_trades_unarmed``, moved before an evaluation) and ``ladder_actions`` (by
        kind)."""
        return {
            "trail_moves": self.trail_moves,
            "trail_trades": len(self.trailed),
            "trail_trades_unarmed": len(self.unarmed),
            "ladder_actions": dict(sorted(self.ladder.items())),
        }

    def note(self) -> str | None:
        """The sentence of the trail's moves, with the ladder's actions apart (``None``
        when the trail moved no stop)."""
        if not self.trail_moves:
            return None
        moves = "once" if self.trail_moves == 1 else f"{self.trail_moves:,} times"
        trades, unarmed = len(self.trailed), len(self.unarmed)
        stops = "a stop" if self.trail_moves == 1 else "stops"
        text = f"its trailing stop moved {stops} {moves} on {_trades(trades)}"
        if unarmed and unarmed == trades:
            them = "it" if trades == 1 else "them"
            text += f", before DTMS evaluated {them} (the trail needs no arming)"
        elif unarmed:
            text += f" ({unarmed:,} of them before DTMS evaluated them: the trail needs no arming)"
        ladder = self.ladder_actions
        if ladder:
            kinds = ", ".join(f"{n:,} {kind}" for kind, n in sorted(self.ladder.items()))
            text += f"; its ladder took {ladder:,} action{'' if ladder == 1 else 's'} ({kinds})"
        else:
            text += "; its ladder took no action"
        return text


def _trades(n: int) -> str:
    return f"{n:,} trade{'' if n == 1 else 's'}"
