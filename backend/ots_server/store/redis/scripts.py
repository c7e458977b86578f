"""The Lua scripts of the Redis store: every operation on a secret is one of them, and the
receipt index's writes and sweep are two more.

Each secret script touches exactly two keys of one secret, ``KEYS[1]`` (the record, a hash) and
``KEYS[2]`` (the ciphertext, a string), which share the hash tag ``{<id>}``, so a script runs
on the one Cluster node that owns the secret, atomically: no other command runs while it does.
That is what makes "read once" hold for any number of backend instances. The one exception
is :data:`CREATE_INDEXED`, used only where there is no Cluster: it also writes the new
secret's receipt index entry, saving a round trip.

The record hash holds ``lv`` (link verifier), ``rh`` (receipt hash), ``ca``/``ea``/``ku``
(created, expires, keep until), ``v``/``vl`` (views, views left), ``st`` (``pending``,
``consumed``, ``burned``, ``expired``), ``sa`` (when the state changed), ``ra`` (last read),
and while the secret is live ``hl`` (header length), with a passphrase ``pv`` (passphrase
verifier) and ``al`` (attempts left), and with a binding ``bd`` (its canonical text, public).

Rules every script follows (they mirror :mod:`ots_server.store.rules`):

- Verifiers are compared by ``ct_eq`` (the shared prologue, :mod:`.lua`), which visits
  every byte whatever differs (XOR accumulated with ``bit.bor``), so the time taken does not
  depend on the stored verifier.
- Time is the caller's ``now`` (``ARGV[1]``), never Redis's clock: expiry is checked on every
  operation, here, exactly as in the SQLite store; a record past ``ku`` is absent.
- A pending record whose ciphertext key is missing (its TTL fired) is expired.
- Ending a secret (``finish``) deletes the ciphertext and the live fields and records the state,
  in the same script. The first write of a script is what Redis refuses when ``maxmemory`` is
  reached (then nothing was written); a script that has written once runs to the end.
- TTLs: the ciphertext expires at the secret's expiry, the record at ``keep_until``, both set
  relative to ``now`` when the secret is created and never extended; ``HSET`` keeps a TTL.

Replies are flat arrays whose first element names the outcome; numbers come back as integers.

The receipt index (see :mod:`ots_server.store.redis.store`) is a few thousand *bucket* hashes;
an entry maps the first 16 bytes of a receipt hash to ``id || keep_until`` (16 bytes and a
4-byte big-endian Unix time). :data:`INDEX_ADD` writes one entry and keeps the bucket's TTL at
least until that entry's ``keep_until`` (so a bucket outlives none of its entries, and no
bucket lives forever); :data:`INDEX_SWEEP` removes a bucket's entries past ``keep_until``.
Each runs on its one bucket key.
"""

from __future__ import annotations

from ots_server.store.redis import lua

_PRELUDE = (
    lua.prologue("local R, B = KEYS[1], KEYS[2]")
    + """
local function finish(state, at)
  redis.call('DEL', B)
  redis.call('HDEL', R, 'hl', 'pv', 'al', 'bd')
  redis.call('HSET', R, 'st', state, 'sa', at)
end

-- The record of a secret the caller holds the key of, or nil and the reply to give.
-- Fields: 1 lv, 2 st, 3 sa, 4 ea, 5 ku, 6 vl, 7 ca, 8 hl, 9 pv, 10 al, 11 bd.
local function lookup(check, write)
  local r = redis.call('HMGET', R, 'lv', 'st', 'sa', 'ea', 'ku', 'vl', 'ca', 'hl', 'pv', 'al',
    'bd')
  if not r[1] or tonumber(r[5]) <= now or not ct_eq(r[1], check) then
    return nil, {'not_found'}
  end
  if r[2] ~= 'pending' then return nil, {'gone', r[2], tonumber(r[3])} end
  local ea = tonumber(r[4])
  if ea <= now or redis.call('EXISTS', B) == 0 then
    if write then finish('expired', ea) end
    return nil, {'gone', 'expired', ea}
  end
  return r
end
"""
)

#: ARGV: created_at, link verifier, receipt hash, expires_at, keep_until, views, header length,
#: passphrase verifier ('' for none), attempts ('' for none), blob, binding ('' for none).
CREATE = (
    _PRELUDE
    + """
local ku = redis.call('HGET', R, 'ku')
if ku then
  if tonumber(ku) > now then return {'exists'} end
  redis.call('DEL', R)
end
local ea, keep = tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('SET', B, ARGV[10], 'EX', math.max(1, ea - now))
redis.call('HSET', R, 'lv', ARGV[2], 'rh', ARGV[3], 'ca', ARGV[1], 'ea', ARGV[4],
  'ku', ARGV[5], 'v', ARGV[6], 'vl', ARGV[6], 'st', 'pending', 'hl', ARGV[7])
if ARGV[8] ~= '' then redis.call('HSET', R, 'pv', ARGV[8], 'al', ARGV[9]) end
if ARGV[11] ~= '' then redis.call('HSET', R, 'bd', ARGV[11]) end
redis.call('EXPIRE', R, math.max(1, keep - now))
return {'ok'}
"""
)

#: CREATE and INDEX_ADD in one script, for a Redis that is not a Cluster (where the receipt
#: bucket lives on whatever node its own key hashes to): KEYS[3] is the bucket; ARGV as
#: CREATE's, then the index entry's field, value and TTL (INDEX_ADD's ARGV). One round trip
#: instead of two; nothing is written when the id is taken.
CREATE_INDEXED = CREATE.replace(
    "local ea, keep",
    """redis.call('HSET', KEYS[3], ARGV[12], ARGV[13])
if redis.call('TTL', KEYS[3]) < tonumber(ARGV[14]) then
  redis.call('EXPIRE', KEYS[3], tonumber(ARGV[14]))
end
local ea, keep""",
    1,
)

#: ARGV: now, link check. Read-only.
PEEK = (
    _PRELUDE
    + """
local r, reply = lookup(ARGV[2], false)
if not r then return reply end
local header = redis.call('GETRANGE', B, 0, tonumber(r[8]) - 1)
local passphrase = 0
if r[9] then passphrase = 1 end
return {'ok', header, redis.call('STRLEN', B), tonumber(r[7]), tonumber(r[4]), tonumber(r[6]),
  passphrase, tonumber(r[10] or -1), r[11] or ''}
"""
)

#: ARGV: now, link check, passphrase check ('' for none), verified binding ('' for none).
#: The binding is public text, so a plain comparison is enough.
REVEAL = (
    _PRELUDE
    + """
local r, reply = lookup(ARGV[2], true)
if not r then return reply end
if r[11] and r[11] ~= ARGV[4] then return {'binding_required'} end
if r[9] then
  local left = tonumber(r[10])
  if ARGV[3] == '' then return {'passphrase_required', left} end
  if not ct_eq(r[9], ARGV[3]) then
    if left <= 1 then
      finish('burned', now)
      return {'wrong_passphrase', 0, 1}
    end
    redis.call('HSET', R, 'al', left - 1)
    return {'wrong_passphrase', left - 1, 0}
  end
end
local views_left = tonumber(r[6]) - 1
local blob = redis.call('GET', B)
if views_left <= 0 then
  finish('consumed', now)
  views_left = 0
end
redis.call('HSET', R, 'vl', views_left, 'ra', ARGV[1])
return {'ok', views_left, blob}
"""
)

#: ARGV: now, link check.
BURN = (
    _PRELUDE
    + """
local r, reply = lookup(ARGV[2], true)
if not r then return reply end
finish('burned', now)
return {'ok', now}
"""
)

#: ARGV: now, receipt hash, '1' to burn a pending secret ('0' only reads).
RECEIPT = (
    _PRELUDE
    + """
local r = redis.call('HMGET', R, 'rh', 'st', 'sa', 'ca', 'ea', 'ku', 'v', 'vl', 'ra')
if not r[1] or tonumber(r[6]) <= now or not ct_eq(r[1], ARGV[2]) then return {'not_found'} end
local ea = tonumber(r[5])
local state, at = r[2], tonumber(r[3] or -1)
if state == 'pending' and (ea <= now or redis.call('EXISTS', B) == 0) then
  state, at = 'expired', ea
  if ARGV[3] == '1' then finish('expired', ea) end
elseif state == 'pending' and ARGV[3] == '1' then
  finish('burned', now)
  state, at = 'burned', now
end
return {'ok', state, at, tonumber(r[4]), ea, tonumber(r[7]), tonumber(r[8]), tonumber(r[9] or -1)}
"""
)

#: ARGV: now. Ends an expired secret and deletes a record past keep_until; returns
#: {expired 0/1, purged 0/1, receipt hash or ''}.
SWEEP = (
    _PRELUDE
    + """
local r = redis.call('HMGET', R, 'st', 'ea', 'ku', 'rh')
if not r[1] then return {0, 0, ''} end
local expired, purged = 0, 0
local ea = tonumber(r[2])
if r[1] == 'pending' and (ea <= now or redis.call('EXISTS', B) == 0) then
  finish('expired', ea)
  expired = 1
end
if tonumber(r[3]) <= now then
  redis.call('DEL', R, B)
  purged = 1
end
return {expired, purged, r[4]}
"""
)

#: KEYS: the bucket. ARGV: field (receipt hash prefix), value (id || keep_until), TTL seconds.
#: The HSET is the first write: under ``maxmemory`` Redis refuses it and nothing is written.
INDEX_ADD = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local ttl = tonumber(ARGV[3])
if redis.call('TTL', KEYS[1]) < ttl then redis.call('EXPIRE', KEYS[1], ttl) end
return {'ok'}
"""

#: KEYS: the bucket. ARGV: now. Deletes the entries past their keep_until (and malformed
#: ones); returns how many.
INDEX_SWEEP = """
local now = tonumber(ARGV[1])
local all = redis.call('HGETALL', KEYS[1])
local dead = {}
for i = 1, #all, 2 do
  local value = all[i + 1]
  if #value ~= 20 or struct.unpack('>I4', value, 17) <= now then dead[#dead + 1] = all[i] end
end
for i = 1, #dead, 256 do
  redis.call('HDEL', KEYS[1], unpack(dead, i, math.min(i + 255, #dead)))
end
return #dead
"""
