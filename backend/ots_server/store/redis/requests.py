"""The request half of the Redis store: a mixin of :class:`.store.RedisStore`.

Keys (``P`` the prefix, ``ID`` the unpadded base64url request id)::

    P:q:{ID}    hash    the request record (verifiers, times, state); TTL until keep_until
    P:qa:{ID}   string  its sealed answer while answered; TTL until its expiry

Request ids are a namespace apart from secret ids (``q`` keys, never ``r``/``b``). Every
operation is one Lua script on the two keys, which share the hash tag ``{ID}``
(:mod:`.request_scripts`), so the single answer holds across instances and on Cluster;
nothing is reported done that Redis did not acknowledge. The sweep scans the record keys
(every Cluster primary), paced like the secrets' sweep, and only ends expired requests early
and deletes records past ``keep_until``: Redis frees both keys by their TTLs anyway.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from ots_server.store.outcomes import Answered, IdExists, NotFound, RequestGone
from ots_server.store.records import NewRequest, RequestEnd, RequestInfo
from ots_server.store.redis import request_scripts as lua
from ots_server.store.redis.client import RedisConnection, translated

#: Awaited by the sweep after each batch with the seconds it took.
Pace = Callable[[float], Awaitable[None]]

#: Record keys fetched per SCAN step and checked per pipeline by the sweep.
SWEEP_BATCH = 200


def _tag(id: bytes) -> str:
    return base64.urlsafe_b64encode(id).rstrip(b"=").decode("ascii")


def _outcome(reply: list[Any]) -> str:
    outcome = bytes(reply[0]).decode()
    if outcome == "not_found":
        raise NotFound
    if outcome == "gone":
        raise RequestGone(cast(RequestEnd, bytes(reply[1]).decode()), int(reply[2]))
    if outcome == "exists":
        raise IdExists
    if outcome == "answered":
        raise Answered(int(reply[1]))
    return outcome


class RedisRequests:
    """Request methods; the store provides the connection, the prefix and the script runner."""

    connection: RedisConnection
    prefix: str

    async def _run(self, script: Any, keys: list[Any], args: list[Any]) -> list[Any]:
        raise NotImplementedError

    def _register_request_scripts(self) -> None:
        client = self.connection.client
        self._request_create = client.register_script(lua.CREATE)
        self._request_read = client.register_script(lua.READ)
        self._request_answer = client.register_script(lua.ANSWER)
        self._request_close = client.register_script(lua.CLOSE)
        self._request_sweep = client.register_script(lua.SWEEP)

    def _request_keys(self, id: bytes) -> list[str]:
        tag = _tag(id)
        return [f"{self.prefix}:q:{{{tag}}}", f"{self.prefix}:qa:{{{tag}}}"]

    async def create_request(self, request: NewRequest) -> None:
        if not 0 < request.keep_until < 1 << 32:
            raise ValueError("a request that breaks the store's rules")
        reply = await self._run(
            self._request_create,
            self._request_keys(request.id),
            [
                request.created_at,
                request.answer_verifier,
                request.owner_verifier,
                request.expires_at,
                request.keep_until,
            ],
        )
        _outcome(reply)

    async def _read(self, id: bytes, check: bytes, now: int, *, owner: bool) -> RequestInfo:
        field, sealed = ("ov", "1") if owner else ("av", "0")
        reply = await self._run(
            self._request_read, self._request_keys(id), [now, check, field, sealed]
        )
        _outcome(reply)
        _, _, answered_at, created_at, expires_at, answer = reply
        return RequestInfo(
            id=id,
            created_at=int(created_at),
            expires_at=int(expires_at),
            answered_at=None if int(answered_at) < 0 else int(answered_at),
            sealed=bytes(answer) if owner and answer else None,
        )

    async def peek_request(self, id: bytes, answer_check: bytes, now: int) -> RequestInfo:
        return await self._read(id, answer_check, now, owner=False)

    async def request_status(self, id: bytes, owner_check: bytes, now: int) -> RequestInfo:
        return await self._read(id, owner_check, now, owner=True)

    async def answer_request(
        self, id: bytes, answer_check: bytes, sealed: bytes, now: int
    ) -> RequestInfo:
        reply = await self._run(
            self._request_answer, self._request_keys(id), [now, answer_check, sealed]
        )
        _outcome(reply)
        return RequestInfo(id, int(reply[1]), int(reply[2]), answered_at=now)

    async def close_request(self, id: bytes, owner_check: bytes, now: int) -> int:
        reply = await self._run(self._request_close, self._request_keys(id), [now, owner_check])
        _outcome(reply)
        return int(reply[1])

    async def _purge_requests(self, now: int, pace: Pace) -> tuple[int, int]:
        """Scan the request records; after each batch ``pace`` is awaited with the seconds
        the batch took (the sweep shares the event loop with requests)."""
        expired = purged = 0
        batch: list[bytes] = []

        async def sweep(keys: list[bytes]) -> None:
            nonlocal expired, purged
            pipe = self.connection.client.pipeline(transaction=False)
            for key in keys:
                pipe.hmget(key, ["st", "ea", "ku"])
            rows = await translated(pipe.execute())
            for key, (state, expires_at, keep_until) in zip(keys, rows, strict=True):
                live = state in (b"open", b"answered")
                due = state is not None and (
                    int(keep_until) <= now or (live and int(expires_at) <= now)
                )
                if not due:
                    continue  # most records: one cheap HMGET in a pipeline, no script
                answer_key = self.prefix.encode() + b":qa:" + key[len(self.prefix) + 3 :]
                reply = await self._run(self._request_sweep, [key, answer_key], [now])
                expired += int(reply[0])
                purged += int(reply[1])

        async for key in self.connection.scan(f"{self.prefix}:q:*", SWEEP_BATCH):
            batch.append(key)
            if len(batch) >= SWEEP_BATCH:
                started = time.monotonic()
                await sweep(batch)
                batch = []
                await pace(time.monotonic() - started)
        if batch:
            await sweep(batch)
        return expired, purged
