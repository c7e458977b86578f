"""Secret stores: one protocol, several implementations, one contract test suite.

``open_store(url)`` turns ``OTS_STORE_URL`` into a store. ``sqlite:///abs/path`` opens (and
creates or migrates) a SQLite file; other schemes are refused with a message naming the
variable. Adding a store means a module here, a branch in ``open_store`` and a subclass of
the contract suite in tests/server/test_store_contract.py.
"""

from __future__ import annotations

from pathlib import Path

from ots_server.store.base import Store, StoreError


class StoreConfigError(StoreError):
    """``OTS_STORE_URL`` names a store this version cannot open."""


def open_store(url: str, *, max_store_bytes: int = 0) -> Store:
    """Open the store ``url`` points at; raise :class:`StoreConfigError` for unknown schemes.

    ``max_store_bytes`` (``OTS_MAX_STORE_BYTES``, 0: none) is the quota past which creates
    are refused with ``StoreFull``."""
    scheme, sep, rest = url.partition("://")
    if sep and scheme == "sqlite" and rest.startswith("/"):
        from ots_server.store.sqlite import SQLiteStore

        return SQLiteStore(Path(rest), max_store_bytes=max_store_bytes)
    if sep and scheme in {"redis", "rediss"}:
        raise StoreConfigError("OTS_STORE_URL: the Redis store is not available in this version")
    raise StoreConfigError("OTS_STORE_URL: expected sqlite:///absolute/path/to/ots.sqlite3")


__all__ = ["Store", "StoreConfigError", "open_store"]
