"""Bearer authentication of API requests, as pure ASGI middleware.

Any request under ``/api/`` may carry ``Authorization: Bearer ots_…``. Without that header the
request is anonymous. With it, the token must be exactly a token's shape, and the store must
know its hash (:meth:`~ots_server.store.protocol.Store.authenticate`); anything else (a malformed
header, another scheme, several ``Authorization`` headers, an unknown or revoked token) is
answered ``401 unauthorized`` with ``WWW-Authenticate: Bearer …, error="invalid_token"`` on
every API endpoint, before the rate limit, the route or the body, so a client learns at once
that its token is bad. Paths outside ``/api/`` (health, metrics, the link page) ignore the
header: a proxy in front may use bearer tokens of its own there.

Invariants:

- The token is hashed (SHA-256) before it goes anywhere; the store looks the hash up, which
  is constant time with respect to the token. Nothing is cached between requests: a revoked
  token fails on the very next request, on every instance.
- The outcome is put in the request scope under :data:`ACCOUNT` (a
  :class:`~ots_server.store.records.Principal`, or ``None`` for an anonymous request), where the
  rate limit and the handlers find it. Nothing about the token or its account is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from ots_server.accounts import token_hash
from ots_server.errors import ApiError, error_response
from ots_server.store import Principal, Store, StoreUnavailable, UnknownToken

logger = logging.getLogger("ots_server")

#: The scope key of the request's :class:`Principal` (``None``: anonymous).
ACCOUNT = "ots.account"
#: ``WWW-Authenticate`` of a request that needs a token and sent none.
CHALLENGE = 'Bearer realm="ots"'
#: ``WWW-Authenticate`` of a request whose token was refused (RFC 6750).
INVALID = 'Bearer realm="ots", error="invalid_token"'


def principal(scope: Scope) -> Principal | None:
    """The account the request authenticated as, or ``None``."""
    found = scope.get(ACCOUNT)
    return found if isinstance(found, Principal) else None


def unauthorized() -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        "the account token is malformed, unknown or revoked",
        headers={"WWW-Authenticate": INVALID},
    )


def token_required() -> ApiError:
    return ApiError(
        401,
        "unauthorized",
        "this endpoint needs an account token (Authorization: Bearer ots_…)",
        headers={"WWW-Authenticate": CHALLENGE},
    )


def _bearer_hash(scope: Scope) -> bytes | None:
    """The token's hash, or ``None`` without an Authorization header; ``UnknownToken`` for a
    header that does not carry exactly one well-formed bearer token."""
    values = [value for name, value in scope.get("headers", []) if name == b"authorization"]
    if not values:
        return None
    scheme, _, token = values[0].decode("latin-1").partition(" ")
    hashed = token_hash(token) if len(values) == 1 and scheme.lower() == "bearer" else None
    if hashed is None:
        raise UnknownToken
    return hashed


class Authenticate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        store: Store,
        clock: Callable[[], float],
        on_refused: Callable[[], None],
    ) -> None:
        self.app = app
        self.store = store
        self.clock = clock
        self.on_refused = on_refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        scope[ACCOUNT] = None
        try:
            hashed = _bearer_hash(scope)
            if hashed is not None:
                scope[ACCOUNT] = await self.store.authenticate(hashed, int(self.clock()))
        except UnknownToken:
            self.on_refused()
            await unauthorized().response()(scope, receive, send)
            return
        except StoreUnavailable as exc:
            logger.error("store unavailable (authentication): %s", exc)
            response = error_response(503, "unavailable", "the store is unavailable; retry later")
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
