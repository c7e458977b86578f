"""The one HTTP error shape: ``{"error": code, "detail": text, ...extra}`` with a real status.

Handlers raise :class:`ApiError`; the app's exception handlers turn it, Starlette's own HTTP
exceptions and store failures into responses built by :func:`error_response`. ``detail`` is
fixed text chosen by the server: it never echoes a request value, so an error body can never
carry an id, proof or token back out (or into a log).

:func:`not_found` (raised as :class:`SecretNotFound`) is the single answer for every 404 the
server sends: every case a caller without the key must not be able to tell apart (unknown id,
malformed id, wrong proof, consumed, burned, expired), unknown receipts, and paths that match
no route (``/api/v1/secrets/{id}`` without an action, a typo, a trailing slash). The same
status, the same bytes, the same headers, so not even the router can tell a prober which of
these it hit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

from starlette.responses import Response

from ots_server.store import StoreFull, StoreUnavailable

logger = logging.getLogger("ots_server")

NOT_FOUND_DETAIL = "not found, or the proof does not match"


class ApiError(Exception):
    """An error answered with the standard shape; ``extra`` adds documented fields."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: object,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = extra

    def response(self) -> Response:
        return error_response(
            self.status, self.error, self.detail, headers=self.headers, **self.extra
        )


def error_response(
    status: int,
    error: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: object,
) -> Response:
    body = json.dumps(
        {"error": error, "detail": detail, **extra}, separators=(",", ":"), allow_nan=False
    ).encode()
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def store_failure(
    exc: StoreFull | StoreUnavailable, *, headers: Mapping[str, str] | None = None
) -> ApiError:
    """The answer to a store that is full (507) or failing (503), logged with the store's
    fixed message only (never a secret, id or address)."""
    if isinstance(exc, StoreFull):
        logger.error("store full: %s", exc)
        return ApiError(
            507, "insufficient_storage", "the server has no room for more secrets", headers=headers
        )
    logger.error("store unavailable: %s", exc)
    return ApiError(503, "unavailable", "the store is unavailable; retry later", headers=headers)


def bad_request(detail: str) -> ApiError:
    return ApiError(400, "bad_request", detail)


def not_found() -> Response:
    return error_response(404, "not_found", NOT_FOUND_DETAIL)


class SecretNotFound(ApiError):
    """Raised wherever the answer must be the indistinguishable 404."""

    def __init__(self) -> None:
        super().__init__(404, "not_found", NOT_FOUND_DETAIL)
