"""The account's recent closes in Redis (:mod:`.closes`), part of
:class:`~.redis_store.RedisStore`: a sorted set of close keys by close time
(``closed``) and their entries (``closed:entries``), written by the store's one script
with the closed record (``close`` ops), read and trimmed by :data:`RECENT` in one step.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import redis

from .closes import Close, close_of
from .disk import Encoded, encode

#: closes older than the reader's day by this much are let go when no longer among the
#: last ``stop_streak``: kept a day longer for a replica whose clock lags the one that
#: read (docs/scaling.md, "The account rails")
KEEP_BEFORE_DAY = timedelta(days=1)

#: KEYS: the sorted set, the entries. ARGV: since, forget before (epoch seconds), at least.
#: Returns the entries of the closes at or after ``since`` or among the last ``at least``,
#: oldest first, after removing those before ``forget before`` that are not among them.
RECENT = """
local n = tonumber(ARGV[3])
local low, forget = ARGV[1], ARGV[2]
if n > 0 then
  local nth = redis.call('ZREVRANGE', KEYS[1], n - 1, n - 1, 'WITHSCORES')
  if #nth == 0 then  -- fewer than n closes: all of them
    low, forget = '-inf', nil
  else  -- scores stay text: a Lua number passed to Redis keeps 14 digits
    if tonumber(nth[2]) < tonumber(low) then low = nth[2] end
    if tonumber(nth[2]) < tonumber(forget) then forget = nth[2] end
  end
end
if forget then
  for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. forget)) do
    redis.call('ZREM', KEYS[1], key)
    redis.call('HDEL', KEYS[2], key)
  end
end
local keys = redis.call('ZRANGEBYSCORE', KEYS[1], low, '+inf')
local out = {}
for i = 1, #keys, 1000 do  -- unpack takes a few thousand values at most
  local part = redis.call('HMGET', KEYS[2], unpack(keys, i, math.min(i + 999, #keys)))
  for j = 1, #part do out[#out + 1] = part[j] end  -- false: an entry gone
end
return out
"""


class RedisCloses:
    """Part of :class:`~.redis_store.RedisStore` (which provides what is declared here)."""

    client: Any
    prefix: str
    location: str

    if TYPE_CHECKING:

        def _unreadable(self, what: str, exc: Exception) -> None: ...

        def _damage(self, name: str, why: str) -> None: ...

    def _close_ops(self, record: Mapping[str, Any] | Encoded) -> list[list[Any]]:
        """The ``close`` op that goes with a record write, when the record holds a close.
        Most writes are of open trades, whose encoded text says so without decoding."""
        if isinstance(record, Encoded):
            if '"realised_profit":null' in record:
                return []
            record = json.loads(record)
        close = close_of(record) if isinstance(record, Mapping) else None
        if close is None:
            return []
        # the score as text: a Lua number passed to Redis keeps 14 digits, not microseconds
        return [["close", close.key, encode(close.to_json()), repr(close.closed_at.timestamp())]]

    def recent_closes(self, since: datetime, at_least: int) -> list[Close]:
        """The closes at or after ``since``, and never fewer than the last ``at_least``,
        oldest first (ties by ticket); closes older than a day before ``since`` and not
        among those last go (:data:`KEEP_BEFORE_DAY`)."""
        sorted_set = self.prefix + "closed"
        low = since.timestamp()
        forget = (since - KEEP_BEFORE_DAY).timestamp()
        try:
            texts = self.client.eval(
                RECENT, 2, sorted_set, self.prefix + "closed:entries", repr(low), repr(forget),
                max(at_least, 0),
            )  # fmt: skip
        except redis.RedisError as exc:
            self._unreadable("the recent closes", exc)
            return []
        out = []
        for text in texts:
            if text is None:  # its entry removed by hand: nothing to read
                continue
            try:
                close = close_of(json.loads(text)) if isinstance(text, str) else None
            except ValueError:
                close = None
            if close is None:  # the hash hand-edited: that entry alone is left out
                self._damage(f"{self.prefix}closed:entries", f"an unreadable entry {text!r:.80}")
                continue
            out.append(close)
        out.sort(key=lambda c: (c.closed_at, c.ticket))
        return out
