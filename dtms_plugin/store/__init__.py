"""DTMS persistence: trade records, the ``is_defensive`` state cache, the account mode,
the action history and the remote strategy's outbox, in one diskcache directory
(docs/architecture.md §9, docs/dtms.md §8).

Why diskcache: it is SQLite underneath, so several processes (the host, ``dtms serve``, a
CLI) may share one directory safely, with real transactions. Why it is fenced in: by
default diskcache unpickles what it finds, follows file names found in rows and applies
settings found in its own tables, so anyone who can write a row into the directory could
run code in our process or delete files. Here only JSON text is ever decoded
(:mod:`.disk`), no file is touched because a row names it, and the settings are our own
(:mod:`.opening`).

- :mod:`.disk`: the JSON-only ``Disk``;
- :mod:`.opening`: directory, pinned settings, corruption handling, :class:`StoreError`;
- :mod:`.core`: the :class:`Store` API;
- :mod:`.protocol`: :class:`StoreProtocol`, that API as a type every backend implements;
- :mod:`.listing`: each record's listing entry (what the dashboard orders and filters by),
  kept in the record's own row (:mod:`.disk_listing`, :mod:`.redis_listing`);
- :mod:`.redis_store` (with :mod:`.redis_script`, :mod:`.redis_values`): the same API on
  Redis, for several ``dtms serve`` replicas (docs/scaling.md), the optional ``redis``
  extra; :mod:`.location` picks the backend from ``[plugin.dtms] store``.
"""

from .core import PER_TICKET_ACTIONS, Store
from .disk import Encoded, JsonDisk, UnsafeRowError
from .opening import StoreError
from .protocol import StoreProtocol

__all__ = [
    "PER_TICKET_ACTIONS",
    "Encoded",
    "JsonDisk",
    "Store",
    "StoreError",
    "StoreProtocol",
    "UnsafeRowError",
]
