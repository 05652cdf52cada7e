"""The local strategy's closes that keep failing, and its actions that wait while the broker
refuses them for now, each said once when it starts and once when it ends, instead of a
line on every bar of a closed market. Split from :mod:`dtms_plugin.local` so each file
reads on its own; :class:`Attention` is a mixin of :class:`dtms_plugin.local.LocalStrategy`,
whose ``__init__`` sets the attributes declared here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hookspecs import ActionKind

from .engine import WAITS, TradeRecord, needs_attention
from .engine.record import TRAIL_MARK
from .settings import DtmsSettings

#: marks a waiting action in ``_attention``: ``"<ticket>:wait:<seq>:<intent>"``, apart
#: from the journal key of a failing close, and still ending in its intent
_WAIT = ":wait:"


class Attention:
    settings: DtmsSettings
    log: logging.Logger
    #: journal keys of closes whose retries ran out, and the marks of actions that wait
    #: (``_WAIT``), each logged once until it is over
    _attention: set[str]

    if TYPE_CHECKING:  # the strategy's own

        @property
        def records(self) -> dict[int, TradeRecord]: ...

    def _tell_attention(self, rec: TradeRecord, key: str) -> None:
        """A close whose retries ran out is retried on every new bar until it is done
        (docs/dtms.md §6): logged at ERROR the first time, then once more when it is done,
        with the number of attempts, instead of an ERROR on every bar of a closed market."""
        self._tell_wait(rec, key)
        attention = needs_attention(rec, key, self.settings)
        if attention is not None and key not in self._attention:
            self._attention.add(key)
            self.log.error(
                "DTMS %s: %s; retried on each new bar, logged again when it succeeds",
                rec.ticket,
                attention,
            )
        elif attention is None and key in self._attention:
            self._attention.discard(key)
            entry = rec.entry(key)
            if entry is not None:
                self.log.warning(
                    "DTMS %s: %s %s after %d attempts",
                    rec.ticket,
                    entry.kind.value,
                    entry.status.value,
                    entry.attempts,
                )

    def _tell_wait(self, rec: TradeRecord, key: str) -> None:
        """An action the broker refuses for now (the freeze level, a closed market, Algo
        Trading off: the engine's ``WAITS``) waits, its retries untouched, and is sent
        again on each new bar while its state holds (docs/dtms.md §6): said at WARNING
        when the wait starts, and once more, with its count of refusals (the journal
        entry's ``waits``), when the broker answers otherwise or the action is no longer
        owed (:meth:`_settle_attention`). A trailing-stop move is left out: each bar
        plans a move of its own, never retried, so it has no wait to tell."""
        entry = rec.entry(key)
        if entry is None or not entry.waits or TRAIL_MARK in key:
            return
        ticket, rest = key.split(":", 1)
        mark = f"{ticket}{_WAIT}{rest}"
        if entry.code in WAITS:
            if mark not in self._attention:
                self._attention.add(mark)
                self.log.warning(
                    "DTMS %s: %s waits, the broker refuses it for now (%s: %s); sent again "
                    "on each new bar while the state holds, not counted as a retry; said "
                    "again when the wait is over",
                    rec.ticket, entry.kind.value, entry.code, entry.message,
                )  # fmt: skip
        elif mark in self._attention:
            self._attention.discard(mark)
            self.log.warning(
                "DTMS %s: %s %s (%s) after %d refusals while it waited",
                rec.ticket, entry.kind.value, entry.status.value, entry.code, entry.waits,
            )  # fmt: skip

    def _settle_attention(self, ticket: int, why: str, owed: tuple[ActionKind, ...] = ()) -> None:
        """A close that kept failing is over without succeeding (the position went: by
        hand, or at the broker), when its kind is no longer ``owed``: said once, as its
        start was. Journal keys end in the action's kind (``1:4:close``). So does the mark
        of an action that waits, whose wait is over when it is no longer owed (the ladder
        moved on, it was skipped, or the position went)."""
        mine = [k for k in self._attention if k.startswith(f"{ticket}:")]
        for key in [k for k in mine if ActionKind(k.rsplit(":", 1)[1]) not in owed]:
            self._attention.discard(key)
            if _WAIT in key:
                rec = self.records.get(ticket)
                entry = rec.entry(key.replace(_WAIT, ":", 1)) if rec is not None else None
                self.log.warning(
                    "DTMS %s: %s waits no more, no longer owed, after %d refusals",
                    ticket, key.rsplit(":", 1)[1], entry.waits if entry is not None else 0,
                )  # fmt: skip
                continue
            self.log.warning("DTMS %s: the close failing since %s is settled: %s", ticket, key, why)
