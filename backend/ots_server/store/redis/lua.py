"""The piece every Lua script of the Redis store starts with (:mod:`.scripts`,
:mod:`.request_scripts`, :mod:`.account_scripts`): the script's keys by name, the caller's
``now`` and, for scripts that check a verifier, ``ct_eq``.

Invariants the scripts rely on:

- ``now`` is ``ARGV[1]`` in every script that starts with this piece: the caller's clock,
  never Redis's, so expiry is decided exactly as in the SQLite store.
- ``ct_eq`` visits every byte whatever differs (XOR accumulated with ``bit.bor``): the time
  a comparison takes does not depend on the stored verifier. It is the only way a script
  compares a verifier (tests/server/test_request_stores.py checks the request scripts).
"""

from __future__ import annotations

CT_EQ = """
local function ct_eq(a, b)
  if type(a) ~= 'string' or type(b) ~= 'string' or #a ~= #b then return false end
  local d = 0
  for i = 1, #a do d = bit.bor(d, bit.bxor(string.byte(a, i), string.byte(b, i))) end
  return d == 0
end
"""


def prologue(keys: str, *, compare: bool = True) -> str:
    """The start of a script: ``keys`` (a Lua ``local`` naming the script's KEYS), ``now`` and,
    with ``compare``, ``ct_eq``."""
    return f"\n{keys}\nlocal now = tonumber(ARGV[1])\n" + (CT_EQ if compare else "")
