"""The secret and receipt endpoints of ``/api/v1``: thin handlers over the store.

Each handler validates the request completely (see :mod:`ots_server.bodies` and
:mod:`ots_server.codec`), turns proofs into ``sha256(proof)`` checks at once and calls one store
operation; its outcomes other than success are answered by :mod:`ots_server.outcomes`, as in
the contract in docs/API.md. A malformed id in the path is
answered with the indistinguishable 404 before the body is read or the store is touched.

A request with a valid account token (see :mod:`ots_server.middleware.auth`) creates under the
account limits and links the secret to the account; with ``OTS_REQUIRE_ACCOUNT=true`` a create
without one is answered ``401 account_required`` before its body is read. Nothing else ever
needs an account. ``GET /api/v1/limits`` answers the caller's limits.

The batch receipt status reads up to 100 receipts with one store call and answers ``null`` for
each one the single status would answer 404: unknown, forged and purged alike.

Creates are the only requests that may hold much memory (up to ``max_bytes`` until a store that
buffers has the blob; with SQLite, blobs past 64 KiB are streamed to a file as they arrive), so
a process receives at most ``max_concurrent_uploads`` of them at once; one more is answered 503
with ``Retry-After`` before its body is read, and one client or account holds at most
``max_uploads_per_client`` of them (429 past it; :mod:`ots_server.upload_slots`). With a store
quota (``OTS_MAX_STORE_BYTES``), each create also holds room for its upload while it arrives
(:mod:`ots_server.quota`). Reveal answers after the consume was committed, always with
``Content-Length``: a blob of at most 64 KiB in one piece (a plain ``Response``: a streaming
one costs a task group per request, about a fifth of the event loop's time in profiles of small
reveals), a larger one streamed in 64 KiB slices of one buffer, or 64 KiB reads of its file.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from ots_server import codec
from ots_server.bodies import read_create
from ots_server.endpoints import Endpoints
from ots_server.errors import ApiError
from ots_server.metrics import Metrics
from ots_server.middleware.auth import principal
from ots_server.middleware.ratelimit import limit_subject
from ots_server.oidc.gate import BindingGate
from ots_server.quota import Hold, MeasuresUsage, Quota
from ots_server.responses import JSONResponse
from ots_server.settings import Settings
from ots_server.store import (
    NewSecret,
    ReceiptStatus,
    Store,
)
from ots_server.upload_slots import UploadSlots

_PROOF = frozenset({"proof"})
_REVEAL = frozenset({"proof", "passphrase_proof"})
_RECEIPT = frozenset({"receipt"})
_RECEIPTS = frozenset({"receipts"})
_OCTETS = "application/octet-stream"
#: Slice size of a streamed reveal; a blob of at most this size is answered in one piece.
STREAM_CHUNK = 64 * 1024


async def _slices(blob: bytes) -> AsyncIterator[memoryview]:
    # An async generator: Starlette would hop to a worker thread for every slice of a sync one.
    view = memoryview(blob)
    for start in range(0, len(view), STREAM_CHUNK):
        yield view[start : start + STREAM_CHUNK]


async def _file_slices(fd: int, size: int) -> AsyncIterator[bytes]:
    """Read a file-backed blob in 64 KiB pieces (constant memory), then close it. Reads run on
    a worker thread so a slow disk never blocks the event loop."""
    try:
        left = size
        while left > 0:
            piece = await anyio.to_thread.run_sync(os.read, fd, min(STREAM_CHUNK, left))
            if not piece:
                raise OSError("the blob file is shorter than its recorded size")
            left -= len(piece)
            yield piece
    finally:
        os.close(fd)


def receipt_body(status: ReceiptStatus) -> dict[str, object]:
    return {
        "id": codec.b64encode(status.id),
        "state": status.state,
        "created_at": status.created_at,
        "expires_at": status.expires_at,
        "views": status.views,
        "views_left": status.views_left,
        "read_at": status.read_at,
        "burned_at": status.burned_at,
    }


class SecretsApi(Endpoints):
    def __init__(
        self, settings: Settings, store: Store, clock: Callable[[], float], metrics: Metrics
    ) -> None:
        super().__init__(settings, clock)
        self.store = store
        self.metrics = metrics
        #: Creates being received or stored right now, in total and per client or account.
        self.slots = UploadSlots(settings.max_concurrent_uploads, settings.max_uploads_per_client)
        #: Room for uploads in flight under the store's quota (SQLite with a quota only).
        self.quota: Quota | None = None
        if settings.max_store_bytes and isinstance(store, MeasuresUsage):
            self.quota = Quota(settings.max_store_bytes, store)
        self.bindings = BindingGate(settings, clock)

    async def limits(self, request: Request) -> Response:
        return JSONResponse(self._limits(request).published(self.settings))

    async def create(self, request: Request) -> Response:
        self._require_account(request, "secrets")
        settings = self.settings
        key = self.slots.key(
            limit_subject(request.scope, settings.trusted_proxies, settings.rate_limit_ipv6_prefix)
        )
        if self.slots.subject_full(key):
            self.metrics.event("upload_share_refused")
            raise ApiError(
                429,
                "rate_limited",
                "too many uploads in progress from this client; retry later",
                headers={"Retry-After": "1", "Connection": "close"},
                retry_after=1,
            )
        if self.slots.full():
            self.metrics.event("upload_refused")
            raise ApiError(
                503,
                "unavailable",
                "too many uploads in progress; retry later",
                headers={"Retry-After": "1", "Connection": "close"},
            )
        self.slots.take(key)
        try:
            return await self._create(request)
        finally:
            self.slots.give_back(key)

    async def _create(self, request: Request) -> Response:
        hold = None if self.quota is None else await self.quota.hold()
        try:
            return await self._receive_and_store(request, hold)
        finally:
            if hold is not None:
                hold.release()

    async def _receive_and_store(self, request: Request, hold: Hold | None) -> Response:
        caller = principal(request.scope)
        try:
            meta, blob, staged = await read_create(
                request,
                self._limits(request),
                timeout=self.settings.upload_timeout,
                stage=getattr(self.store, "stage", None),
                reserve=None if hold is None else hold.grow,
                check=self.bindings.check_create,
            )
        except ApiError as exc:
            if exc.error == "timeout":
                self.metrics.event("upload_timeout")
            raise
        receipt, receipt_hash = codec.new_receipt()
        now = self._now()
        expires_at = now + meta.ttl
        await self.store.create(
            NewSecret(
                id=meta.id,
                blob=blob,
                header_length=meta.header_length,
                link_verifier=meta.link_verifier,
                passphrase_verifier=meta.passphrase_verifier,
                attempts=meta.attempts,
                views=meta.views,
                created_at=now,
                expires_at=expires_at,
                keep_until=expires_at + self.settings.receipt_grace,
                receipt_hash=receipt_hash,
                account_id=None if caller is None else caller.account_id,
                staged=staged,
                binding=meta.binding,
            )
        )
        if hold is not None:
            hold.stored()
        del blob  # the store has it; do not hold the buffer while answering
        self.metrics.event("created")
        body = {
            "id": codec.b64encode(meta.id),
            "receipt": receipt,
            "created_at": now,
            "expires_at": expires_at,
            "views": meta.views,
            "attempts": meta.attempts,
        }
        return JSONResponse(body, status_code=201)

    async def peek(self, request: Request) -> Response:
        id = self._id(request)
        check = codec.proof_check(await self._json(request, _PROOF), "proof")
        info = await self.store.peek(id, check, self._now())
        await self.bindings.check_peek(request.headers, info.binding)
        return JSONResponse(
            {
                "id": codec.b64encode(info.id),
                "header": codec.b64encode(info.header),
                "size": info.size,
                "created_at": info.created_at,
                "expires_at": info.expires_at,
                "views_left": info.views_left,
                "passphrase": info.passphrase,
                "attempts_left": info.attempts_left,
                "binding": info.binding,
            }
        )

    async def reveal(self, request: Request) -> Response:
        id = self._id(request)
        body = await self._json(request, _REVEAL, _PROOF)
        check = codec.proof_check(body, "proof")
        passphrase_check = None
        if body.get("passphrase_proof") is not None:
            passphrase_check = codec.proof_check(body, "passphrase_proof")
        now = self._now()
        # A bound secret needs a verified ID token (ots_server.oidc.gate); the store checks.
        binding = await self.bindings.verified_binding(request.headers, self.store, id, check, now)
        revealed = await self.store.reveal(id, check, passphrase_check, now, binding)
        self.metrics.event("revealed")
        headers = {
            "Content-Length": str(revealed.length),
            "Ots-Views-Left": str(revealed.views_left),
        }
        if revealed.file is None and len(revealed.blob) <= STREAM_CHUNK:
            return Response(revealed.blob, media_type=_OCTETS, headers=headers)
        # The consume is committed; the blob goes out in slices of one buffer, never copied,
        # or read piece by piece from its (possibly already unlinked) file.
        content = (
            _slices(revealed.blob)
            if revealed.file is None
            else _file_slices(revealed.file, revealed.size)
        )
        return StreamingResponse(content, media_type=_OCTETS, headers=headers)

    async def burn(self, request: Request) -> Response:
        id = self._id(request)
        check = codec.proof_check(await self._json(request, _PROOF), "proof")
        tombstone = await self.store.burn(id, check, self._now())
        self.metrics.event("burned")
        return JSONResponse(
            {"id": codec.b64encode(id), "state": tombstone.state, "at": tombstone.at}
        )

    async def receipt_status(self, request: Request) -> Response:
        receipt_hash = codec.receipt_hash(await self._json(request, _RECEIPT))
        status = await self.store.receipt_status(receipt_hash, self._now())
        return JSONResponse(receipt_body(status))

    async def receipt_statuses(self, request: Request) -> Response:
        """Many receipts in one request, answered in order; an unknown, forged or purged
        receipt is ``null``, exactly what a single status tells by its 404 and no more."""
        body = await self._json(request, _RECEIPTS, limit=codec.MAX_BATCH_JSON_BYTES)
        statuses = await self.store.receipt_statuses(codec.receipt_hashes(body), self._now())
        return JSONResponse(
            {"receipts": [None if s is None else receipt_body(s) for s in statuses]}
        )

    async def receipt_burn(self, request: Request) -> Response:
        receipt_hash = codec.receipt_hash(await self._json(request, _RECEIPT))
        status = await self.store.burn_by_receipt(receipt_hash, self._now())
        return JSONResponse(receipt_body(status))
