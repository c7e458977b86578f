"""The request endpoints of ``/api/v1`` (``ots request``; docs/API.md "Requests"): thin handlers
over the request methods of the store, with the conventions of the secret endpoints.

- Bodies are small JSON objects (:func:`ots_server.bodies.read_json`: at most 4096 bytes,
  ``application/json``, no duplicate or unknown fields, canonical base64url), read within the
  upload timeout. Proofs become ``sha256(proof)`` checks at once; the store never sees one.
- A malformed id in the path is answered with the one indistinguishable 404 before the body
  is read or the store is touched; an unknown id, a wrong proof and a purged request get the
  same bytes. ``410 gone`` (``expired`` or ``closed``) only to a caller whose proof matches.
- Peek and answer take the *answer* proof (derived from the link's public key); status and
  close take the *owner* proof (derived from the requester's private key), so whoever saw
  only the id can do nothing, and whoever holds only the link can answer once but neither
  read the answer nor close the request.
- Create is an account-limited create like a secret's: with ``OTS_REQUIRE_ACCOUNT=true`` it is
  ``401 account_required`` before the body is read; the TTL is held to the caller's published
  range. Rate limits and security headers apply as to every ``/api/`` POST (middleware).
- Store outcomes (``NotFound``, ``RequestGone``, ``Answered``, ``IdExists``) are answered by
  :mod:`ots_server.outcomes`, the same for every endpoint.
- 201s (create, answer) are sent only after the store committed. Nothing here logs.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ots_server import codec
from ots_server.endpoints import Endpoints
from ots_server.errors import ApiError
from ots_server.metrics import Metrics
from ots_server.settings import Settings
from ots_server.store import (
    SEALED_BYTES,
    NewRequest,
    RequestInfo,
    RequestStore,
)

CREATE_FIELDS = frozenset({"id", "ttl", "answer_verifier", "owner_verifier"})
CREATE_REQUIRED = frozenset({"id", "answer_verifier", "owner_verifier"})
_PROOF = frozenset({"proof"})
_ANSWER = frozenset({"proof", "sealed"})


def _described(info: RequestInfo) -> dict[str, object]:
    return {
        "id": codec.b64encode(info.id),
        "created_at": info.created_at,
        "expires_at": info.expires_at,
        "state": info.state,
        "answered_at": info.answered_at,
    }


class RequestsApi(Endpoints):
    def __init__(
        self,
        settings: Settings,
        store: RequestStore,
        clock: Callable[[], float],
        metrics: Metrics,
    ) -> None:
        super().__init__(settings, clock)
        self.store = store
        self.metrics = metrics

    async def create(self, request: Request) -> Response:
        self._require_account(request, "requests")
        body = await self._json(request, CREATE_FIELDS, CREATE_REQUIRED)
        id = codec.field_bytes(body, "id", codec.ID_BYTES)
        answer_verifier = codec.field_bytes(body, "answer_verifier", codec.PROOF_BYTES)
        owner_verifier = codec.field_bytes(body, "owner_verifier", codec.PROOF_BYTES)
        ttl = codec.field_int(body, "ttl")
        limits = self._limits(request)
        ttl = limits.ttl_default if ttl is None else ttl
        if not limits.ttl_min <= ttl <= limits.ttl_max:
            raise ApiError(
                422, "invalid_ttl", "ttl is out of range", min=limits.ttl_min, max=limits.ttl_max
            )
        now = self._now()
        expires_at = now + ttl
        await self.store.create_request(
            NewRequest(
                id=id,
                answer_verifier=answer_verifier,
                owner_verifier=owner_verifier,
                created_at=now,
                expires_at=expires_at,
                keep_until=expires_at + self.settings.receipt_grace,
            )
        )
        self.metrics.event("request_created")
        body = {"id": codec.b64encode(id), "created_at": now, "expires_at": expires_at}
        return JSONResponse(body, status_code=201)

    async def peek(self, request: Request) -> Response:
        id = self._id(request)
        check = codec.proof_check(await self._json(request, _PROOF), "proof")
        info = await self.store.peek_request(id, check, self._now())
        return JSONResponse(_described(info))

    async def answer(self, request: Request) -> Response:
        id = self._id(request)
        body = await self._json(request, _ANSWER)
        check = codec.proof_check(body, "proof")
        sealed = codec.field_bytes(body, "sealed", SEALED_BYTES)
        info = await self.store.answer_request(id, check, sealed, self._now())
        self.metrics.event("request_answered")
        return JSONResponse(
            {
                "id": codec.b64encode(id),
                "answered_at": info.answered_at,
                "expires_at": info.expires_at,
            },
            status_code=201,
        )

    async def status(self, request: Request) -> Response:
        id = self._id(request)
        check = codec.proof_check(await self._json(request, _PROOF), "proof")
        info = await self.store.request_status(id, check, self._now())
        sealed = None if info.sealed is None else codec.b64encode(info.sealed)
        return JSONResponse({**_described(info), "sealed": sealed})

    async def close(self, request: Request) -> Response:
        id = self._id(request)
        check = codec.proof_check(await self._json(request, _PROOF), "proof")
        at = await self.store.close_request(id, check, self._now())
        self.metrics.event("request_closed")
        return JSONResponse({"id": codec.b64encode(id), "state": "closed", "at": at})
