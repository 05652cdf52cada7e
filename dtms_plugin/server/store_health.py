"""What ``/health`` says of the store and, with a Redis store, of this replica's part in
the shared state (docs/scaling.md, "Failures"): each a problem, so the answer is 503
while it lasts and a load balancer sends the clients to another replica."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..store import StoreError, StoreProtocol

if TYPE_CHECKING:  # redis's: imported only with a Redis store
    from .replicas import Replicas


def store_problems(store: StoreProtocol, replicas: Replicas | None) -> list[str]:
    """The store out of reach (every answer would be wrong or a 503), and this replica's
    own failures that the store's reads do not show."""
    problems: list[str] = []
    try:
        store.get_account_mode()
    except StoreError as exc:
        problems.append(str(exc))
    if replicas is not None:
        problems += replicas.problems()
    return problems


def damaged_keys(store: StoreProtocol) -> list[str]:
    """The keys of a Redis store found unreadable (not a problem: each hides only
    itself, and every replica would be 503 for one hand-edited key)."""
    return sorted(getattr(store, "damaged", {}))
