"""Pure decisions shared by every store, so each implementation only does storage.

Why verifiers are compared here, in Python, after fetching by id, and not in SQL or Lua:
SQLite compares blobs with ``memcmp``, which stops at the first differing byte. The
verifier is ``sha256(proof)``, so a timing leak would only tell an attacker how many leading
bytes of ``sha256(guess)`` match, which does not help find a proof (that needs a preimage).
Comparing in constant time anyway costs nothing, keeps the query plan independent of any
secret (the lookup key is the id, which the attacker already knows), and lets one fetched
snapshot decide between "not found" and "tombstone" inside the same transaction.

Receipts are looked up by ``sha256(token)`` through an index. That lookup is not constant time,
which is fine for the same reason: the token has 256 random bits and the index only orders
hashes of tokens, so timing reveals nothing about any token.
"""

from __future__ import annotations

import hmac
from typing import cast

from ots_server.store.outcomes import Gone, NotFound, RequestGone
from ots_server.store.records import ReceiptState, RequestEnd, TombstoneState

#: Seconds per day: last-used days of tokens are Unix day numbers.
DAY_SECONDS = 86_400


def day(now: int) -> int:
    """The Unix day number of ``now`` (seconds)."""
    return now // DAY_SECONDS


def require_link(stored_verifier: bytes | None, link_check: bytes) -> None:
    """Raise ``NotFound`` unless a record exists and the link check matches it."""
    if stored_verifier is None or not hmac.compare_digest(stored_verifier, link_check):
        raise NotFound


def require_live(state: str, state_at: int | None, expires_at: int, now: int) -> bool:
    """Raise ``Gone`` for a tombstone; return False if the live secret has expired."""
    if state != "pending":
        raise Gone(cast(TombstoneState, state), state_at if state_at is not None else expires_at)
    return expires_at > now


def request_live(state: str, state_at: int | None, expires_at: int, now: int) -> bool:
    """Raise ``RequestGone`` for a request tombstone (``expired``, ``closed``); return False if
    the live request (``open`` or ``answered``) has expired at ``now``. The caller has checked
    the proof first (:func:`require_link` takes any verifier)."""
    if state not in ("open", "answered"):
        raise RequestGone(cast(RequestEnd, state), state_at if state_at is not None else expires_at)
    return expires_at > now


def passphrase_matches(stored_verifier: bytes, passphrase_check: bytes) -> bool:
    return hmac.compare_digest(stored_verifier, passphrase_check)


def receipt_state(state: str, expires_at: int, now: int) -> ReceiptState:
    """Map a record state to what the sender sees; an unswept expired secret is ``expired``."""
    if state == "pending":
        return "pending" if expires_at > now else "expired"
    if state == "consumed":
        return "read"
    return cast(ReceiptState, state)
