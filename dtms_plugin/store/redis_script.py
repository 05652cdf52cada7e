"""The one Lua script every write of :class:`~.redis_store.RedisStore` goes through.

Why a script rather than MULTI/EXEC: a batch's writes need values only Redis has at
commit time (the journal's next sequence number, a record's current version, an outbox
entry's first-write order), and Redis runs a script as one step, with nothing of another
client in between. The script first checks every record version it was given (the
fencing of docs/scaling.md), and writes nothing when one is stale; then it applies every
operation, in order. So a batch commits entirely or not at all.

Operations (a JSON array of arrays; tickets as decimal strings, so Lua's doubles never
print one as ``1e+15``):

- ``["rec", t, json, expect, listing]``: the record of ``t`` with version ``expect`` (0:
  absent; -1: whatever it is) becomes ``json`` at the next version, with its listing
  entry (:mod:`.listing`; empty for a value that is no record) in the same hash, marked
  with that version (``l``, ``lv``);
- ``["delrec", t, expect]``: the record goes (same check);
- ``["set", key, json]`` / ``["del", key]``: a plain value (state, account mode, value);
- ``["ob", t, json]`` / ``["obdel", t]`` / ``["obdelif", t, json]``: outbox entries, which
  keep the place of their first write; ``obdelif`` removes only an entry equal to ``json``;
- ``["act", json, t]``: a journal entry (``t`` empty when it belongs to no trade);
- ``["purge", t]``: a finished trade goes with its state and journal entries;
- ``["fence", t]``: the record of ``t``, if any, moves to its next version unchanged (a new
  owner's fencing token: whoever wrote it before can no longer), and so does its listing
  entry when it was the entry of the version before;
- ``["relist", t, listing, version]``: the listing entry of ``t``, rebuilt from its record
  at ``version`` (a decimal string), written only if the record is still at that version
  (no record write: nothing is fenced);
- ``["close", key, json, score]`` / ``["unclose", key]``: the account's record of one
  close (:mod:`.closes`), by its key, ordered by ``score`` (its close time, epoch
  seconds), written with the closed record itself; or removed.
- ``["arch", t, json]``: the record ``json`` appended to the archived records of ``t``
  (``archive:<t>``, a JSON array: spliced as text, so nothing else in it is re-encoded),
  and the archive index (the hash ``archives``: ticket -> how many) told;
- ``["archcas", t, old, new]``: the archived records of ``t`` become ``new`` (empty:
  gone, and out of the index) only if they are still ``old`` (empty: absent), 1/0: a
  retention pass never loses a record archived by another replica after it read them;
- ``["archidx", t]``: the index entry of ``t`` counted again from its archived records
  (a store written before the index, :mod:`.archives`).

Every call names itself (``ARGV[5]``, a fresh token): its reply is kept for
:data:`MARK_TTL_MS` under ``sent:<token>``, and a call that finds its mark answers it
again without applying anything. So the same call sent twice (redis-py sends a command
again after a timeout or a lost connection) is applied once, and :data:`SETTLE` can tell
afterwards whether a call whose answer was lost ran: it marks the token ``["cancelled"]``
if no call ran under it, and then none ever will (:meth:`.redis_store.RedisStore._settle`).

The reply is ``["ok", r1, r2, ...]`` (a record's new version for ``rec`` and ``fence``,
1/0 for ``obdelif``, ``relist`` and ``archcas``, 0 otherwise) or ``["stale", t, version]`` for the
first record that failed its check.
"""

from __future__ import annotations

#: how long a call's reply is kept (its token's mark): far past the time a call whose
#: client gave up waiting can still be queued in Redis before it runs
MARK_TTL_MS = 600_000

APPLY = """
local p = ARGV[1]
local max_actions = tonumber(ARGV[2])
local per_ticket = tonumber(ARGV[3])
local ops = cjson.decode(ARGV[4])
local mark = p .. 'sent:' .. ARGV[5]
local prior = redis.call('GET', mark)
if prior then return cjson.decode(prior) end  -- this call ran (or was cancelled) before

local seen = {}
local function version(t)
  if seen[t] == nil then
    seen[t] = tonumber(redis.call('HGET', p .. 'trade:' .. t, 'v')) or 0
  end
  return seen[t]
end
for _, op in ipairs(ops) do
  if op[1] == 'rec' or op[1] == 'delrec' then
    local expect = op[1] == 'rec' and op[4] or op[3]
    local current = version(op[2])
    if expect >= 0 and current ~= expect then
      return {'stale', op[2], current}
    end
    if op[1] == 'rec' then seen[op[2]] = current + 1 else seen[op[2]] = 0 end
  end
end

local out = {'ok'}
local function list(key, entry, at)  -- a record's listing entry, of its version ``at``
  if entry == '' then redis.call('HDEL', key, 'l') else redis.call('HSET', key, 'l', entry) end
  redis.call('HSET', key, 'lv', at)
end
local function place(index, member)
  if not redis.call('ZSCORE', p .. index, member) then
    redis.call('ZADD', p .. index, redis.call('INCR', p .. 'order'), member)
  end
end
local function index(t)  -- the archive index entry of ``t``, from its archived records
  local text = redis.call('GET', p .. 'archive:' .. t)
  local ok, value = pcall(cjson.decode, text or 'null')
  if ok and type(value) == 'table' and #value > 0 then
    redis.call('HSET', p .. 'archives', t, #value)
  else
    redis.call('HDEL', p .. 'archives', t)
  end
end
for _, op in ipairs(ops) do
  local kind, result = op[1], 0
  if kind == 'rec' then
    local key = p .. 'trade:' .. op[2]
    result = redis.call('HINCRBY', key, 'v', 1)
    redis.call('HSET', key, 'j', op[3])
    list(key, op[5], result)
    place('trades', op[2])
  elseif kind == 'delrec' then
    redis.call('DEL', p .. 'trade:' .. op[2])
    redis.call('ZREM', p .. 'trades', op[2])
  elseif kind == 'set' then
    redis.call('SET', p .. op[2], op[3])
  elseif kind == 'del' then
    redis.call('DEL', p .. op[2])
  elseif kind == 'ob' then
    redis.call('SET', p .. 'outbox:' .. op[2], op[3])
    place('outboxes', op[2])
  elseif kind == 'obdel' or kind == 'obdelif' then
    if kind == 'obdel' or redis.call('GET', p .. 'outbox:' .. op[2]) == op[3] then
      redis.call('DEL', p .. 'outbox:' .. op[2])
      redis.call('ZREM', p .. 'outboxes', op[2])
      result = 1
    end
  elseif kind == 'purge' then
    local index = p .. 'journal:ticket:' .. op[2]
    for _, seq in ipairs(redis.call('LRANGE', index, 0, -1)) do
      redis.call('HDEL', p .. 'journal', seq)
    end
    redis.call('DEL', index, p .. 'state:' .. op[2], p .. 'trade:' .. op[2])
    redis.call('ZREM', p .. 'trades', op[2])
  elseif kind == 'fence' then
    local key = p .. 'trade:' .. op[2]
    if redis.call('EXISTS', key) == 1 then
      local lv = redis.call('HGET', key, 'lv')
      local listed = lv and lv == redis.call('HGET', key, 'v')
      result = redis.call('HINCRBY', key, 'v', 1)
      if listed then redis.call('HSET', key, 'lv', result) end
    end
  elseif kind == 'relist' then
    local key = p .. 'trade:' .. op[2]
    if redis.call('HGET', key, 'v') == op[4] then
      list(key, op[3], op[4])
      result = 1
    end
  elseif kind == 'close' then
    redis.call('ZADD', p .. 'closed', op[4], op[2])
    redis.call('HSET', p .. 'closed:entries', op[2], op[3])
  elseif kind == 'unclose' then
    redis.call('ZREM', p .. 'closed', op[2])
    redis.call('HDEL', p .. 'closed:entries', op[2])
  elseif kind == 'arch' then
    local key = p .. 'archive:' .. op[2]
    local text = redis.call('GET', key)
    local ok, value = pcall(cjson.decode, text or 'null')
    if ok and type(value) == 'table' and #value > 0 and string.sub(text, -1) == ']' then
      redis.call('SET', key, string.sub(text, 1, -2) .. ',' .. op[3] .. ']')
    else  -- none yet (or an unreadable value, which the store reads as none)
      redis.call('SET', key, '[' .. op[3] .. ']')
    end
    index(op[2])
  elseif kind == 'archcas' then
    local key = p .. 'archive:' .. op[2]
    if (redis.call('GET', key) or '') == op[3] then
      if op[4] == '' then redis.call('DEL', key) else redis.call('SET', key, op[4]) end
      index(op[2])
      result = 1
    end
  elseif kind == 'archidx' then
    index(op[2])
  elseif kind == 'act' then
    local raw = redis.call('GET', p .. 'journal:seq')
    local seq = raw and string.match(raw, '^%d+$') and tonumber(raw)
    if not seq or redis.call('HEXISTS', p .. 'journal', seq) == 1 then
      seq = 0  -- none, no digits alone, or an entry's already (it went back): past the newest
      for _, field in ipairs(redis.call('HKEYS', p .. 'journal')) do
        local n = tonumber(field)
        if n and n >= seq then seq = n + 1 end
      end
    end
    redis.call('HSET', p .. 'journal', seq, op[2])
    redis.call('SET', p .. 'journal:seq', seq + 1)
    if op[3] ~= '' then
      local index = p .. 'journal:ticket:' .. op[3]
      redis.call('RPUSH', index, seq)
      local over = redis.call('LLEN', index) - per_ticket
      if over > 0 then  -- past the trade's newest per_ticket: gone
        for _, old in ipairs(redis.call('LRANGE', index, 0, over - 1)) do
          redis.call('HDEL', p .. 'journal', old)
        end
        redis.call('LTRIM', index, -per_ticket, -1)
      end
    end
    if seq >= max_actions then  -- out of the newest max_actions: gone unless a trade keeps it
      local old = redis.call('HGET', p .. 'journal', seq - max_actions)
      local ok, entry = pcall(cjson.decode, old or 'null')
      if not (ok and type(entry) == 'table' and type(entry.ticket) == 'number') then
        redis.call('HDEL', p .. 'journal', seq - max_actions)
      end
    end
  else
    return redis.error_reply('unknown store operation ' .. tostring(kind))
  end
  out[#out + 1] = result
end
redis.call('SET', mark, cjson.encode(out), 'PX', MARK_TTL)
return out
""".replace("MARK_TTL", str(MARK_TTL_MS))

#: ``ARGV``: the prefix, a token. The reply the call under the token gave, if one ran;
#: otherwise nil, and the token is cancelled: a call under it still on its way applies
#: nothing when it arrives.
SETTLE = """
local mark = ARGV[1] .. 'sent:' .. ARGV[2]
local prior = redis.call('GET', mark)
if prior then return prior end
redis.call('SET', mark, '["cancelled"]', 'PX', MARK_TTL)
return false
""".replace("MARK_TTL", str(MARK_TTL_MS))
