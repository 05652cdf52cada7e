"""Which backend a store location names: ``[plugin.dtms] store``, a ``redis://``,
``rediss://`` or ``unix://`` URL (several replicas, docs/scaling.md), or empty for the
diskcache directory ``state_dir`` (the default, one machine). The settings check the URL's
shape (:class:`~dtms_plugin.settings.DtmsSettings`)."""

from __future__ import annotations

import logging

from hookspecs import install_hint, masked_url

from .core import Store
from .protocol import StoreProtocol


def open_store(
    location: str,
    state_dir: str,
    log: logging.Logger | None = None,
    *,
    lock_wait: float | None = None,
) -> StoreProtocol:
    """The store ``location`` names, or the diskcache directory ``state_dir`` when it is
    empty. Raises :class:`~.opening.StoreError` (one line) when it cannot be opened.
    ``lock_wait``: how long a directory store's writes wait for another writer's lock
    once it is open (:func:`~.opening.open_cache`); None, the store's own 5 s."""
    if location:
        from .opening import StoreError

        try:
            from .redis_store import RedisStore
        except ImportError:
            where = masked_url(location)
            raise StoreError(
                f"store {where}: the redis package is missing ({install_hint('redis')})"
            ) from None
        return RedisStore(location, log=log)
    return Store(state_dir, log=log, lock_wait=lock_wait)
