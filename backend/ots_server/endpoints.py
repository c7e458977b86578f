"""What the ``/api/v1`` handler classes share: one way to read a request's parts.

- The id in the path: a malformed one is the indistinguishable 404 (:class:`SecretNotFound`)
  before the body is read or the store is touched.
- Small JSON bodies (:func:`ots_server.bodies.read_json`: at most 4096 bytes, exactly the
  allowed fields, the required ones present), read within ``OTS_UPLOAD_TIMEOUT``.
- ``now``: the injected clock, in whole seconds, read once per request.
- The caller's limits (account or anonymous) and ``OTS_REQUIRE_ACCOUNT``: a create without an
  account token is ``401 account_required`` before its body is read.

Store outcomes are not caught here or in the handlers: :mod:`ots_server.outcomes` answers them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from ots_server import codec
from ots_server.bodies import read_json
from ots_server.errors import ApiError, SecretNotFound
from ots_server.limits import Limits
from ots_server.middleware.auth import CHALLENGE, principal
from ots_server.settings import Settings


class Endpoints:
    """Base of the handler classes: settings, clock and the request readers."""

    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        self.settings = settings
        self.clock = clock
        #: The two sets of limits (anonymous, account), made once: they only read settings.
        self._caller_limits = (
            Limits.for_caller(settings, account=False),
            Limits.for_caller(settings, account=True),
        )

    def _now(self) -> int:
        return int(self.clock())

    async def _json(
        self,
        request: Request,
        allowed: frozenset[str],
        required: frozenset[str] | None = None,
        *,
        limit: int = codec.MAX_JSON_BYTES,
    ) -> dict[str, Any]:
        """The JSON body with only ``allowed`` fields, ``required`` (default: all) present."""
        timeout = self.settings.upload_timeout
        return await read_json(
            request,
            allowed,
            allowed if required is None else required,
            timeout=timeout,
            limit=limit,
        )

    @staticmethod
    def _id(request: Request) -> bytes:
        id = codec.path_id(request.path_params["id"])
        if id is None:
            raise SecretNotFound
        return id

    def _limits(self, request: Request) -> Limits:
        return self._caller_limits[principal(request.scope) is not None]

    def _require_account(self, request: Request, things: str) -> None:
        """Refuse a create of ``things`` without an account token when accounts are required."""
        if self.settings.require_account and principal(request.scope) is None:
            raise ApiError(
                401,
                "account_required",
                f"this server only lets account holders create {things}",
                headers={"WWW-Authenticate": CHALLENGE, "Connection": "close"},
            )
