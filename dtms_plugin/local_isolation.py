"""One trade's unexpected failure is that trade's alone: the local strategy runs each
trade's step of a cycle, and of its start-up recovery, through :meth:`Isolating._isolated`.

Why: an error from one trade's step (a broker that raised for its ticket, a record the
engine cannot work with) ended the whole cycle, so no trade of the account was evaluated
or defended, and at start-up it refused ``dtms serve`` altogether, until the store was
mended by hand (docs/dtms.md §8). Now the trade is skipped, its record kept as it was,
the failure said once per episode (with a count when it ends, as every repeating problem
here is) and listed while it lasts (:attr:`Isolating.failing`: ``dtms serve``'s
``/health`` and ``/dtms/status`` name it). A store out of reach is not one trade's
problem: it is raised, and fails the cycle as before (docs/scaling.md, "Failures").
:class:`Isolating` is a mixin of :class:`dtms_plugin.local.LocalStrategy`, whose
``__init__`` sets the attributes declared here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from .store import StoreError

#: how much of an error's text a listing keeps (a record's repr can be long)
MAX_ERROR_CHARS = 200


class Isolating:
    log: logging.Logger
    problems: dict[str, int]
    #: ticket -> (its steps failed in the current episode, the last error, what failed):
    #: replaced whole on every change, so another thread reads a consistent one
    failing: dict[int, tuple[int, str, str]]

    async def _isolated(self, ticket: int, step: Awaitable[None], what: str = "cycle") -> bool:
        """Run ``step``, trade ``ticket``'s part of a ``what`` (a cycle, the start-up
        recovery); whether it passed. An unexpected error is said and counted, and the
        trade skipped until a step of it passes; the other trades go on."""
        try:
            await step
        except StoreError:
            raise  # the store's, not the trade's: the cycle fails (docs/scaling.md)
        except Exception as exc:
            self._trade_failed(ticket, exc, what)
            return False
        if ticket in self.failing:
            self._trade_back(ticket)
        return True

    def _trade_failed(self, ticket: int, exc: Exception, what: str) -> None:
        """ERROR with the traceback on the first failure of an episode, DEBUG after."""
        count = self.failing.get(ticket, (0, "", ""))[0] + 1
        error = f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]
        self.failing = {**self.failing, ticket: (count, error, what)}
        # counted by what failed, not by ticket: a server up for months would otherwise
        # keep one entry per trade that ever failed (the trade is named in the log)
        why = f"a trade's step failed ({type(exc).__name__})"
        self.problems[why] = self.problems.get(why, 0) + 1
        if count == 1:
            self.log.error(
                "DTMS %s: its %s failed (%s); skipped, its record kept as it was, every other "
                "trade goes on (said again when a cycle of it passes)",
                ticket, what, error, exc_info=exc,
            )  # fmt: skip
        else:
            self.log.debug("DTMS %s: its %s failed again: %s", ticket, what, error)

    def _trade_back(self, ticket: int) -> None:
        """A step of a trade that kept failing passed: said once, with the count."""
        failing = dict(self.failing)
        count, _, _ = failing.pop(ticket)
        self.failing = failing
        steps = "1 failed step" if count == 1 else f"{count} failed steps"
        self.log.warning("DTMS %s: managed again, after %s", ticket, steps)

    def let_go_failing(self, ticket: int) -> None:
        """Forget ``ticket``'s failures (its record left this engine: unregistered,
        removed by retention, its lease lost): it is no problem of this engine's now."""
        if ticket in self.failing:
            self.failing = {t: f for t, f in self.failing.items() if t != ticket}

    def failing_trades(self) -> list[str]:
        """The trades skipped for their own failures, one text each, for ``/health``."""
        return [
            f"trade {ticket}: its {what} failed {_times(count)} ({error}); skipped, its record kept"
            for ticket, (count, error, what) in sorted(self.failing.items())
        ]


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times in a row"
