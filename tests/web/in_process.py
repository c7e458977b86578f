"""The app in-process for the pages' server-side tests: the real app on a real SQLite file,
behind Starlette's ``TestClient`` (lifespan running), with the rate limit off."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from starlette.exceptions import StarletteDeprecationWarning

from ots_server.app import create_app
from ots_server.settings import Settings
from ots_server.store.sqlite.store import SQLiteStore

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 fork for its TestClient and warns once on import.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

__all__ = ["TestClient", "make_client"]


def make_client(tmp_path: Path, **settings: Any) -> Iterator[TestClient]:
    """One client of the app with ``settings`` (``Settings`` fields) over the defaults; the
    store is closed when the generator ends."""
    store = SQLiteStore(tmp_path / "web.sqlite3")
    options = {"data_dir": tmp_path, "rate_limit_per_minute": 0, **settings}
    app = create_app(Settings(**options), store)
    try:
        with TestClient(app, base_url="http://ots.test") as client:
            yield client
    finally:
        store.close_sync()
