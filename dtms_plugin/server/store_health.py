"""What ``/health`` says of the store and, with a Redis store, of this replica's part in
the shared state (docs/scaling.md, "Failures"): each a problem, so the answer is 503
while it lasts and a load balancer sends the clients to another replica."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..store import StoreError, StoreProtocol

if TYPE_CHECKING:  # redis's: imported only with a Redis store
    from .replicas import Replicas


#: how long ``/health`` lists a write the store failed: a full disk fails the writes that
#: need room and lets small ones through, so "until a write succeeds" would flap between
#: healthy and not from one cycle to the next; each failure starts the time again
WRITE_FAILURE_SHOWN_SECONDS = 60.0


def write_problems(store: StoreProtocol, now: float) -> list[str]:
    """The directory store's last failed write, while recent (a Redis store's failures
    are its replicas' problems)."""
    failure = getattr(store, "last_write_failure", None)
    if failure is None:
        return []
    at, why = failure
    ago = max(0.0, now - at)
    if ago > WRITE_FAILURE_SHOWN_SECONDS:
        return []
    shown = f"{WRITE_FAILURE_SHOWN_SECONDS:.0f} s"
    return [f"{why} ({ago:.0f} s ago; a failed write is listed for {shown} after it)"]


def store_problems(
    store: StoreProtocol, replicas: Replicas | None, now: float | None = None
) -> list[str]:
    """The store out of reach (every answer would be wrong or a 503), a directory store
    that could not write lately (a full disk: its reads still answer, but registrations
    are 503s and cycles' outcomes are lost), and this replica's own failures that the
    store's reads do not show. ``now``: Unix time (default: the wall clock's)."""
    problems: list[str] = []
    try:
        store.get_account_mode()
    except StoreError as exc:
        problems.append(str(exc))
    problems += write_problems(store, time.time() if now is None else now)
    if replicas is not None:
        problems += replicas.problems()
    return problems


def damaged_keys(store: StoreProtocol) -> list[str]:
    """The keys of a Redis store found unreadable (not a problem: each hides only
    itself, and every replica would be 503 for one hand-edited key)."""
    return sorted(getattr(store, "damaged", {}))
