"""The records a store takes and gives back: plain frozen dataclasses, no behaviour beyond a
derived size or state. They carry only what the protocol (:mod:`ots_server.store.protocol`)
promises; verifiers and hashes are bytes the app computed, never a proof or a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TombstoneState = Literal["consumed", "burned", "expired"]
ReceiptState = Literal["pending", "read", "burned", "expired"]
#: A live request; and how one ends.
RequestState = Literal["open", "answered"]
RequestEnd = Literal["expired", "closed"]

#: Length of a sealed answer: ``crypto_box_seal`` of 48 bytes (id and key of a secret).
SEALED_BYTES = 96
#: What a request counts toward a store quota (``OTS_MAX_STORE_BYTES``) when created: its
#: record, its index entry and its answer, rounded up; the answer itself is not checked again.
REQUEST_QUOTA_BYTES = 512


#: A blob on its way in: the app hands over the buffer it read the upload into, uncopied.
Blob = bytes | bytearray | memoryview


@dataclass(frozen=True, slots=True)
class StagedFile:
    """A blob the app already streamed into the store's blob directory (SQLite only: see
    :meth:`ots_server.store.sqlite.store.SQLiteStore.stage`), fsynced and renamed into place. The
    store's ``create`` owns it from then on: it references it or removes it."""

    name: str
    size: int


@dataclass(frozen=True, slots=True)
class NewSecret:
    id: bytes
    blob: Blob
    header_length: int
    link_verifier: bytes
    passphrase_verifier: bytes | None
    #: Wrong passphrase attempts before burn; ``None`` exactly when there is no passphrase.
    attempts: int | None
    views: int
    created_at: int
    expires_at: int
    #: When the record (tombstone, receipt) may be purged: ``expires_at`` + grace.
    keep_until: int
    receipt_hash: bytes
    #: The account whose token created it (linked for its receipt listing), or ``None``.
    account_id: bytes | None = None
    #: The whole blob when it was streamed to a file; ``blob`` then holds its first bytes
    #: (at least the header). Only given to a store that offers ``stage``.
    staged: StagedFile | None = None
    #: The CI identity the secret is bound to (docs/FORMAT.md "Binding"): its canonical text,
    #: 1..255 ASCII bytes, or ``None``. Public policy, stored with the body and checked on
    #: every reveal (:class:`~ots_server.store.outcomes.BindingRequired`).
    binding: str | None = None

    @property
    def size(self) -> int:
        return len(self.blob) if self.staged is None else self.staged.size


@dataclass(frozen=True, slots=True)
class NewToken:
    name: str
    #: ``sha256`` of the token; the token itself never reaches the store.
    hash: bytes
    created_at: int


@dataclass(frozen=True, slots=True)
class NewAccount:
    id: bytes
    email: str
    #: What uniqueness is decided on (see :func:`ots_server.accounts.normalise_email`).
    email_key: str
    created_at: int
    #: Every account starts with one token, stored in the same step.
    token: NewToken


@dataclass(frozen=True, slots=True)
class TokenInfo:
    name: str
    created_at: int
    #: Unix day number (``now // 86400``) of the last authenticated request, or ``None``.
    last_used_day: int | None


@dataclass(frozen=True, slots=True)
class Account:
    id: bytes
    email: str
    created_at: int
    #: Oldest first (then by name).
    tokens: tuple[TokenInfo, ...]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a valid token speaks for."""

    account_id: bytes
    token_name: str


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """What peek tells a key holder about a live secret."""

    id: bytes
    header: bytes
    size: int
    created_at: int
    expires_at: int
    views_left: int
    passphrase: bool
    attempts_left: int | None
    #: The binding the secret was created with (canonical text), or ``None``.
    binding: str | None = None


@dataclass(frozen=True, slots=True)
class Revealed:
    blob: bytes
    views_left: int
    #: A file-backed blob (SQLite, over 64 KiB): an open read-only descriptor of ``size``
    #: bytes, and ``blob`` is empty. The receiver reads it and closes it; the file may
    #: already be unlinked (a consumed secret), which POSIX allows while it is open.
    file: int | None = None
    size: int = 0

    @property
    def length(self) -> int:
        return self.size if self.file is not None else len(self.blob)


@dataclass(frozen=True, slots=True)
class Tombstone:
    state: TombstoneState
    at: int


@dataclass(frozen=True, slots=True)
class ReceiptStatus:
    id: bytes
    state: ReceiptState
    created_at: int
    expires_at: int
    views: int
    views_left: int
    read_at: int | None
    burned_at: int | None


@dataclass(frozen=True, slots=True)
class NewRequest:
    """A request as the requester registers it (``POST /api/v1/requests``)."""

    id: bytes
    #: ``sha256(answer_proof)``: whoever holds the link may peek and answer.
    answer_verifier: bytes
    #: ``sha256(owner_proof)``: only the requester may read the answer and close.
    owner_verifier: bytes
    created_at: int
    expires_at: int
    #: When its record (tombstone) may be purged: ``expires_at`` + grace.
    keep_until: int


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """A live request as peek, answer and status describe it (``sealed`` only from status)."""

    id: bytes
    created_at: int
    expires_at: int
    answered_at: int | None
    sealed: bytes | None = None

    @property
    def state(self) -> RequestState:
        return "open" if self.answered_at is None else "answered"


@dataclass(frozen=True, slots=True)
class PurgeResult:
    #: Live secrets past expiry whose bodies were deleted (now ``expired`` tombstones).
    expired: int
    #: Records (tombstones and receipts) past ``keep_until`` that were deleted.
    purged: int
    #: Live requests past expiry whose answers were deleted (now ``expired`` tombstones).
    requests_expired: int = 0
    #: Request records past ``keep_until`` that were deleted.
    requests_purged: int = 0


@dataclass(frozen=True, slots=True)
class Maintenance:
    """The outcome of :meth:`Store.maintenance`."""

    #: True when no copy of deleted data is left outside the live database (for SQLite: the
    #: WAL was checkpointed completely and truncated). False means "retry soon".
    complete: bool
    #: Log frames that could not be copied into the database yet (pinned by a reader).
    pending: int = 0
