"""The answer to ``is_defensive`` from the store's state cache (docs/dtms.md §9).

Pure apart from two store reads, so it is safe on the hot path: it never waits on the
network. The second element of the answer tells the caller whether the cached state is old
enough that a refresh should be scheduled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from hookspecs import DEFENSIVE_STATES, Veto

from .settings import DtmsSettings


class StateCache(Protocol):
    """What :func:`answer` reads: a store's state cache, or the remote strategy's copy in
    memory while its store is out of reach (:mod:`dtms_plugin.remote_store`)."""

    def get_account_mode(self) -> tuple[datetime, str] | None: ...

    def get_state(self, ticket: int) -> tuple[str | None, datetime] | None: ...


def account_defensive(mode: tuple[datetime, str] | None, now: datetime | None) -> bool:
    """Is the account defensive mode ``(until, reason)`` active at ``now``? The one
    definition; ``now`` None (no clock yet) counts a stored mode as active."""
    return mode is not None and (now is None or mode[0] > now)


#: The kind of every veto of the account defensive mode, whatever its end and cause: a
#: run's summary counts them together (:class:`hookspecs.Veto`).
ACCOUNT_MODE_VETO = "DTMS account defensive mode"


def account_mode_veto(mode: tuple[datetime, str]) -> Veto:
    """The veto of a new entry while the account defensive mode ``(until, reason)`` lasts;
    its reason names both, which the log says once per mode."""
    until, reason = mode
    return Veto(f"{ACCOUNT_MODE_VETO} until {until.isoformat()}: {reason}", ACCOUNT_MODE_VETO)


#: The kind of every veto of an entry on a symbol with a HEDGED trade (docs/dtms.md §7).
HEDGED_SYMBOL_VETO = "DTMS: the symbol has a hedged trade"


def hedged_symbol_veto(symbol: str, ticket: int) -> Veto:
    """The veto of a new entry on ``symbol``, where trade ``ticket`` is HEDGED: the local
    strategy's and the remote one's, in the same words."""
    return Veto(f"DTMS: {symbol} has a hedged trade (ticket {ticket})", HEDGED_SYMBOL_VETO)


def answer(
    store: StateCache,
    ticket: int,
    now: datetime,
    settings: DtmsSettings,
    account_now: datetime | None = None,
) -> tuple[bool, bool]:
    """``(defensive, refresh_needed)`` for ``ticket`` at ``now``.

    * account defensive mode active (``until > account_now``, default ``now``: the mode's
      end is on the trading clock, which a paper run's data sets) → ``(True, False)``;
    * cached age ≤ ``fresh_seconds`` → (its state is WARNING_L2/HEDGED, False); a cached
      "not managed" (``None``, from a 404) → ``(False, False)``;
    * age ≤ ``last_known_seconds`` → (that answer, True);
    * older or absent → ``(False, True)``: the seed's conservative fallback, the trade is
      left to the exit manager.

    A stamp later than ``now`` counts as fresh (age ≤ fresh_seconds).
    """
    if account_defensive(store.get_account_mode(), account_now or now):
        return True, False
    cached = store.get_state(ticket)
    if cached is None:
        return False, True
    state, at = cached
    age = (now - at).total_seconds()
    defensive = state in DEFENSIVE_STATES
    if age <= settings.fresh_seconds:
        return defensive, False
    if age <= settings.last_known_seconds:
        return defensive, True
    return False, True
