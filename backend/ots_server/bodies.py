"""Reading request bodies with their limits enforced while streaming.

``read_json`` reads the small JSON bodies of peek, reveal, burn and receipts (at most
:data:`~ots_server.codec.MAX_JSON_BYTES`; a batch of receipt tokens at most
:data:`~ots_server.codec.MAX_BATCH_JSON_BYTES`). ``read_create`` reads the create frame::

    u32 big-endian meta_length (1..4096) | meta (UTF-8 JSON object) | blob (1..max_bytes)

The meta is parsed and validated before the blob is read, so a bad TTL is refused without
receiving the ciphertext. The blob is accumulated chunk by chunk and refused with 413 the
moment it passes ``max_bytes``; a ``Content-Length`` that is already too large is refused
before reading anything. Errors raised here carry ``Connection: close`` so the server does
not read (or wait for) the rest of a refused upload. Nothing reaches the store until the
whole body has arrived, so an aborted upload leaves nothing behind.

With a store that stages files (SQLite), a blob past :data:`SPOOL_AT` (64 KiB) is streamed
into a temp file of the store's blob directory as it arrives, so memory stays constant
whatever the size; the file is renamed into place only once the body is complete and within
the limits, and removed on any failure (413, 408, a cut connection, a failed write). A write
that fails mid-upload (a full disk or quota, a file size limit: 507 ``insufficient_storage``;
any other I/O error: 503 ``unavailable``) is answered like the store's own failures and logged
the same way (the store's fixed message only), but with ``Connection: close`` like every other
error found while reading: the client stops sending a blob that cannot be kept. Stores that
keep blobs in memory (memory, Redis) get the whole buffer as before.

With a store quota, ``read_create`` is given the create's hold on it (:mod:`ots_server.quota`):
a declared ``Content-Length`` is reserved before the body is read and every chunk before it
is kept, so a refused upload (507) stops before it reaches the disk.

Every body must arrive whole within ``timeout`` seconds (``OTS_UPLOAD_TIMEOUT``), else 408
``timeout``: a client trickling bytes cannot hold a connection and its buffer open forever.
The deadline is ``asyncio.timeout`` (the server runs on asyncio only): one timer handle, where
anyio's cancel scope was among the largest costs of a small create on the event loop.
A buffered blob is returned as the ``bytearray`` it was received into, never copied (the
store writes it from that buffer), so such an upload costs about its own size in memory.
"""

from __future__ import annotations

import asyncio
import functools
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive

from ots_server import codec
from ots_server.errors import ApiError, bad_request, store_failure
from ots_server.limits import Limits
from ots_server.oidc.binding import parse_binding
from ots_server.store import StagedFile, StoreFull, StoreUnavailable

CREATE_MEDIA_TYPE = "application/vnd.ots.secret"
MAX_META_BYTES = 4096
MAX_HEADER_LENGTH = 1024
CREATE_FIELDS = frozenset(
    {
        "id", "ttl", "views", "header_length", "link_verifier", "passphrase_verifier",
        "attempts", "binding",
    }
)  # fmt: skip
CREATE_REQUIRED = frozenset({"id", "header_length", "link_verifier"})
_CLOSE = {"Connection": "close"}
#: A blob up to this size is handed to the store in memory; past it, to a store that can
#: stage files, it is streamed to disk in pieces of about this size (constant memory).
SPOOL_AT = 64 * 1024


class Staging(Protocol):
    """A file an upload streams into (see :class:`ots_server.store.sqlite.blobs.Staging`)."""

    size: int

    async def write(self, data: bytearray) -> None: ...

    async def finish(self) -> str: ...

    def abort(self) -> None: ...


#: Starts a :class:`Staging` (``SQLiteStore.stage``); ``None`` for stores that buffer.
Stager = Callable[[], Staging]
#: Holds room for this many bytes of the upload or raises ``StoreFull`` (``Hold.grow``).
Reserve = Callable[[int], None]
#: Makes the 413 of a body past its limit (only made when it is raised).
TooLarge = Callable[[], ApiError]


@dataclass(frozen=True, slots=True)
class CreateMeta:
    id: bytes
    ttl: int
    views: int
    header_length: int
    link_verifier: bytes
    passphrase_verifier: bytes | None
    attempts: int | None
    #: Canonical binding text (:mod:`ots_server.oidc.binding`), or ``None``.
    binding: str | None = None


#: Checks a parsed meta before the blob is read (the binding's issuer: oidc.gate).
MetaCheck = Callable[[CreateMeta], None]


class _Stream:
    """Pulls request chunks on demand so limits apply before more is read; ``reserve`` is
    told the bytes received so far before a chunk is kept (and may refuse it).

    Reads the ASGI ``receive`` itself, as ``Request.stream()`` would (empty chunks skipped, a
    disconnect is ``ClientDisconnect``), without an async generator to drive and close per
    request. Nothing else reads these bodies."""

    def __init__(self, receive: Receive, reserve: Reserve | None = None) -> None:
        self._receive = receive
        self._buffer = bytearray()
        self._done = False
        self._received = 0
        self._reserve = reserve

    @property
    def buffer(self) -> bytearray:
        return self._buffer

    async def more(self) -> bool:
        return await self._more()

    async def _more(self) -> bool:
        while not self._done:
            message = await self._receive()
            if message["type"] == "http.request":
                self._done = not message.get("more_body", False)
                chunk = message.get("body", b"")
                if chunk:
                    break
            elif message["type"] == "http.disconnect":
                raise ClientDisconnect
        else:
            return False
        self._received += len(chunk)
        if self._reserve is not None:
            self._reserve(self._received)
        self._buffer += chunk
        return True

    async def take(self, size: int) -> bytes | None:
        while len(self._buffer) < size:
            if not await self._more():
                return None
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    async def rest(self, limit: int, too_large: TooLarge) -> bytearray:
        """Everything after what was taken, as the buffer itself (handed over, not copied)."""
        while True:
            if len(self._buffer) > limit:
                raise too_large()
            if not await self._more():
                return self._buffer


def _media_type(request: Request) -> tuple[str, list[str]]:
    kind, *params = request.headers.get("content-type", "").split(";")
    return kind.strip().lower(), [param.strip().lower() for param in params]


def _content_length(request: Request) -> int | None:
    value = request.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise bad_request("malformed Content-Length")
    return int(value)


def _too_large(limit: int, detail: str) -> ApiError:
    return ApiError(413, "too_large", detail, headers=_CLOSE, max_bytes=limit)


def _timeout() -> ApiError:
    return ApiError(408, "timeout", "the request body did not arrive in time", headers=_CLOSE)


async def read_json(
    request: Request,
    allowed: frozenset[str],
    required: frozenset[str],
    *,
    timeout: float,
    limit: int = codec.MAX_JSON_BYTES,
) -> dict[str, Any]:
    """A small JSON object of at most ``limit`` bytes (the batch receipt status takes more)."""
    try:
        async with asyncio.timeout(timeout):
            return await _read_json(request, allowed, required, limit)
    except TimeoutError:
        raise _timeout() from None


async def _read_json(
    request: Request, allowed: frozenset[str], required: frozenset[str], limit: int
) -> dict[str, Any]:
    kind, params = _media_type(request)
    if kind != "application/json" or any(p != "charset=utf-8" for p in params):
        raise ApiError(415, "unsupported_media_type", "expected Content-Type: application/json")
    too_large = functools.partial(_too_large, limit, "the JSON body is too large")
    length = _content_length(request)
    if length is not None and length > limit:
        raise too_large()
    raw = await _Stream(request.receive).rest(limit, too_large)
    return codec.parse_object(raw, allowed, required)


async def read_create(
    request: Request,
    limits: Limits,
    *,
    timeout: float,
    stage: Stager | None = None,
    reserve: Reserve | None = None,
    check: MetaCheck | None = None,
) -> tuple[CreateMeta, bytearray, StagedFile | None]:
    """The create frame, held to the caller's ``limits`` (anonymous or an account's).

    With ``reserve`` (the store's quota, :mod:`ots_server.quota`), a declared length is
    reserved before the body is read and a chunked body as it arrives; ``StoreFull`` from it
    is the 507 of a full store.

    With ``stage``, a blob past :data:`SPOOL_AT` is streamed into a staged file as it
    arrives and returned as a :class:`StagedFile` with the blob's first bytes (at least the
    header) in the buffer; any failure (limit, timeout, disconnect, a failed write) removes
    the file."""
    try:
        async with asyncio.timeout(timeout):
            return await _read_create(request, limits, stage, reserve, check)
    except TimeoutError:
        raise _timeout() from None
    except ApiError as exc:
        exc.headers.update(_CLOSE)
        raise
    except (StoreFull, StoreUnavailable) as exc:
        # Answered like the store's own failures, plus Connection: close (see above).
        raise store_failure(exc, headers=_CLOSE) from exc


async def _read_create(
    request: Request,
    limits: Limits,
    stage: Stager | None,
    reserve: Reserve | None,
    check: MetaCheck | None = None,
) -> tuple[CreateMeta, bytearray, StagedFile | None]:
    kind, params = _media_type(request)
    if kind != CREATE_MEDIA_TYPE or params:
        raise ApiError(415, "unsupported_media_type", f"expected Content-Type: {CREATE_MEDIA_TYPE}")
    too_large = functools.partial(
        _too_large, limits.max_bytes, "the secret is larger than this server accepts"
    )
    length = _content_length(request)
    if length is not None and length > 4 + MAX_META_BYTES + limits.max_bytes:
        raise too_large()
    if length is not None and reserve is not None:
        reserve(length)
    stream = _Stream(request.receive, reserve)
    prefix = await stream.take(4)
    if prefix is None:
        raise bad_request("truncated frame")
    (meta_length,) = struct.unpack(">I", prefix)
    if not 1 <= meta_length <= MAX_META_BYTES:
        raise bad_request(f"frame: meta_length must be 1..{MAX_META_BYTES}")
    raw_meta = await stream.take(meta_length)
    if raw_meta is None:
        raise bad_request("truncated frame")
    meta = parse_meta(raw_meta, limits)
    if check is not None:
        check(meta)
    if stage is None or limits.max_bytes <= SPOOL_AT:
        blob = await stream.rest(limits.max_bytes, too_large)
        staged = None
    else:
        blob, staged = await _spool(stream, limits.max_bytes, too_large, stage)
    if (staged.size if staged else len(blob)) < meta.header_length:
        raise bad_request("the blob is shorter than header_length (or empty)")
    return meta, blob, staged


async def _spool(
    stream: _Stream, limit: int, too_large: TooLarge, stage: Stager
) -> tuple[bytearray, StagedFile | None]:
    """Buffer up to :data:`SPOOL_AT`; past it, write the buffer out in pieces as it fills."""
    buffer = stream.buffer
    staging: Staging | None = None
    head = bytearray()
    try:
        while True:
            written = staging.size if staging else 0
            if written + len(buffer) > limit:
                raise too_large()
            more = await stream.more()
            if len(buffer) > SPOOL_AT or (not more and staging is not None and buffer):
                if staging is None:
                    staging = stage()
                    head = bytearray(buffer[:MAX_HEADER_LENGTH])
                await staging.write(buffer)
                buffer.clear()
            if not more:
                break
        if staging is None:
            return buffer, None
        name = await staging.finish()
        return head, StagedFile(name=name, size=staging.size)
    except BaseException:
        if staging is not None:
            staging.abort()
        raise


def parse_meta(raw: bytes, limits: Limits) -> CreateMeta:
    """Validate the create meta: 400 for malformed fields, 422 for out-of-range values."""
    body = codec.parse_object(raw, CREATE_FIELDS, CREATE_REQUIRED)
    id = codec.field_bytes(body, "id", codec.ID_BYTES)
    link_verifier = codec.field_bytes(body, "link_verifier", codec.PROOF_BYTES)
    passphrase_verifier = codec.optional_bytes(body, "passphrase_verifier", codec.PROOF_BYTES)
    header_length = codec.field_int(body, "header_length")
    if header_length is None or not 1 <= header_length <= MAX_HEADER_LENGTH:
        raise bad_request(f"header_length: expected an integer 1..{MAX_HEADER_LENGTH}")
    ttl = codec.field_int(body, "ttl")
    views = codec.field_int(body, "views")
    attempts = codec.field_int(body, "attempts")
    if attempts is not None and passphrase_verifier is None:
        raise bad_request("attempts: only allowed with passphrase_verifier")
    binding = body.get("binding")
    if binding is not None:
        try:
            parse_binding(binding)
        except ValueError as exc:
            raise bad_request(f"binding: {exc}") from None
    ttl = limits.ttl_default if ttl is None else ttl
    if not limits.ttl_min <= ttl <= limits.ttl_max:
        raise ApiError(
            422, "invalid_ttl", "ttl is out of range", min=limits.ttl_min, max=limits.ttl_max
        )
    views = 1 if views is None else views
    if not 1 <= views <= limits.max_views:
        raise ApiError(422, "invalid_views", "views is out of range", min=1, max=limits.max_views)
    if passphrase_verifier is not None:
        attempts = limits.default_attempts if attempts is None else attempts
        if not 1 <= attempts <= limits.max_attempts:
            raise ApiError(
                422,
                "invalid_attempts",
                "attempts is out of range",
                min=1,
                max=limits.max_attempts,
            )
    return CreateMeta(
        id=id,
        ttl=ttl,
        views=views,
        header_length=header_length,
        link_verifier=link_verifier,
        passphrase_verifier=passphrase_verifier,
        attempts=attempts,
        binding=binding,
    )
