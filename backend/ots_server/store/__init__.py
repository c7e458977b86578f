"""Secret stores: one protocol, several implementations, one contract test suite.

The public API, all importable from here: the protocol (:class:`Store`, :class:`RequestStore`;
:mod:`.protocol` states the invariants), the records it takes and returns (:mod:`.records`),
the outcomes it raises (:mod:`.outcomes`), and the factory :func:`open_store`. The app, its
tools and the benchmarks use only these; the implementations live in the packages
:mod:`.sqlite`, :mod:`.redis` and :mod:`.memory` (tests only), with the rules they share in
:mod:`.rules`.

``open_store(url)`` turns ``OTS_STORE_URL`` into a store. ``sqlite:///abs/path`` opens (and
creates or migrates) a SQLite file; ``redis://``, ``rediss://``, ``redis+sentinel://`` and
``redis+cluster://`` (see :mod:`ots_server.store.redis.url`) build a Redis store, whose
connections open on first use; other schemes are refused with a message naming the variable.
Adding a store means a package here, a branch in ``open_store`` and a subclass of the contract
suite in tests/server/test_store_contract.py (the Redis ones are in test_store_redis.py).
"""

from __future__ import annotations

from pathlib import Path

from ots_server.store.outcomes import (
    AccountExists,
    Answered,
    BindingRequired,
    Gone,
    IdExists,
    NoSuchAccount,
    NoSuchToken,
    NotFound,
    PassphraseRequired,
    RequestGone,
    StoreError,
    StoreFull,
    StoreUnavailable,
    TokenNameExists,
    UnknownToken,
    WrongPassphrase,
)
from ots_server.store.protocol import RequestStore, Store
from ots_server.store.records import (
    REQUEST_QUOTA_BYTES,
    SEALED_BYTES,
    Account,
    Blob,
    Maintenance,
    NewAccount,
    NewRequest,
    NewSecret,
    NewToken,
    Principal,
    PurgeResult,
    ReceiptState,
    ReceiptStatus,
    RequestEnd,
    RequestInfo,
    RequestState,
    Revealed,
    SecretInfo,
    StagedFile,
    TokenInfo,
    Tombstone,
    TombstoneState,
)
from ots_server.store.redis.url import is_redis_url, parse_redis_url


class StoreConfigError(StoreError):
    """``OTS_STORE_URL`` names a store this version cannot open."""


def open_store(url: str, *, max_store_bytes: int = 0) -> Store:
    """Open the store ``url`` points at; raise :class:`StoreConfigError` for unknown schemes.

    ``max_store_bytes`` (``OTS_MAX_STORE_BYTES``, 0: none) is the quota past which creates
    are refused with ``StoreFull``."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme == "sqlite" and rest.startswith("/"):
        from ots_server.store.sqlite.store import SQLiteStore

        return SQLiteStore(Path(rest), max_store_bytes=max_store_bytes)
    if is_redis_url(url):
        if max_store_bytes:
            raise StoreConfigError("OTS_MAX_STORE_BYTES: the quota is SQLite's; use 0 with Redis")
        try:
            target = parse_redis_url(url)
        except ValueError as exc:
            raise StoreConfigError(f"OTS_STORE_URL: {exc}") from None
        from ots_server.store.redis.store import RedisStore

        return RedisStore(target)
    raise StoreConfigError("OTS_STORE_URL: expected sqlite:///absolute/path/to/ots.sqlite3")


__all__ = [
    "REQUEST_QUOTA_BYTES",
    "SEALED_BYTES",
    "Account",
    "AccountExists",
    "Answered",
    "BindingRequired",
    "Blob",
    "Gone",
    "IdExists",
    "Maintenance",
    "NewAccount",
    "NewRequest",
    "NewSecret",
    "NewToken",
    "NoSuchAccount",
    "NoSuchToken",
    "NotFound",
    "PassphraseRequired",
    "Principal",
    "PurgeResult",
    "ReceiptState",
    "ReceiptStatus",
    "RequestEnd",
    "RequestGone",
    "RequestInfo",
    "RequestState",
    "RequestStore",
    "Revealed",
    "SecretInfo",
    "StagedFile",
    "Store",
    "StoreConfigError",
    "StoreError",
    "StoreFull",
    "StoreUnavailable",
    "TokenInfo",
    "TokenNameExists",
    "Tombstone",
    "TombstoneState",
    "UnknownToken",
    "WrongPassphrase",
    "open_store",
]
