"""The ASGI entry point uvicorn imports in every worker: ``ots_server.asgi:app_from_env``.

A factory, not a module-level app, so each worker process parses the environment, opens its
own store connections and builds its own app when it starts.
"""

from __future__ import annotations

import os

from starlette.applications import Starlette

from ots_server.app import create_app
from ots_server.logs import configure_logging
from ots_server.settings import Settings
from ots_server.store import open_store


def app_from_env() -> Starlette:
    settings = Settings.from_env(os.environ)
    configure_logging(settings.log_level)
    store = open_store(settings.store_url, max_store_bytes=settings.max_store_bytes)
    return create_app(settings, store, owns_store=True)
