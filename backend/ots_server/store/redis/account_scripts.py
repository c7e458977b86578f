"""The Lua scripts of the Redis store's accounts (:mod:`.accounts`).

Each script touches only keys of one account, which share the hash tag ``{<account id>}``
(``P:a`` the account, ``P:k`` its tokens, ``P:as``/``P:ak`` its links), or one index key, so it
runs atomically on the one Cluster node that owns them. Token and email index keys live in
their own slots and are never touched in the same script as an account's keys.
"""

from __future__ import annotations

from ots_server.store.redis import lua

#: KEYS: account, tokens. ARGV: email, email key, created, token name, token hash.
ACCOUNT_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'e', ARGV[1], 'ek', ARGV[2], 'c', ARGV[3])
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
return 1
"""

#: KEYS: account, tokens. ARGV: name, hash ('' to only read). Returns {account exists, hash}.
NAME_RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {0, false} end
local held = redis.call('HGET', KEYS[2], ARGV[1])
if ARGV[2] ~= '' and not held then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
return {1, held}
"""

#: KEYS: account, tokens. ARGV: name, hash. 1 if the account holds that name with that hash.
NAME_HELD = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then return 1 end
return 0
"""

#: KEYS: tokens. ARGV: name, hash. Forget the name if it still stands for that hash.
NAME_FORGET = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HDEL', KEYS[1], ARGV[1]) end
return 1
"""

#: KEYS: account, tokens, links, link expiries. Returns the token hashes it held.
ACCOUNT_DROP = """
local hashes = redis.call('HVALS', KEYS[2])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return hashes
"""

#: KEYS: token index. ARGV: day. Only an existing (not revoked) token is touched.
DAY_TOUCH = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'd', ARGV[1]) end
return 1
"""

#: KEYS: email index. ARGV: expected value ('' for none), new value ('' to delete).
COMPARE_AND_SET = """
local held = redis.call('GET', KEYS[1]) or ''
if held ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2]) end
return 1
"""

_PRUNE = (
    lua.prologue("local AS, AK = KEYS[2], KEYS[3]", compare=False)
    + """local function prune()
  while true do
    local old = redis.call('ZRANGEBYSCORE', AK, '-inf', now, 'LIMIT', 0, 500)
    if #old == 0 then return end
    redis.call('ZREM', AS, unpack(old))
    redis.call('ZREM', AK, unpack(old))
  end
end
"""
)

#: KEYS: account, links, link expiries. ARGV: now, link, created_at, keep_until.
LINK = (
    _PRUNE
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
prune()
local keep = tonumber(ARGV[4])
redis.call('ZADD', AS, ARGV[3], ARGV[2])
redis.call('ZADD', AK, keep, ARGV[2])
local ttl = math.max(1, keep - now)
if redis.call('TTL', AS) < ttl then
  redis.call('EXPIRE', AS, ttl)
  redis.call('EXPIRE', AK, ttl)
end
return 1
"""
)

#: KEYS: account, links, link expiries. ARGV: now, first, last (newest first).
LINKS = (
    _PRUNE
    + """
prune()
return redis.call('ZREVRANGE', AS, ARGV[2], ARGV[3])
"""
)

#: KEYS: links, link expiries. ARGV: link.
UNLINK = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
"""
