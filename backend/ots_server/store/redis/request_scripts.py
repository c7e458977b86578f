"""The Lua scripts of the Redis store's requests: every operation on a request is one of them.

Each script touches exactly two keys of one request, ``KEYS[1]`` (the record, a hash) and
``KEYS[2]`` (the sealed answer, a string), which share the hash tag ``{<id>}``, so it runs on
the one Cluster node that owns the request, atomically: of any number of answers, from any
number of ots-server instances, exactly one finds the request open and stores its answer.

The record hash holds ``av`` and ``ov`` (the answer and owner verifiers), ``ca``/``ea``/``ku``
(created, expires, keep until), ``st`` (``open``, ``answered``, ``expired``, ``closed``) and
``sa`` (when it was answered or ended). The answer key exists exactly while the request is
answered and not over.

Rules (as for secrets, see :mod:`.scripts`, and :mod:`ots_server.store.rules`):

- Verifiers are compared by ``ct_eq`` (the shared prologue, :mod:`.lua`), which visits every
  byte whatever differs. Which verifier a script reads (``av`` or ``ov``) depends on the
  operation only.
- Time is the caller's ``now`` (``ARGV[1]``); a record past ``ku`` is absent; a live request
  with ``ea <= now`` is expired, and so is an answered one whose answer key is gone (its TTL,
  set to the expiry, fired).
- Ending a request (``finish``) deletes the answer and records the state in the same script.
  The first write of a script is what Redis refuses under ``maxmemory`` (nothing written).
- TTLs: the record until ``ku``, the answer until ``ea``, relative to ``now``, never extended.

Replies are flat arrays whose first element names the outcome.
"""

from __future__ import annotations

from ots_server.store.redis import lua

_PRELUDE = (
    lua.prologue("local R, A = KEYS[1], KEYS[2]")
    + """
local function finish(state, at)
  redis.call('DEL', A)
  redis.call('HSET', R, 'st', state, 'sa', at)
end

-- The live request whose verifier `field` ('av' or 'ov') matches, or nil and the reply.
-- Fields: 1 verifier, 2 st, 3 sa, 4 ca, 5 ea, 6 ku.
local function lookup(field, check, write)
  local r = redis.call('HMGET', R, field, 'st', 'sa', 'ca', 'ea', 'ku')
  if not r[1] or tonumber(r[6]) <= now or not ct_eq(r[1], check) then
    return nil, {'not_found'}
  end
  if r[2] ~= 'open' and r[2] ~= 'answered' then return nil, {'gone', r[2], tonumber(r[3])} end
  local ea = tonumber(r[5])
  if ea <= now or (r[2] == 'answered' and redis.call('EXISTS', A) == 0) then
    if write then finish('expired', ea) end
    return nil, {'gone', 'expired', ea}
  end
  return r
end
"""
)

#: ARGV: created_at, answer verifier, owner verifier, expires_at, keep_until.
CREATE = (
    _PRELUDE
    + """
local ku = redis.call('HGET', R, 'ku')
if ku then
  if tonumber(ku) > now then return {'exists'} end
  redis.call('DEL', R, A)
end
redis.call('HSET', R, 'av', ARGV[2], 'ov', ARGV[3], 'ca', ARGV[1], 'ea', ARGV[4],
  'ku', ARGV[5], 'st', 'open')
redis.call('EXPIRE', R, math.max(1, tonumber(ARGV[5]) - now))
return {'ok'}
"""
)

#: ARGV: now, check, the verifier's field ('av' for peek, 'ov' for status), '1' to return
#: the answer. Read-only. Reply: ok, state, answered or -1, created, expires, answer or ''.
READ = (
    _PRELUDE
    + """
local r, reply = lookup(ARGV[3], ARGV[2], false)
if not r then return reply end
local sealed = ''
if ARGV[4] == '1' and r[2] == 'answered' then sealed = redis.call('GET', A) end
local answered = -1
if r[2] == 'answered' then answered = tonumber(r[3]) end
return {'ok', r[2], answered, tonumber(r[4]), tonumber(r[5]), sealed}
"""
)

#: ARGV: now, answer check, sealed answer. Reply: ok, created, expires; or answered, at.
ANSWER = (
    _PRELUDE
    + """
local r, reply = lookup('av', ARGV[2], true)
if not r then return reply end
if r[2] == 'answered' then return {'answered', tonumber(r[3])} end
local ea = tonumber(r[5])
redis.call('SET', A, ARGV[3], 'EX', math.max(1, ea - now))
redis.call('HSET', R, 'st', 'answered', 'sa', now)
return {'ok', tonumber(r[4]), ea}
"""
)

#: ARGV: now, owner check. Reply: ok, now.
CLOSE = (
    _PRELUDE
    + """
local r, reply = lookup('ov', ARGV[2], true)
if not r then return reply end
finish('closed', now)
return {'ok', now}
"""
)

#: ARGV: now. Ends an expired request and deletes a record past keep_until; returns
#: {expired 0/1, purged 0/1}.
SWEEP = (
    _PRELUDE
    + """
local r = redis.call('HMGET', R, 'st', 'ea', 'ku')
if not r[1] then return {0, 0} end
local expired, purged = 0, 0
local ea = tonumber(r[2])
local live = r[1] == 'open' or r[1] == 'answered'
if live and (ea <= now or (r[1] == 'answered' and redis.call('EXISTS', A) == 0)) then
  finish('expired', ea)
  expired = 1
end
if tonumber(r[3]) <= now then
  redis.call('DEL', R, A)
  purged = 1
end
return {expired, purged}
"""
)
