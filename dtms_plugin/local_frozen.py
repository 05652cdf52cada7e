"""The defences that wait inside the freeze level, said (docs/dtms.md §6, "Freeze level"),
and the trades CLOSED whose close is still owed, for the run's report. :class:`FrozenWaits`
is a mixin of :class:`dtms_plugin.local.LocalStrategy`, whose ``__init__`` sets the
attributes declared here; its cycle asks :meth:`FrozenWaits._note_frozen` after each
evaluation.

Why: while the price is inside the freeze level of the stop or the target, the engine
holds back the stop's changes, the partial close and the close (the broker would refuse
them: MetaTrader's 10029 FROZEN) and keeps them owed, with the reason in its plan
(:func:`.engine.planning.plan_intent`), which its evaluation does not hand on. A trade
reached WARNING_L2 with its partial close and breakeven never sent and nothing said, then
CLOSED with its close held back while its position (and its hedge) stayed open, and the
run's report counted it closed with no word of it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from hookspecs import ActionKind, Quote, SymbolInfo

from .engine import JournalStatus, TradeRecord
from .engine.planning import Wait, in_freeze, plan_intent
from .settings import DtmsSettings

#: a journal entry whose action is not waiting to be sent: done, or on its way
_NOT_WAITING = (JournalStatus.DONE, JournalStatus.PENDING, JournalStatus.UNKNOWN)


def frozen_waits(
    rec: TradeRecord,
    sent: Iterable[ActionKind],
    quote: Quote | None,
    info: SymbolInfo,
    settings: DtmsSettings,
) -> list[str]:
    """The owed actions of ``rec`` its plan holds back for the freeze level now (none
    while the price is outside it): neither ``sent`` this evaluation nor done nor on
    their way, and waiting in the plan (the engine's own rule)."""
    if not rec.owed or quote is None or not in_freeze(rec, quote, info):
        return []
    out = []
    for intent in rec.owed:
        entry = rec.entry(rec.key_for(intent))
        if intent in sent or (entry is not None and entry.status in _NOT_WAITING):
            continue
        outcome = plan_intent(rec, intent, quote, info, settings, spread_ok=True, reason="")
        if isinstance(outcome, Wait):
            out.append(intent.value)
    return out


def closes_owed(records: Iterable[TradeRecord]) -> list[int]:
    """The trades DTMS decided to close (CLOSED) whose close is owed and not done: their
    position is still open at the broker."""
    return [rec.ticket for rec in records if not rec.is_open and ActionKind.CLOSE in rec.owed]


def _ended(held: frozenset[str], sent: set[str], owed: set[str]) -> str:
    """What became of the actions a freeze-level wait held back: sent now, owed still
    (sent on a later evaluation), or no longer owed (the trade moved on meanwhile)."""
    parts = [
        f"{', '.join(sorted(kinds))} {what}"
        for kinds, what in (
            (held & sent, "sent"),
            ((held & owed) - sent, "still owed"),
            (held - sent - owed, "no longer owed"),
        )
        if kinds
    ]
    return "; ".join(parts)


class FrozenWaits:
    log: logging.Logger
    settings: DtmsSettings
    #: ticket -> the owed actions said to wait for the freeze level, and the cycles since
    _frozen: dict[int, tuple[frozenset[str], int]]

    def _note_frozen(
        self,
        rec: TradeRecord,
        sent: Iterable[ActionKind],
        quote: Quote | None,
        info: SymbolInfo,
    ) -> None:
        """One WARNING when a trade's owed actions start waiting for the freeze level (and
        again when more join them), one with the count of cycles when none waits any more
        (docs/dtms.md §6: a wait is said when it starts and when it is over)."""
        kinds = list(sent)
        waiting = frozen_waits(rec, kinds, quote, info, self.settings)
        ticket = rec.ticket
        said = self._frozen.get(ticket)
        if not waiting:
            if said is not None:
                del self._frozen[ticket]
                ended = _ended(said[0], {k.value for k in kinds}, {k.value for k in rec.owed})
                self.log.warning(
                    "DTMS %s: its wait for the freeze level is over (%d cycle%s): %s",
                    ticket, said[1], "" if said[1] == 1 else "s", ended,
                )  # fmt: skip
            return
        known, cycles = said if said is not None else (frozenset(), 0)
        if not set(waiting) <= known:
            state = rec.state.value + ("" if rec.is_open else ", its position still open")
            self.log.warning(
                "DTMS %s (%s): %s owed, held back: the price is inside the freeze level of "
                "the stop or target (%g), where the broker refuses them; sent when "
                "it leaves it", ticket, state, ", ".join(waiting), info.freeze_level,
            )  # fmt: skip
        self._frozen[ticket] = (known | set(waiting), cycles + 1)
