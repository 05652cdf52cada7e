"""The index of a Redis store's trade records (``trades``, a sorted set) kept whole by the
replicas (docs/scaling.md, "Failures").

Everything that lists the records or looks for orphans reads the index, never the keys:
``DEL dtms:trades`` by hand left every open trade's record in place and none of them
listed (``/dtms/trades`` total 0) or claimable: once the replica holding a trade died,
nobody took it over, without a word. So each renewal at the start of a cycle puts the
held trades back in the index (:data:`.lease_scripts.RENEW`), and every
:data:`INDEX_SECONDS` a replica looks for records the index lacks (``SCAN trade:*``)
and puts them back: said once at WARNING per episode, with the count.
"""

from __future__ import annotations

import logging
import time

import redis

from ..store.redis_store import RedisStore
from ..store.rows import key_number
from .lease_scripts import tickets_text

#: how often a replica looks for records the index lacks (a SCAN of the store's keys)
INDEX_SECONDS = 60.0

#: put each ticket of ARGV[2..] whose record is there back in the index (scored after
#: every one there, as a record written first); the tickets put back
PLACE = """
local back = {}
for i = 2, #ARGV do
  local t = ARGV[i]
  if not redis.call('ZSCORE', ARGV[1] .. 'trades', t)
      and redis.call('EXISTS', ARGV[1] .. 'trade:' .. t) == 1 then
    redis.call('ZADD', ARGV[1] .. 'trades', redis.call('INCR', ARGV[1] .. 'order'), t)
    back[#back + 1] = t
  end
end
return back
"""


class IndexWatch:
    """A replica's checks that the index lists every record; its words, once an episode."""

    def __init__(self, store: RedisStore, replica: str, log: logging.Logger) -> None:
        self.store, self.replica, self.log = store, replica, log
        self._place = store.client.register_script(PLACE)
        self._at: float | None = None  # monotonic, the last look (none yet: due)
        self._said = False  # an episode said, until a look finds the index whole

    def check(self, held: list[int]) -> None:
        """``held``: the held trades the renewal put back in the index
        (:data:`.lease_scripts.RENEW`). Every :data:`INDEX_SECONDS`, or now when the
        renewal put some back: the records the index lacks put back too, and all said. A
        store that fails is tried at the next look."""
        due = self._at is None or time.monotonic() - self._at >= INDEX_SECONDS
        if not held and not due:
            return
        self._at = time.monotonic()
        p = self.store.prefix
        back = list(held)
        try:
            tickets = [
                name
                for key in self.store.client.scan_iter(match=f"{p}trade:*", count=1000)
                if key_number(name := key[len(p) + len("trade:") :]) is not None
            ]
            if len(tickets) > self.store.client.zcard(f"{p}trades"):
                for i in range(0, len(tickets), 500):
                    back += [int(t) for t in self._place(args=[p, *tickets[i : i + 500]])]
        except redis.RedisError as exc:
            self.log.debug("replica %s: the index not checked now: %s", self.replica, exc)
        if not back:
            self._said = False
        elif self._said:
            self.log.debug("replica %s: %d more put back in the index", self.replica, len(back))
        else:
            self._said = True
            self.log.warning(
                "replica %s: the index %strades of store %s lacked %d trades whose records"
                " are there (the key deleted or edited by hand?): put back, so they are"
                " listed and claimed again: %s",
                self.replica,
                p,
                self.store.location,
                len(back),
                tickets_text(back),
            )
