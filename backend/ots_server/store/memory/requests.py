"""The request half of the in-memory store: a mixin of :class:`.memory.MemoryStore`.

Requests live in their own dict (their ids are a namespace apart from secrets), behind the
store's one lock, so every operation, the single answer included, is atomic across the
threads a ``TestClient`` may use. The rules are the pure ones of :mod:`ots_server.store.rules`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ots_server.store import rules
from ots_server.store.outcomes import Answered, IdExists, RequestGone
from ots_server.store.records import NewRequest, RequestInfo


@dataclass
class StoredRequest:
    answer_verifier: bytes
    owner_verifier: bytes
    created_at: int
    expires_at: int
    keep_until: int
    #: ``open``, ``answered``, ``expired`` or ``closed``.
    state: str = "open"
    #: When it was answered (live) or ended (tombstone).
    state_at: int | None = None
    sealed: bytes | None = None

    def info(self, id: bytes, *, sealed: bool = False) -> RequestInfo:
        return RequestInfo(
            id=id,
            created_at=self.created_at,
            expires_at=self.expires_at,
            answered_at=self.state_at if self.state == "answered" else None,
            sealed=self.sealed if sealed else None,
        )

    def end(self, state: str, at: int) -> None:
        self.state, self.state_at, self.sealed = state, at, None


class MemoryRequests:
    """Request methods over ``_requests`` (created by the store) and the store's lock."""

    _lock: threading.Lock
    _requests: dict[bytes, StoredRequest]

    def _guard(self) -> None:
        raise NotImplementedError

    def _request(self, id: bytes, check: bytes, owner: bool, now: int) -> StoredRequest:
        """The request whose verifier ``check`` matches, or ``NotFound``; ``RequestGone`` if
        it is over (an expiry found here is recorded: the answer goes with it)."""
        request = self._requests.get(id)
        if request is not None and request.keep_until <= now:
            request = None
        verifier = None
        if request is not None:
            verifier = request.owner_verifier if owner else request.answer_verifier
        rules.require_link(verifier, check)
        assert request is not None
        if not rules.request_live(request.state, request.state_at, request.expires_at, now):
            request.end("expired", request.expires_at)
            raise RequestGone("expired", request.expires_at)
        return request

    async def create_request(self, request: NewRequest) -> None:
        with self._lock:
            self._guard()
            stale = self._requests.get(request.id)
            if stale is not None and stale.keep_until > request.created_at:
                raise IdExists
            self._requests[request.id] = StoredRequest(
                answer_verifier=request.answer_verifier,
                owner_verifier=request.owner_verifier,
                created_at=request.created_at,
                expires_at=request.expires_at,
                keep_until=request.keep_until,
            )

    async def peek_request(self, id: bytes, answer_check: bytes, now: int) -> RequestInfo:
        with self._lock:
            self._guard()
            return self._request(id, answer_check, False, now).info(id)

    async def answer_request(
        self, id: bytes, answer_check: bytes, sealed: bytes, now: int
    ) -> RequestInfo:
        with self._lock:
            self._guard()
            request = self._request(id, answer_check, False, now)
            if request.state == "answered":
                assert request.state_at is not None
                raise Answered(request.state_at)
            request.state, request.state_at, request.sealed = "answered", now, bytes(sealed)
            return request.info(id)

    async def request_status(self, id: bytes, owner_check: bytes, now: int) -> RequestInfo:
        with self._lock:
            self._guard()
            return self._request(id, owner_check, True, now).info(id, sealed=True)

    async def close_request(self, id: bytes, owner_check: bytes, now: int) -> int:
        with self._lock:
            self._guard()
            self._request(id, owner_check, True, now).end("closed", now)
            return now

    def _purge_requests(self, now: int) -> tuple[int, int]:
        """Under the lock: end expired requests, forget records past keep_until."""
        expired = purged = 0
        for id, request in list(self._requests.items()):
            if request.state in ("open", "answered") and request.expires_at <= now:
                request.end("expired", request.expires_at)
                expired += 1
            if request.keep_until <= now:
                del self._requests[id]
                purged += 1
        return expired, purged
