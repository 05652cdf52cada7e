"""What one evaluation of a trade takes of its account and gives back: the value types of
:func:`dtms_plugin.engine.machine.evaluate`, kept apart from the state machine's rows."""

from __future__ import annotations

from dataclasses import dataclass

from hookspecs import Action, DefensiveState

from .planning import Dropped
from .record import TradeRecord
from .score import ScoreBreakdown


@dataclass(frozen=True, slots=True)
class AccountState:
    """What the engine needs of the account: hedge, or partial close instead; and whether
    the account is in defensive mode (docs/dtms.md §7), where new exposure is vetoed, so
    the ladder opens no re-add either (set by whoever knows the mode: the local strategy)."""

    hedging: bool = True
    defensive: bool = False


@dataclass(frozen=True, slots=True)
class Evaluation:
    record: TradeRecord
    actions: tuple[Action, ...]
    score: ScoreBreakdown | None
    why: str  # the decision; ``reason`` adds the score breakdown
    transition: tuple[DefensiveState, DefensiveState] | None = None
    #: owed intents this evaluation dropped undone (a broker rule, or out of retries)
    dropped: tuple[Dropped, ...] = ()

    @property
    def reason(self) -> str:
        """One human line: the decision and the score behind it. Built on demand, as
        most evaluations change nothing and nobody reads their reason."""
        if self.score is None:
            return self.why
        return f"{self.why}; {self.score.reason()}" if self.why else self.score.reason()

    @property
    def changed(self) -> bool:
        return self.transition is not None or bool(self.actions)
