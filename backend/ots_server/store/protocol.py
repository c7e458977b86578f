"""The store protocol: what every secret store does, and the outcomes it may report.

A store keeps, per secret id, a *record* (link verifier, receipt hash, times, views, state)
and, while the secret is live, its *body* (the opaque blob, header length, passphrase
verifier, attempts left). When a secret is consumed, burned or expires, the body is deleted in
the same atomic operation that turns the record into a tombstone. Records (tombstones and
receipts) are kept until ``keep_until`` (the secret's expiry plus the receipt grace), then
purged; a record past ``keep_until`` is treated as absent even before the purge runs.

Invariants every implementation keeps (the contract suite in tests/server checks them):

- The store never sees a proof, only ``sha256(proof)`` computed by the app (a *check*), and
  compares it with the stored verifier in constant time (``hmac.compare_digest``).
- A wrong link check, an unknown id and a purged record are indistinguishable: ``NotFound``.
  Nothing changes and no attempt is spent.
- Tombstone states are reported only to a caller whose link check matches: ``Gone``.
- A secret may carry a *binding* (a CI identity, public text: ``NewSecret.binding``); peek
  reports it, and ``reveal`` of a bound secret without that exact binding verified by the app
  is ``BindingRequired`` and changes nothing (no view, no attempt).
- ``reveal`` is one atomic operation: expiry check, binding check, passphrase check (a wrong
  one decrements ``attempts_left``; the last one burns), then views decrement or
  delete-and-tombstone. Two
  concurrent reveals of a one-view secret never both succeed, in any number of processes.
- Expiry is checked on every operation with the caller's ``now``; the sweeper only frees
  space. A secret with ``expires_at <= now`` is expired. ``now`` is the caller's time when it
  made the call; a store that may wait before the operation takes effect (a queue, a lock)
  adds the whole seconds it waited, measured on a monotonic clock, so a reveal that waited
  past ``expires_at`` for the write lock finds the secret expired. Callers (and the contract
  suite) keep their injected clock; a wait under one second changes no decision.
- Every method is ``async``; implementations never block the event loop.

Accounts live in the same store (the account methods of :class:`Store`). An account holds one
email address (with its case-insensitive key, for uniqueness), its created time and its
tokens, each known only by ``sha256(token)``, a name unique within the account, its created
time and the Unix *day* it was last used (at most once a day is that written). A secret created
with a token is *linked* to the account so that its receipts can be listed; deleting the
account removes the email, every token hash and every link, while the secrets themselves live
on unlinked. Account ids are 16 random bytes chosen by the caller; they never leave the server.

- ``authenticate`` is a lookup by token hash (constant time with respect to the token: the
  index only orders hashes) with no cache: a revoked token fails on the very next call.
- Changes that span several keys of a store that cannot change them atomically (Redis Cluster)
  are ordered so that a crash in between never leaves a working token that is not listed, nor
  a listed link to somebody else's secret (see :mod:`ots_server.store.redis.accounts`).

Large blobs: a store may offer ``stage()`` (SQLite does; see
:class:`ots_server.bodies.Staging`): the app then streams a blob past 64 KiB into a file the
store provides and passes it as ``NewSecret.staged``, and ``create`` either references that
file or removes it. A ``Revealed`` may then carry an open descriptor instead of bytes. Stores
without ``stage`` (memory, Redis) get the whole buffer and keep their own size caps.

Requests (``ots request``, docs/API.md "Requests") live in the same store, in a namespace of
their own (a request id never collides with a secret id). A request holds two verifiers (of
the answer proof and of the owner proof), its times, its state and, once answered, the sealed
answer (96 opaque bytes). The methods are in :class:`RequestStore`; the invariants:

- The verifiers are compared in constant time, like a link verifier; a wrong proof, an unknown
  id and a purged record are all ``NotFound`` and change nothing. The end of a request
  (``RequestGone``: ``expired`` or ``closed``, and when) is told only to a caller whose proof
  matches (the answer proof for peek and answer, the owner proof for status and close).
- ``answer_request`` is one atomic operation (one SQLite transaction, one Lua script): of any
  number of answers to one request, in any number of processes, exactly one is stored; every
  other gets ``Answered`` with the time of the one that was.
- Expiry (``expires_at <= now``, the caller's ``now``) ends a request and its answer: a write
  that finds it expired leaves an ``expired`` tombstone and deletes the answer; close leaves
  a ``closed`` one. Tombstones keep both verifiers until ``keep_until`` (expiry plus the
  receipt grace), then are purged; past ``keep_until`` a record is absent, before the purge.
- A request counts :data:`REQUEST_QUOTA_BYTES` toward a store quota when it is created (room
  for its answer included), so an answer is never refused by the quota.

Outcomes other than success are exceptions, so the app maps each to one HTTP answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ots_server.store.records import (
    Account,
    Maintenance,
    NewAccount,
    NewRequest,
    NewSecret,
    NewToken,
    Principal,
    PurgeResult,
    ReceiptStatus,
    RequestInfo,
    Revealed,
    SecretInfo,
    Tombstone,
)


class RequestStore(Protocol):
    """The request half of a store (see the module docstring). ``check`` arguments are
    ``sha256(proof)``: of the answer proof for peek and answer, of the owner proof else."""

    async def create_request(self, request: NewRequest) -> None:
        """Store durably; return only after commit. ``IdExists`` if the id has a request
        record (live or tombstone) not past ``keep_until`` at ``request.created_at``;
        ``StoreFull`` past the store's quota."""

    async def peek_request(self, id: bytes, answer_check: bytes, now: int) -> RequestInfo:
        """Read-only: ``NotFound``, ``RequestGone``, else the live request (no ``sealed``)."""

    async def answer_request(
        self, id: bytes, answer_check: bytes, sealed: bytes, now: int
    ) -> RequestInfo:
        """Store the one answer atomically and durably (``answered_at`` is ``now``);
        ``NotFound``, ``RequestGone`` or ``Answered`` (nothing changed) otherwise."""

    async def request_status(self, id: bytes, owner_check: bytes, now: int) -> RequestInfo:
        """Read-only: ``NotFound``, ``RequestGone``, else the request with its ``sealed``
        answer (``None`` while open)."""

    async def close_request(self, id: bytes, owner_check: bytes, now: int) -> int:
        """Delete the request and its answer, leave a ``closed`` tombstone, return ``now``;
        ``NotFound`` or ``RequestGone`` (already over: nothing changed but an expiry)."""


class Store(RequestStore, Protocol):
    """A secret store. ``check`` arguments are ``sha256(proof)``, never a proof."""

    async def create(self, secret: NewSecret) -> None:
        """Store durably; return only after commit. ``IdExists`` if the id has a record
        (live or tombstone) that is not past ``keep_until`` at ``secret.created_at``;
        ``StoreFull`` if storing it would pass the store's quota."""

    async def peek(self, id: bytes, link_check: bytes, now: int) -> SecretInfo:
        """Read-only. ``NotFound`` or ``Gone``, else what a key holder may know."""

    async def reveal(
        self,
        id: bytes,
        link_check: bytes,
        passphrase_check: bytes | None,
        now: int,
        binding: str | None = None,
    ) -> Revealed:
        """Consume one view atomically, or raise ``NotFound``, ``Gone``, ``BindingRequired``,
        ``PassphraseRequired`` or ``WrongPassphrase`` (after spending the attempt).

        ``binding`` is the binding the app verified an ID token against (``None``: the caller
        presented none). A secret created with a binding is released only when it equals
        the stored one exactly; otherwise ``BindingRequired``, checked after the link and the
        expiry and before the passphrase, in the same atomic operation: nothing changes."""

    async def burn(self, id: bytes, link_check: bytes, now: int) -> Tombstone:
        """Delete a live secret on behalf of a key holder; ``NotFound`` or ``Gone`` otherwise."""

    async def receipt_status(self, receipt_hash: bytes, now: int) -> ReceiptStatus:
        """Read-only; ``NotFound`` for unknown or purged receipts."""

    async def receipt_statuses(
        self, receipt_hashes: Sequence[bytes], now: int
    ) -> list[ReceiptStatus | None]:
        """Read-only: for each hash, in order, what ``receipt_status`` answers, or ``None``
        where it raises ``NotFound`` (unknown and purged alike). One query, pipeline or script
        per call, not one per receipt; callers bound the length (the API: 100)."""

    async def burn_by_receipt(self, receipt_hash: bytes, now: int) -> ReceiptStatus:
        """Burn a pending secret; otherwise report its state unchanged (idempotent)."""

    async def purge_expired(self, now: int) -> PurgeResult:
        """Turn expired secrets and requests into tombstones and delete records past
        ``keep_until``."""

    async def maintenance(self) -> Maintenance:
        """Periodic housekeeping that is not a data change (e.g. a WAL checkpoint). It never
        makes a request wait more than a few milliseconds; when it could not finish because
        the store was busy it says so, and the caller retries soon."""

    # -- accounts ---------------------------------------------------------------------------

    async def create_account(self, account: NewAccount) -> None:
        """Store the account with its first token; ``AccountExists`` if its email key is
        taken."""

    async def find_account(self, email_key: str) -> Account:
        """The account with this email key; ``NoSuchAccount`` otherwise."""

    async def get_account(self, account_id: bytes) -> Account:
        """The account with this id; ``NoSuchAccount`` otherwise."""

    async def list_accounts(self) -> list[Account]:
        """Every account, oldest first (then by email)."""

    async def add_token(self, account_id: bytes, token: NewToken) -> None:
        """``NoSuchAccount`` or ``TokenNameExists``, else the token works from now on."""

    async def revoke_token(self, account_id: bytes, name: str) -> None:
        """``NoSuchAccount`` or ``NoSuchToken``; once this returns, the token fails."""

    async def delete_account(self, account_id: bytes) -> None:
        """Remove the email, every token and every link to a secret; ``NoSuchAccount`` if
        there is no such account. Its secrets keep working, unlinked."""

    async def authenticate(self, token_hash: bytes, now: int) -> Principal:
        """Who the token with this hash speaks for, or ``UnknownToken``. Records ``now``'s day
        as the token's last-used day when it differs from the stored one (a write at most once
        a day per token); a store that is full skips that write."""

    async def account_receipts(
        self, account_id: bytes, now: int, limit: int
    ) -> list[ReceiptStatus]:
        """Receipts of the secrets linked to the account whose records still exist at
        ``now``, newest first, at most ``limit`` (same states as ``receipt_status``)."""

    async def check(self) -> None:
        """Raise ``StoreUnavailable`` unless the store answers."""

    async def close(self) -> None:
        """Release connections and threads; the store is unusable afterwards."""
