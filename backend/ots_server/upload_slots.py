"""The upload slots of one process, and each client's share of them.

``OTS_MAX_CONCURRENT_UPLOADS`` bounds the creates a process receives at once (one more: ``503``
with ``Retry-After``). Without a share, one client could hold them all for
``OTS_UPLOAD_TIMEOUT`` with slow uploads while staying under its rate limit, and everyone else
would get 503s. So one *subject* holds at most ``OTS_MAX_UPLOADS_PER_CLIENT`` of the slots; one
more create from it is answered ``429 rate_limited`` with ``Retry-After: 1``, before its body
is read.

The subject is the rate limit's (:func:`ots_server.middleware.ratelimit.limit_subject`): an
account for a request with a valid account token, whatever its address; else the client's IPv4
address or IPv6 network. It is kept only as its keyed hash
(:func:`ots_server.middleware.ratelimit.subject_hash`, under a random key made per process and
never stored), only in memory, and only while it holds a slot: nothing here is logged or
outlives the uploads. One event loop per process, so no lock is needed."""

from __future__ import annotations

import secrets

from ots_server.middleware.ratelimit import subject_hash


class UploadSlots:
    """Slots in use, in total and per hashed subject."""

    def __init__(self, total: int, per_subject: int) -> None:
        self.total = total
        self.per_subject = per_subject
        self.in_use = 0
        self._key = secrets.token_bytes(32)
        self._held: dict[bytes, int] = {}

    def key(self, subject: str) -> bytes:
        return subject_hash(self._key, subject)

    def subject_full(self, key: bytes) -> bool:
        """The subject behind ``key`` holds its whole share."""
        return self._held.get(key, 0) >= self.per_subject

    def full(self) -> bool:
        """Every slot of the process is in use."""
        return self.in_use >= self.total

    def take(self, key: bytes) -> None:
        self.in_use += 1
        self._held[key] = self._held.get(key, 0) + 1

    def give_back(self, key: bytes) -> None:
        self.in_use -= 1
        left = self._held[key] - 1
        if left:
            self._held[key] = left
        else:
            del self._held[key]  # a subject without uploads is not remembered

    def __len__(self) -> int:
        """Subjects holding a slot now."""
        return len(self._held)
