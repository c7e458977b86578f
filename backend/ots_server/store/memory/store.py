"""An in-memory store: a real implementation for tests, held to the same contract suite.

Not durable and not shared between processes, so ``open_store`` never offers it to operators.
One lock makes every operation atomic, including across the threads a ``TestClient`` may use.
The lock is only ever held for a few dictionary operations, so the caller's ``now`` is the time
the operation takes effect (no wait to add, see :mod:`ots_server.store.protocol`).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from ots_server.store import rules
from ots_server.store.memory.requests import MemoryRequests, StoredRequest
from ots_server.store.outcomes import (
    AccountExists,
    BindingRequired,
    Gone,
    IdExists,
    NoSuchAccount,
    NoSuchToken,
    NotFound,
    PassphraseRequired,
    StoreUnavailable,
    TokenNameExists,
    UnknownToken,
    WrongPassphrase,
)
from ots_server.store.records import (
    Account,
    Maintenance,
    NewAccount,
    NewSecret,
    NewToken,
    Principal,
    PurgeResult,
    ReceiptStatus,
    Revealed,
    SecretInfo,
    TokenInfo,
    Tombstone,
)


@dataclass
class _Record:
    receipt_hash: bytes
    link_verifier: bytes
    created_at: int
    expires_at: int
    keep_until: int
    views: int
    views_left: int
    state: str = "pending"
    state_at: int | None = None
    read_at: int | None = None
    account_id: bytes | None = None


@dataclass
class _Token:
    account_id: bytes
    name: str
    created_at: int
    last_used_day: int | None = None


@dataclass
class _Account:
    email: str
    email_key: str
    created_at: int


@dataclass
class _Body:
    header_length: int
    passphrase_verifier: bytes | None
    attempts_left: int | None
    blob: bytes
    binding: str | None = None


class MemoryStore(MemoryRequests):
    """A :class:`~ots_server.store.protocol.Store` in a few dicts behind one lock (requests: the
    mixin)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[bytes, _Record] = {}
        self._bodies: dict[bytes, _Body] = {}
        self._receipts: dict[bytes, bytes] = {}
        self._accounts: dict[bytes, _Account] = {}
        self._tokens: dict[bytes, _Token] = {}
        self._requests: dict[bytes, StoredRequest] = {}
        self._closed = False

    def _guard(self) -> None:
        if self._closed:
            raise StoreUnavailable("the store is closed")

    def _record(self, id: bytes, now: int) -> _Record | None:
        record = self._records.get(id)
        return record if record is not None and record.keep_until > now else None

    def _live(self, id: bytes, link_check: bytes, now: int) -> tuple[_Record, _Body]:
        record = self._record(id, now)
        rules.require_link(record.link_verifier if record else None, link_check)
        assert record is not None
        if not rules.require_live(record.state, record.state_at, record.expires_at, now):
            self._end(id, "expired", record.expires_at)
            raise Gone("expired", record.expires_at)
        return record, self._bodies[id]

    def _end(self, id: bytes, state: str, at: int) -> None:
        del self._bodies[id]
        record = self._records[id]
        record.state, record.state_at = state, at

    async def create(self, secret: NewSecret) -> None:
        with self._lock:
            self._guard()
            stale = self._records.get(secret.id)
            if stale is not None and stale.keep_until <= secret.created_at:
                self._bodies.pop(secret.id, None)
                del self._records[secret.id], self._receipts[stale.receipt_hash]
            if secret.id in self._records:
                raise IdExists
            self._records[secret.id] = _Record(
                receipt_hash=secret.receipt_hash,
                link_verifier=secret.link_verifier,
                created_at=secret.created_at,
                expires_at=secret.expires_at,
                keep_until=secret.keep_until,
                views=secret.views,
                views_left=secret.views,
                account_id=secret.account_id if secret.account_id in self._accounts else None,
            )
            self._bodies[secret.id] = _Body(
                header_length=secret.header_length,
                passphrase_verifier=secret.passphrase_verifier,
                attempts_left=secret.attempts,
                blob=bytes(secret.blob),
                binding=secret.binding,
            )
            self._receipts[secret.receipt_hash] = secret.id

    async def peek(self, id: bytes, link_check: bytes, now: int) -> SecretInfo:
        with self._lock:
            self._guard()
            record = self._record(id, now)
            rules.require_link(record.link_verifier if record else None, link_check)
            assert record is not None
            if not rules.require_live(record.state, record.state_at, record.expires_at, now):
                raise Gone("expired", record.expires_at)
            body = self._bodies[id]
            return SecretInfo(
                id=id,
                header=body.blob[: body.header_length],
                size=len(body.blob),
                created_at=record.created_at,
                expires_at=record.expires_at,
                views_left=record.views_left,
                passphrase=body.passphrase_verifier is not None,
                attempts_left=body.attempts_left,
                binding=body.binding,
            )

    async def reveal(
        self,
        id: bytes,
        link_check: bytes,
        passphrase_check: bytes | None,
        now: int,
        binding: str | None = None,
    ) -> Revealed:
        with self._lock:
            self._guard()
            record, body = self._live(id, link_check, now)
            if body.binding is not None and body.binding != binding:
                raise BindingRequired
            if body.passphrase_verifier is not None:
                assert body.attempts_left is not None
                if passphrase_check is None:
                    raise PassphraseRequired(body.attempts_left)
                if not rules.passphrase_matches(body.passphrase_verifier, passphrase_check):
                    body.attempts_left -= 1
                    if body.attempts_left <= 0:
                        self._end(id, "burned", now)
                        raise WrongPassphrase(0, burned=True)
                    raise WrongPassphrase(body.attempts_left, burned=False)
            record.views_left -= 1
            record.read_at = now
            if record.views_left == 0:
                self._end(id, "consumed", now)
            return Revealed(blob=body.blob, views_left=record.views_left)

    async def burn(self, id: bytes, link_check: bytes, now: int) -> Tombstone:
        with self._lock:
            self._guard()
            self._live(id, link_check, now)
            self._end(id, "burned", now)
            return Tombstone("burned", now)

    def _status(self, receipt_hash: bytes, now: int) -> tuple[bytes, ReceiptStatus]:
        id = self._receipts.get(receipt_hash)
        record = self._record(id, now) if id is not None else None
        if id is None or record is None:
            raise NotFound
        return id, ReceiptStatus(
            id=id,
            state=rules.receipt_state(record.state, record.expires_at, now),
            created_at=record.created_at,
            expires_at=record.expires_at,
            views=record.views,
            views_left=record.views_left,
            read_at=record.read_at,
            burned_at=record.state_at if record.state == "burned" else None,
        )

    async def receipt_status(self, receipt_hash: bytes, now: int) -> ReceiptStatus:
        with self._lock:
            self._guard()
            return self._status(receipt_hash, now)[1]

    async def receipt_statuses(
        self, receipt_hashes: Sequence[bytes], now: int
    ) -> list[ReceiptStatus | None]:
        with self._lock:
            self._guard()
            return [self._maybe_status(receipt_hash, now) for receipt_hash in receipt_hashes]

    def _maybe_status(self, receipt_hash: bytes, now: int) -> ReceiptStatus | None:
        try:
            return self._status(receipt_hash, now)[1]
        except NotFound:
            return None

    async def burn_by_receipt(self, receipt_hash: bytes, now: int) -> ReceiptStatus:
        with self._lock:
            self._guard()
            id, status = self._status(receipt_hash, now)
            if self._records[id].state == "pending":
                if status.state == "pending":
                    self._end(id, "burned", now)
                else:
                    self._end(id, "expired", status.expires_at)
            return self._status(receipt_hash, now)[1]

    async def purge_expired(self, now: int) -> PurgeResult:
        with self._lock:
            self._guard()
            expired = purged = 0
            for id, record in list(self._records.items()):
                if record.state == "pending" and record.expires_at <= now:
                    self._end(id, "expired", record.expires_at)
                    expired += 1
                if record.keep_until <= now:
                    del self._records[id]
                    del self._receipts[record.receipt_hash]
                    purged += 1
            requests_expired, requests_purged = self._purge_requests(now)
            return PurgeResult(expired, purged, requests_expired, requests_purged)

    # -- accounts ---------------------------------------------------------------------------

    def _account(self, account_id: bytes) -> Account:
        account = self._accounts.get(account_id)
        if account is None:
            raise NoSuchAccount
        tokens = sorted(
            (
                TokenInfo(token.name, token.created_at, token.last_used_day)
                for token in self._tokens.values()
                if token.account_id == account_id
            ),
            key=lambda token: (token.created_at, token.name),
        )
        return Account(account_id, account.email, account.created_at, tuple(tokens))

    def _add_token(self, account_id: bytes, token: NewToken) -> None:
        if any(t.account_id == account_id and t.name == token.name for t in self._tokens.values()):
            raise TokenNameExists
        self._tokens[token.hash] = _Token(account_id, token.name, token.created_at)

    async def create_account(self, account: NewAccount) -> None:
        with self._lock:
            self._guard()
            if any(a.email_key == account.email_key for a in self._accounts.values()):
                raise AccountExists
            self._accounts[account.id] = _Account(
                account.email, account.email_key, account.created_at
            )
            self._add_token(account.id, account.token)

    async def find_account(self, email_key: str) -> Account:
        with self._lock:
            self._guard()
            for account_id, account in self._accounts.items():
                if account.email_key == email_key:
                    return self._account(account_id)
            raise NoSuchAccount

    async def get_account(self, account_id: bytes) -> Account:
        with self._lock:
            self._guard()
            return self._account(account_id)

    async def list_accounts(self) -> list[Account]:
        with self._lock:
            self._guard()
            accounts = [self._account(account_id) for account_id in self._accounts]
        return sorted(accounts, key=lambda account: (account.created_at, account.email))

    async def add_token(self, account_id: bytes, token: NewToken) -> None:
        with self._lock:
            self._guard()
            if account_id not in self._accounts:
                raise NoSuchAccount
            self._add_token(account_id, token)

    async def revoke_token(self, account_id: bytes, name: str) -> None:
        with self._lock:
            self._guard()
            if account_id not in self._accounts:
                raise NoSuchAccount
            for token_hash, token in list(self._tokens.items()):
                if token.account_id == account_id and token.name == name:
                    del self._tokens[token_hash]
                    return
            raise NoSuchToken

    async def delete_account(self, account_id: bytes) -> None:
        with self._lock:
            self._guard()
            if self._accounts.pop(account_id, None) is None:
                raise NoSuchAccount
            for token_hash, token in list(self._tokens.items()):
                if token.account_id == account_id:
                    del self._tokens[token_hash]
            for record in self._records.values():
                if record.account_id == account_id:
                    record.account_id = None

    async def authenticate(self, token_hash: bytes, now: int) -> Principal:
        with self._lock:
            self._guard()
            token = self._tokens.get(token_hash)
            if token is None:
                raise UnknownToken
            token.last_used_day = rules.day(now)
            return Principal(token.account_id, token.name)

    async def account_receipts(
        self, account_id: bytes, now: int, limit: int
    ) -> list[ReceiptStatus]:
        with self._lock:
            self._guard()
            # Dicts keep insertion order: reversed, ties of created_at come newest first.
            linked = [
                record
                for id, record in reversed(self._records.items())
                if record.account_id == account_id and self._record(id, now) is not None
            ]
            linked.sort(key=lambda record: record.created_at, reverse=True)
            return [self._status(record.receipt_hash, now)[1] for record in linked[:limit]]

    async def maintenance(self) -> Maintenance:
        self._guard()
        return Maintenance(complete=True)

    async def check(self) -> None:
        self._guard()

    async def close(self) -> None:
        self._closed = True
