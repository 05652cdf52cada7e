"""Group commit of registrations on one ``dtms serve`` (a Redis store's replicas have a
stream of their own, docs/scaling.md): registrations that arrive while an engine round
runs wait, and go together in the next round.

Why: a round costs the same for one registration as for a hundred: a round trip to the
engine thread, one store transaction, and one read of every open position at the broker
(a new ticket may bring back a trade whose hedge is open while its record was lost,
docs/dtms.md §8). Each request was its own round, and rounds queued first come first
served on the command lock, so under a burst (a host catching up: single POSTs and
batches at once) every request waited for all those before it, each reading the whole
account, past the client's 5 s ``register_timeout`` (docs/client.md); the client sent it
again and the work grew (``bench/serve_burst.py`` measures it).

What each request keeps: its own outcomes, in its own order. Requests are taken first
come first served, whole, and a round registers a ticket's second registration after its
first (:meth:`.registering.Registering._round_in_engine`), so a later request finds what
an earlier one registered (already registered, or a conflict) as it did when it waited
for its own round. What fails the whole round (the engine or the store) is raised to
every request of it, each answered as it was alone (a 503: the client sends it again;
registration is idempotent by ticket); a broker that cannot say what one registration
asked of it (a symbol's rules, the position its volume comes from) fails that
registration's request alone (``Registering.register_many``). A round takes at most
:data:`~.limits.MAX_BATCH_REGISTRATIONS` registrations (always one request at least): no
more than one batch request did alone.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .limits import MAX_BATCH_REGISTRATIONS
from .metrics import ServerMetrics

if TYPE_CHECKING:
    from .validation import Registration

#: one registration's outcome: ``(created, record)``, or why it was refused
Outcome = tuple[bool, dict[str, Any]] | Exception
Round = Callable[[list["Registration"]], Awaitable[list[Outcome]]]


@dataclass(eq=False)
class _Waiting:
    """One request's registrations, and the answer its handler awaits."""

    regs: list[Registration]
    answer: asyncio.Future[list[Outcome]]


class RegistrationRounds:
    """The registrations waiting for an engine round, and the task that runs the rounds
    (on the server's loop; started when a request waits, ended when none does)."""

    def __init__(
        self,
        run: Round,
        lock: asyncio.Lock,
        metrics: ServerMetrics,
        bound: int = MAX_BATCH_REGISTRATIONS,
    ) -> None:
        self._run = run
        #: the service's command lock, held for each round: a DELETE or a close reported
        #: runs between rounds, never inside one
        self._lock = lock
        self._metrics = metrics
        self.bound = bound
        self._waiting: deque[_Waiting] = deque()
        self._worker: asyncio.Task[None] | None = None

    async def register(self, regs: Sequence[Registration]) -> list[Outcome]:
        """The outcome of each of ``regs``, in order, from the round they went in; that
        round's failure raised. A handler cancelled before its round (its client gone)
        registers nothing; once its round has begun, the round completes (the engine's
        work is not left half way)."""
        if not regs:
            return []
        answer: asyncio.Future[list[Outcome]] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Waiting(list(regs), answer))
        self._said()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work(), name="dtms-registration-rounds")
        return await answer

    async def _work(self) -> None:
        taken: list[_Waiting] = []
        try:
            while self._waiting:
                async with self._lock:
                    taken = self._take()  # once the lock is held: who came meanwhile too
                    if taken:
                        await self._round(taken)
                    taken = []
        except BaseException:  # cancelled (the server stopping): nobody waits for ever
            for waiting in [*taken, *self._waiting]:
                waiting.answer.cancel()
            self._waiting.clear()
            self._said()
            raise

    def _take(self) -> list[_Waiting]:
        """The oldest waiting requests, whole, up to :attr:`bound` registrations (the
        first one whatever its size: a batch is at most that)."""
        taken: list[_Waiting] = []
        count = 0
        while self._waiting:
            first = self._waiting[0]
            if first.answer.done():  # its handler was cancelled: nobody waits for it
                self._waiting.popleft()
                continue
            if taken and count + len(first.regs) > self.bound:
                break
            taken.append(self._waiting.popleft())
            count += len(first.regs)
        self._said()
        return taken

    async def _round(self, taken: list[_Waiting]) -> None:
        regs = [reg for waiting in taken for reg in waiting.regs]
        self._metrics.registration_rounds.observe(len(regs))
        try:
            outcomes = await self._run(regs)
        except Exception as exc:  # the engine's or the store's: every request's answer
            for waiting in taken:
                if not waiting.answer.done():
                    waiting.answer.set_exception(exc)
            return
        at = 0
        for waiting in taken:
            mine = outcomes[at : at + len(waiting.regs)]
            at += len(waiting.regs)
            if not waiting.answer.done():
                waiting.answer.set_result(mine)

    def _said(self) -> None:
        """``dtms_registrations_waiting``: the registrations queued for a round."""
        waiting = sum(len(w.regs) for w in self._waiting)
        self._metrics.registrations_waiting.set(waiting)
