"""The one script a Redis store's account and replica settings change through
(:mod:`.redis_account`, docs/scaling.md "One account, one set of settings per Redis").

Why a script: what a replica checks at start-up (the account the store defends, the
settings its live replicas run with, whether any of them is live) and what it writes on
the strength of it (its heartbeat, the account, the settings, and, when it takes the
store over for another account, every record of the old one archived) must be one step.
Two replicas starting at once, one of each account (or each with other settings), would
otherwise each find nobody live and each take the store over; and a replica of the old
account starting while the records were being archived would claim them first. So the
script first checks that the account and the settings are still what the replica read,
and, when it changes them, that no other replica is live (its heartbeat there, or its
score in ``replicas``, when it counts as dead, not passed: a full Redis evicts
heartbeats, not that set); then it writes everything, this
replica's heartbeat included, so that the next replica to start finds it live.

``ARGV``: the prefix; the account value read (``""``: none); the settings value read
(``""``: none; ``"-"``: not checked); the id of the replica that must be alone (``""``:
no such check); the account and settings values to write (``""``: kept as they are);
``"1"`` to take the store over for the new account; the replica id whose heartbeat is
written (``""``: none), its heartbeat, its TTL in ms and the time (epoch seconds); the
registration stream and its consumer group.

The reply: ``["changed"]`` (the account or settings moved since they were read),
``["live", id]`` (a replica is live), or ``["ok", archived, registrations, outbox entries,
open tickets...]`` (what a takeover let go of; zeros otherwise). A takeover archives each
of the old account's records as :mod:`.store.archives` keeps them (the record's JSON
appended to ``archive:<t>``, the index told), never acted on; and clears its account mode,
its rails' recent closes, the closes left for its trades, its cached states and leases,
its registrations not yet applied and the remote hosts' outboxes and open lists (they
are its trades, and would be sent, registered or reported on the new account).
"""

from __future__ import annotations

GATE = """
local p = ARGV[1]
local function value(key)
  local text = redis.pcall('GET', p .. key)
  if type(text) ~= 'string' then return '' end  -- none, or of the wrong type
  return text
end
if value('value:account') ~= ARGV[2] then return {'changed'} end
if ARGV[3] ~= '-' and value('value:replica_settings') ~= ARGV[3] then return {'changed'} end
if ARGV[4] ~= '' then
  local rows = redis.call('ZRANGE', p .. 'replicas', 0, -1, 'WITHSCORES')
  for i = 1, #rows, 2 do
    local id = rows[i]
    if id ~= ARGV[4] and (redis.call('EXISTS', p .. 'replica:' .. id) == 1
        or tonumber(rows[i + 1]) > tonumber(ARGV[11])) then
      return {'live', id}
    end
  end
end
local out = {'ok', 0, 0, 0}
if ARGV[7] == '1' then
  for _, t in ipairs(redis.call('ZRANGE', p .. 'trades', 0, -1)) do
    local key = p .. 'trade:' .. t
    local j = redis.pcall('HGET', key, 'j')
    local ok, rec = pcall(cjson.decode, type(j) == 'string' and j or 'null')
    if ok and type(rec) == 'table' then  -- a damaged one stays as it is: nobody reads it
      local akey = p .. 'archive:' .. t
      local text = redis.pcall('GET', akey)
      if type(text) ~= 'string' then text = '' end
      local okd, kept = pcall(cjson.decode, text ~= '' and text or 'null')
      local n = 1
      if okd and type(kept) == 'table' and #kept > 0 and string.sub(text, -1) == ']' then
        redis.call('SET', akey, string.sub(text, 1, -2) .. ',' .. j .. ']')
        n = #kept + 1
      else
        redis.call('SET', akey, '[' .. j .. ']')
      end
      redis.call('HSET', p .. 'archives', t, n)
      redis.call('DEL', key, p .. 'state:' .. t, p .. 'lease:' .. t, p .. 'passed:' .. t)
      redis.call('ZREM', p .. 'trades', t)
      out[2] = out[2] + 1
      if rec.state ~= 'CLOSED' then out[#out + 1] = t end
    end
  end
  local stream = redis.pcall('XLEN', ARGV[12])
  if type(stream) == 'number' then out[3] = stream end
  redis.call('DEL', ARGV[12])
  redis.call('XGROUP', 'CREATE', ARGV[12], ARGV[13], '0', 'MKSTREAM')
  for _, t in ipairs(redis.call('ZRANGE', p .. 'outboxes', 0, -1)) do
    redis.call('DEL', p .. 'outbox:' .. t)
    out[4] = out[4] + 1
  end
  redis.call('DEL', p .. 'outboxes', p .. 'account:mode', p .. 'closed', p .. 'closed:entries',
             p .. 'closes', p .. 'value:remote:open', p .. 'value:remote:history')
end
if ARGV[5] ~= '' then redis.call('SET', p .. 'value:account', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('SET', p .. 'value:replica_settings', ARGV[6]) end
if ARGV[8] ~= '' then
  redis.call('SET', p .. 'replica:' .. ARGV[8], ARGV[9], 'PX', ARGV[10])
  redis.call('ZADD', p .. 'replicas', tonumber(ARGV[11]) + tonumber(ARGV[10]) / 1000, ARGV[8])
end
return out
"""
