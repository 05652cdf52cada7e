"""The Lua scripts of :class:`~.replicas.Replicas`' leases (docs/scaling.md, "The flow"
2), and what a renewal says of the leases it found lost.

A lease key is the owner's id as a string, with a TTL. The renewal tells why each lease
is no longer its own, because each calls for a different word: another replica took it
(it manages the trade now), it expired unrenewed (the trade waits for a claimant), or the
trade's record vanished with it (Redis flushed, restarted without persistence, or
evicted: nobody manages the trade, and the operator needs to know). A lease gone although
this replica renewed it within its TTL did not expire: it was evicted (Redis's
``evicted_keys`` rose) or deleted, said as such (:meth:`.store_loss.StoreWatch.explain`),
not as "this replica was late".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

#: renew the lease of each ticket of ARGV[5..] still ours; the others as ticket, why. With
#: ARGV[4] '1' (the renewal at the start of a cycle, when no registration is half done) a
#: lease of ours whose record is gone (evicted alone) is lost too, as 'vanished'; and one
#: whose record is there but not in the index ``trades`` (deleted by hand) is put back in
#: it, said as 'indexed' (not lost): nobody could list or claim it otherwise
RENEW = """
local lost = {}
local function indexed(t)
  if ARGV[4] == '1' and not redis.call('ZSCORE', ARGV[1] .. 'trades', t)
      and redis.call('EXISTS', ARGV[1] .. 'trade:' .. t) == 1 then
    redis.call('ZADD', ARGV[1] .. 'trades', redis.call('INCR', ARGV[1] .. 'order'), t)
    lost[#lost + 1] = t
    lost[#lost + 1] = 'indexed'
  end
end
for i = 5, #ARGV do
  local key = ARGV[1] .. 'lease:' .. ARGV[i]
  local owner = redis.pcall('GET', key)
  if owner == ARGV[2] and ARGV[4] == '1'
      and redis.call('EXISTS', ARGV[1] .. 'trade:' .. ARGV[i]) == 0 then
    redis.call('DEL', key)
    lost[#lost + 1] = ARGV[i]
    lost[#lost + 1] = 'vanished'
  elseif owner == ARGV[2] then
    redis.call('PEXPIRE', key, ARGV[3])
    indexed(ARGV[i])
  else
    local why = 'taken'
    if type(owner) == 'table' then
      why = 'wrongtype'
    elseif not owner then
      why = 'expired'
      if redis.call('EXISTS', ARGV[1] .. 'trade:' .. ARGV[i]) == 0 then why = 'vanished' end
    end
    lost[#lost + 1] = ARGV[i]
    lost[#lost + 1] = why
  end
end
return lost
"""
#: take the lease ARGV[1] for ARGV[2] (PX ARGV[3]) if nobody holds it: a key of the
#: wrong type or without a TTL (set by hand) holds nothing and is replaced, and said:
#: {taken, what it replaced}
ACQUIRE = """
local kind = redis.call('TYPE', ARGV[1])['ok']
local was = ''
if kind ~= 'none' then
  if kind ~= 'string' then
    was = 'a ' .. kind
  elseif redis.call('PTTL', ARGV[1]) == -1 then
    was = 'no TTL'
  else
    return {0, ''}
  end
  redis.call('DEL', ARGV[1])
end
redis.call('SET', ARGV[1], ARGV[2], 'PX', ARGV[3])
return {1, was}
"""
RELEASE = """
for i = 3, #ARGV do
  local key = ARGV[1] .. 'lease:' .. ARGV[i]
  if redis.pcall('GET', key) == ARGV[2] then redis.call('DEL', key) end
end
return 0
"""

#: what a renewal says of the leases it lost, by why: level, then the words
_SAID = {
    "taken": (logging.ERROR, "lost the lease of %d trades (another replica manages them now)"),
    "expired": (
        logging.ERROR,
        "lost the lease of %d trades (expired unrenewed: this replica was late; any"
        " replica claims them)",
    ),
    "evicted": (
        logging.ERROR,
        "lost the lease of %d trades (the key evicted by Redis before its TTL: the store is"
        " full, its evicted_keys rose; see its maxmemory-policy, docs/scaling.md; any"
        " replica claims them)",
    ),
    "deleted": (
        logging.ERROR,
        "lost the lease of %d trades (the key gone before its TTL, renewed in time: deleted"
        " by hand or by another program, or evicted; any replica claims them)",
    ),
    "wrongtype": (
        logging.WARNING,
        "found the lease keys (lease:<ticket>) of %d held trades of the wrong type (edited"
        " by hand?):"
        " treated as expired, any replica claims them",
    ),
    "vanished": (
        logging.WARNING,
        "records of %d held trades disappeared from the store (Redis flushed, restarted"
        " without persistence, or evicted): this replica writes them again from its memory",
    ),
}


def lost_by_why(reply: Iterable[object]) -> dict[int, str]:
    """The renewal script's reply (ticket, why, ticket, why ...) as ``{ticket: why}``
    (``indexed`` among them: held still, put back in the index)."""
    flat = list(reply)
    return {int(str(t)): str(w) for t, w in zip(flat[::2], flat[1::2], strict=True)}


def say_lost(log: logging.Logger, replica: str, lost: dict[int, str]) -> None:
    """One line per reason: how many trades, which ones."""
    for why, (level, words) in _SAID.items():
        tickets = sorted(t for t, w in lost.items() if w == why)
        if tickets:
            log.log(level, f"replica %s {words}: %s", replica, len(tickets), tickets_text(tickets))


def tickets_text(tickets: Iterable[int], shown: int = 20) -> str:
    ordered = sorted(tickets)
    return ", ".join(map(str, ordered[:shown])) + (" ..." if len(ordered) > shown else "")
