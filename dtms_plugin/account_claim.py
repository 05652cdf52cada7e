"""One DTMS engine per account, whatever its state folder: a second engine on the same
account from another ``state_dir`` (a folder moved or copied, a ``dtms serve`` started
from another folder) adopts every open position as its own and acts on each a second
time (docs/dtms.md §8). The store's ``engine.lock`` guards a folder, not an account, so
an engine that owns all of an account's trades (a diskcache store: a host's local engine,
``dtms serve`` on a folder) also holds the account's lock (:mod:`hookspecs.locks`,
released when the process ends however it ends), where the broker says it is
(``AccountInfo.engine_lock``: beside a paper account file; MetaTrader's in a per-user
folder, so it guards one machine). Replicas of ``dtms serve`` on a Redis store share an
account by leases (docs/scaling.md) and take no such lock; replays have accounts in
memory, which have none."""

from __future__ import annotations

import os
from pathlib import Path

from hookspecs import AccountInfo, locks

from .store import Store, StoreError, StoreProtocol


def claim_account(store: StoreProtocol, account: AccountInfo) -> Path | None:
    """Hold the account's engine lock for this process; the path held (to release at
    shutdown), or None when there is nothing to hold. A :class:`StoreError` in one line
    naming the engine that holds it, both state folders and what to do."""
    if not isinstance(store, Store):
        return None  # a Redis store's replicas share the account by leases
    if not account.engine_lock:
        return None  # an account in this process's memory: no other engine sees it
    path = Path(account.engine_lock)
    folder = store.directory.resolve()
    name = account.identity or f"login {account.login}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        other = locks.hold(path, f"pid {os.getpid()}, state_dir {folder}", mode=0o600)
    except OSError as exc:
        raise StoreError(f"account {name}: cannot lock {path}: {exc}") from None
    if other is not None:
        raise StoreError(
            f"account {name}: another DTMS engine ({other or 'another process'}) defends "
            f"its trades; this engine's state_dir is {folder}, and two engines on one "
            "account would act on every trade twice (stop one of them; a host beside a "
            '`dtms serve` sets its [plugin.dtms] strategy = "remote"; replicas share a '
            "Redis store: docs/scaling.md)"
        )
    return path


def release_account(path: Path | None) -> None:
    """Let go of what :func:`claim_account` held (None: nothing)."""
    if path is not None:
        locks.release(path)
