"""Structured logging: one JSON object per line on stderr.

Every line has ``ts``, ``level``, ``logger``, ``pid`` (the worker process) and ``msg``. The
access logger adds exactly these fields, one line per request: ``method``,
``route`` (the template, e.g. ``/api/v1/secrets/{id}/reveal``), ``status`` and
``duration_ms``. Nothing else from a request is ever passed to a logger: no path, path
parameter, query string, header value, body, proof, token or client address. Uvicorn's own
access log is switched off by ``ots-server serve`` because it logs paths, which hold ids.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

ACCESS_LOGGER = "ots_server.access"
#: The attribute of a LogRecord that carries structured fields (``extra={FIELDS: {...}}``).
FIELDS = "ots_fields"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "msg": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, separators=(",", ":"), default=str)


def configure_logging(level: str) -> None:
    """Send every logger (ours and uvicorn's) to stderr as JSON lines at ``level``."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # Uvicorn's access log line contains the request path, hence the id: never emit it.
    logging.getLogger("uvicorn.access").disabled = True
