"""The floor: the smallest Starlette app that does what ots's create and reveal must do.

A measuring stick for bench/compare.py (issue 18), not a product. It speaks ots's API for the
three calls the load uses, with the same request shapes (docs/API.md):

- ``POST /api/v1/secrets``: ``application/vnd.ots.secret`` frame (u32 meta length, meta JSON
  with ``id``, ``header_length``, ``link_verifier`` and optional ``ttl`` and ``views``, then
  the blob); 201 with ``id``, ``created_at``, ``expires_at``, ``views`` once the secret is
  durable; 409 ``exists`` for an id already used (live or tombstone).
- ``POST /api/v1/secrets/{id}/peek``: ``{"proof"}``; 200 with the header and the counters.
- ``POST /api/v1/secrets/{id}/reveal``: ``{"proof"}``; 200 with the blob and
  ``Ots-Views-Left``, consumed atomically; 410 ``gone`` (``state: consumed`` or ``expired``)
  once consumed, from a tombstone that keeps the verifier, so a second reveal with the right
  proof answers "already consumed", not "not found"; 404 for an unknown id or a wrong proof.

What it does as ots must: proofs are hashed with SHA-256 and compared in constant time with
the stored verifier (``hmac.compare_digest``; on Redis the XOR-accumulating ``ct_eq`` ots's
scripts use); on SQLite every 201 and every consume is committed with ``synchronous=FULL`` in
WAL mode by one writer thread that batches whatever is queued into one transaction (group
commit: one fsync per batch); on Redis each operation is one Lua script (redis-py asyncio),
so check and consume are atomic there too.

Shortcuts it takes that ots cannot (docs/benchmarks.md lists them with the figures):

- no rate limit, no upload slots per client, no connection limit, no quotas (store bytes,
  disk, Redis ``maxmemory``), no size limit but the frame's (meta at most 4096 bytes, blob
  at most 16 MiB, read whole into memory: no streaming of large blobs, no upload timeout);
- no receipts (token, hash, index), no burn, no passphrases or attempts, no requests, no
  accounts; no expiry sweep and no purge of tombstones; expiry is checked on reveal only;
- no metrics, no logging, no security headers, no request ids, no OpenAPI, no web pages;
- lenient parsing: unknown meta fields and duplicate JSON keys are not refused, base64 is
  not checked for canonical form, the content type of peek and reveal is not checked, error
  bodies are short and not the one 404 byte-for-byte;
- SQLite: one table, the blob inline, no ``secure_delete``, no checkpoint thread (SQLite's
  automatic checkpoint), the reader is the event loop itself (``peek`` is not on the
  measured path); Redis: one hash per secret, blob included, no key prefix or index.

Run by bench/compare.py under uvicorn with the options ``ots-server serve`` uses; the store is
``FLOOR_STORE``: a SQLite file path, or a ``redis://`` URL::

    FLOOR_STORE=/tmp/floor.sqlite3 python -m uvicorn --app-dir . bench.floor:app
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import queue
import sqlite3
import struct
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

MAX_META = 4096
MAX_BLOB = 16 << 20
TTL_DEFAULT, TTL_MAX, MAX_VIEWS = 7 * 86400, 30 * 86400, 100
#: Outcomes of a reveal, as the stores answer them.
NOT_FOUND, CONSUMED, EXPIRED = "not_found", "consumed", "expired"


class BadRequest(Exception):
    pass


def b64d(text: object, size: int) -> bytes:
    if not isinstance(text, str):
        raise BadRequest
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise BadRequest from None
    if len(data) != size:
        raise BadRequest
    return data


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Store(Protocol):
    async def create(
        self, id_: bytes, verifier: bytes, header_length: int, blob: bytes, views: int, exp: int
    ) -> bool: ...
    async def peek(self, id_: bytes, verifier: bytes) -> tuple[str, Any]: ...
    async def reveal(self, id_: bytes, verifier: bytes, now: int) -> tuple[str, Any]: ...
    async def close(self) -> None: ...


# --- SQLite: one writer thread, group commit ------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS secrets (
  id BLOB PRIMARY KEY, verifier BLOB NOT NULL, header_length INTEGER NOT NULL,
  blob BLOB, views INTEGER NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,
  state TEXT, at INTEGER
) WITHOUT ROWID
"""


class SqliteStore:
    """Every write goes through one thread, which takes all queued work, runs it in one
    ``BEGIN IMMEDIATE`` ... ``COMMIT`` and only then answers each caller: a 201 or a consumed
    view is on disk (``synchronous=FULL``) before the caller hears of it."""

    def __init__(self, path: str) -> None:
        self.writer = self._connect(path)
        self.writer.execute(SCHEMA)
        self.reader = self._connect(path)
        self.work: queue.SimpleQueue[tuple[Callable[[sqlite3.Connection], Any], Any] | None]
        self.work = queue.SimpleQueue()
        #: Transactions committed: fewer than writes when they were grouped.
        self.commits = 0
        self.thread = threading.Thread(target=self._run, name="floor-writer", daemon=True)
        self.thread.start()

    @staticmethod
    def _connect(path: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA busy_timeout = 5000")
        return conn

    def _run(self) -> None:
        while True:
            item = self.work.get()
            if item is None:
                return
            batch = [item]
            while True:  # whatever queued while the last commit ran joins this one
                try:
                    more = self.work.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self.work.put(None)
                    break
                batch.append(more)
            outcomes: list[tuple[Any, BaseException | None]] = []
            try:
                self.writer.execute("BEGIN IMMEDIATE")
                for job, _ in batch:
                    try:
                        outcomes.append((job(self.writer), None))
                    except sqlite3.Error as exc:
                        outcomes.append((None, exc))
                self.writer.execute("COMMIT")
                self.commits += 1
            except sqlite3.Error as exc:  # the commit failed: nobody's write is durable
                if self.writer.in_transaction:
                    self.writer.execute("ROLLBACK")
                outcomes = [(None, exc)] * len(batch)
            for (_, future), (value, error) in zip(batch, outcomes, strict=True):
                loop, fut = future
                loop.call_soon_threadsafe(_settle, fut, value, error)

    async def _write(self, job: Callable[[sqlite3.Connection], Any]) -> Any:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self.work.put((job, (loop, fut)))
        return await fut

    async def create(
        self, id_: bytes, verifier: bytes, header_length: int, blob: bytes, views: int, exp: int
    ) -> bool:
        now = int(time.time())

        def job(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "INSERT OR IGNORE INTO secrets (id, verifier, header_length, blob, views, "
                "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (id_, verifier, header_length, blob, views, now, exp),
            )
            return cur.rowcount == 1

        created: bool = await self._write(job)
        return created

    async def peek(self, id_: bytes, verifier: bytes) -> tuple[str, Any]:
        row = self.reader.execute(
            "SELECT verifier, header_length, substr(blob, 1, header_length), length(blob), "
            "views, created_at, expires_at, state, at FROM secrets WHERE id = ?",
            (id_,),
        ).fetchone()
        if row is None or not hmac.compare_digest(row[0], verifier):
            return NOT_FOUND, None
        if row[7] is not None:
            return row[7], row[8]
        if int(time.time()) >= row[6]:
            return EXPIRED, row[6]
        return "ok", row[2:7]

    async def reveal(self, id_: bytes, verifier: bytes, now: int) -> tuple[str, Any]:
        def job(conn: sqlite3.Connection) -> tuple[str, Any]:
            row = conn.execute(
                "SELECT verifier, blob, views, expires_at, state, at FROM secrets WHERE id = ?",
                (id_,),
            ).fetchone()
            if row is None or not hmac.compare_digest(row[0], verifier):
                return NOT_FOUND, None
            _, blob, views, expires_at, state, at = row
            if state is not None:
                return state, at
            if now >= expires_at:
                conn.execute(
                    "UPDATE secrets SET blob = NULL, state = ?, at = ? WHERE id = ?",
                    (EXPIRED, expires_at, id_),
                )
                return EXPIRED, expires_at
            if views > 1:
                conn.execute("UPDATE secrets SET views = views - 1 WHERE id = ?", (id_,))
            else:  # the last view: the blob goes, the tombstone stays
                conn.execute(
                    "UPDATE secrets SET blob = NULL, views = 0, state = ?, at = ? WHERE id = ?",
                    (CONSUMED, now, id_),
                )
            return "ok", (blob, views - 1)

        outcome: tuple[str, Any] = await self._write(job)
        return outcome

    async def close(self) -> None:
        self.work.put(None)
        await asyncio.to_thread(self.thread.join)
        self.writer.close()
        self.reader.close()


def _settle(fut: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
    if fut.cancelled():
        return
    if error is not None:
        fut.set_exception(error)
    else:
        fut.set_result(value)


# --- Redis: one Lua script per operation ----------------------------------------------------

CT_EQ = """
local function ct_eq(a, b)
  if type(a) ~= 'string' or type(b) ~= 'string' or #a ~= #b then return false end
  local d = 0
  for i = 1, #a do d = bit.bor(d, bit.bxor(string.byte(a, i), string.byte(b, i))) end
  return d == 0
end
"""
# KEYS[1] the secret's hash; ARGV: verifier, header_length, blob, views, created, expires,
# keep-until (the tombstone outlives the secret by a day).
CREATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'h', ARGV[2], 'b', ARGV[3], 'n', ARGV[4],
           'c', ARGV[5], 'e', ARGV[6])
redis.call('EXPIREAT', KEYS[1], ARGV[7])
return 1
"""
# ARGV: verifier, now. Answers {outcome, ...}.
PEEK = (
    CT_EQ
    + """
local r = redis.call('HMGET', KEYS[1], 'v', 'h', 'b', 'n', 'c', 'e', 's', 'a')
if not ct_eq(r[1], ARGV[1]) then return {'not_found'} end
if r[7] then return {r[7], r[8]} end
if tonumber(ARGV[2]) >= tonumber(r[6]) then return {'expired', r[6]} end
local h = tonumber(r[2])
return {'ok', string.sub(r[3], 1, h), tostring(#r[3]), r[4], r[5], r[6]}
"""
)
REVEAL = (
    CT_EQ
    + """
local r = redis.call('HMGET', KEYS[1], 'v', 'b', 'n', 'e', 's', 'a')
if not ct_eq(r[1], ARGV[1]) then return {'not_found'} end
if r[5] then return {r[5], r[6]} end
if tonumber(ARGV[2]) >= tonumber(r[4]) then
  redis.call('HDEL', KEYS[1], 'b')
  redis.call('HSET', KEYS[1], 's', 'expired', 'a', r[4])
  return {'expired', r[4]}
end
local left = tonumber(r[3]) - 1
if left > 0 then
  redis.call('HSET', KEYS[1], 'n', left)
else
  redis.call('HDEL', KEYS[1], 'b')
  redis.call('HSET', KEYS[1], 'n', 0, 's', 'consumed', 'a', ARGV[2])
end
return {'ok', r[2], tostring(left)}
"""
)


class RedisStore:
    def __init__(self, url: str) -> None:
        import redis.asyncio

        self.redis = redis.asyncio.Redis.from_url(url)
        self.create_script = self.redis.register_script(CREATE)
        self.peek_script = self.redis.register_script(PEEK)
        self.reveal_script = self.redis.register_script(REVEAL)

    @staticmethod
    def _key(id_: bytes) -> bytes:
        return b"floor:" + id_

    async def create(
        self, id_: bytes, verifier: bytes, header_length: int, blob: bytes, views: int, exp: int
    ) -> bool:
        now = int(time.time())
        args: list[bytes | int] = [verifier, header_length, blob, views, now, exp, exp + 86400]
        return bool(await self.create_script(keys=[self._key(id_)], args=args))

    async def peek(self, id_: bytes, verifier: bytes) -> tuple[str, Any]:
        answer = await self.peek_script(keys=[self._key(id_)], args=[verifier, int(time.time())])
        outcome = answer[0].decode()
        if outcome != "ok":
            return outcome, int(answer[1]) if len(answer) > 1 else None
        header, size, views, created, expires = answer[1:]
        return "ok", (header, int(size), int(views), int(created), int(expires))

    async def reveal(self, id_: bytes, verifier: bytes, now: int) -> tuple[str, Any]:
        answer = await self.reveal_script(keys=[self._key(id_)], args=[verifier, now])
        outcome = answer[0].decode()
        if outcome != "ok":
            return outcome, int(answer[1]) if len(answer) > 1 else None
        return "ok", (answer[1], int(answer[2]))

    async def close(self) -> None:
        await self.redis.aclose()


# --- HTTP -----------------------------------------------------------------------------------


def error(status: int, code: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": code, **extra}, status_code=status)


def store(request: Request) -> Store:
    s: Store = request.app.state.store
    return s


async def proof_of(request: Request) -> bytes:
    body = await request.body()
    if len(body) > MAX_META:
        raise BadRequest
    try:
        fields = json.loads(body)
    except ValueError:
        raise BadRequest from None
    if not isinstance(fields, dict):
        raise BadRequest
    return hashlib.sha256(b64d(fields.get("proof"), 32)).digest()


async def create(request: Request) -> Response:
    if request.headers.get("content-type") != "application/vnd.ots.secret":
        return error(415, "unsupported_media_type")
    body = await request.body()
    try:
        if len(body) < 4:
            raise BadRequest
        (meta_length,) = struct.unpack_from(">I", body)
        if not 1 <= meta_length <= MAX_META or len(body) <= 4 + meta_length:
            raise BadRequest
        try:
            meta = json.loads(body[4 : 4 + meta_length])
        except ValueError:
            raise BadRequest from None
        if not isinstance(meta, dict):
            raise BadRequest
        id_ = b64d(meta.get("id"), 16)
        verifier = b64d(meta.get("link_verifier"), 32)
        blob = body[4 + meta_length :]
        header_length, ttl, views = meta.get("header_length"), meta.get("ttl"), meta.get("views")
        if type(header_length) is not int or not 1 <= header_length <= min(1024, len(blob)):
            raise BadRequest
    except BadRequest:
        return error(400, "bad_request")
    ttl = TTL_DEFAULT if ttl is None else ttl
    views = 1 if views is None else views
    if type(ttl) is not int or not 60 <= ttl <= TTL_MAX:
        return error(422, "invalid_ttl")
    if type(views) is not int or not 1 <= views <= MAX_VIEWS:
        return error(422, "invalid_views")
    if len(blob) > MAX_BLOB:
        return error(413, "too_large")
    now = int(time.time())
    expires = now + ttl
    if not await store(request).create(id_, verifier, header_length, blob, views, expires):
        return error(409, "exists")
    answer = {"id": meta["id"], "created_at": now, "expires_at": expires, "views": views}
    return JSONResponse(answer, status_code=201)


async def peek(request: Request) -> Response:
    try:
        id_ = b64d(request.path_params["id"], 16)
        verifier = await proof_of(request)
    except BadRequest:
        return error(400, "bad_request")
    outcome, value = await store(request).peek(id_, verifier)
    if outcome == NOT_FOUND:
        return error(404, "not_found")
    if outcome != "ok":
        return error(410, "gone", state=outcome, at=value)
    header, size, views, created, expires = value
    return JSONResponse(
        {
            "id": request.path_params["id"],
            "header": b64e(header),
            "size": size,
            "created_at": created,
            "expires_at": expires,
            "views_left": views,
            "passphrase": False,
            "attempts_left": None,
        }
    )


async def reveal(request: Request) -> Response:
    try:
        id_ = b64d(request.path_params["id"], 16)
        verifier = await proof_of(request)
    except BadRequest:
        return error(400, "bad_request")
    outcome, value = await store(request).reveal(id_, verifier, int(time.time()))
    if outcome == NOT_FOUND:
        return error(404, "not_found")
    if outcome != "ok":
        return error(410, "gone", state=outcome, at=value)
    blob, left = value
    return Response(
        blob, media_type="application/octet-stream", headers={"Ots-Views-Left": str(left)}
    )


async def ready(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def open_store(where: str) -> Store:
    if where.startswith(("redis://", "unix://")):
        return RedisStore(where)
    return SqliteStore(where)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    app.state.store = open_store(os.environ["FLOOR_STORE"])
    try:
        yield
    finally:
        await app.state.store.close()


app = Starlette(
    routes=[
        Route("/api/v1/secrets", create, methods=["POST"]),
        Route("/api/v1/secrets/{id}/peek", peek, methods=["POST"]),
        Route("/api/v1/secrets/{id}/reveal", reveal, methods=["POST"]),
        Route("/readyz", ready, methods=["GET"]),
        # bench/lua/ots.lua primes wrk with this request (never sent by wrk 4.1).
        Route("/healthz", ready, methods=["GET"]),
    ],
    lifespan=lifespan,
)
