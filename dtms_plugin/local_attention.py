"""The local strategy's closes that keep failing, said once when they start and once when
they end, instead of an ERROR on every bar of a closed market. Split from
:mod:`dtms_plugin.local` so each file reads on its own; :class:`Attention` is a mixin of
:class:`dtms_plugin.local.LocalStrategy`, whose ``__init__`` sets the attributes declared
here.
"""

from __future__ import annotations

import logging

from hookspecs import ActionKind

from .engine import TradeRecord, needs_attention
from .settings import DtmsSettings


class Attention:
    settings: DtmsSettings
    log: logging.Logger
    #: journal keys of closes whose retries ran out, logged once until they are done
    _attention: set[str]

    def _tell_attention(self, rec: TradeRecord, key: str) -> None:
        """A close whose retries ran out is retried on every new bar until it is done
        (docs/dtms.md §6): logged at ERROR the first time, then once more when it is done,
        with the number of attempts, instead of an ERROR on every bar of a closed market."""
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

    def _settle_attention(self, ticket: int, why: str, owed: tuple[ActionKind, ...] = ()) -> None:
        """A close that kept failing is over without succeeding (the position went: by
        hand, or at the broker), when its kind is no longer ``owed``: said once, as its
        start was. Journal keys end in the action's kind (``1:4:close``)."""
        mine = [k for k in self._attention if k.startswith(f"{ticket}:")]
        for key in [k for k in mine if ActionKind(k.rsplit(":", 1)[1]) not in owed]:
            self._attention.discard(key)
            self.log.warning("DTMS %s: the close failing since %s is settled: %s", ticket, key, why)
