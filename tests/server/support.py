"""Test support for the server suite: a fake clock, a simulated client, servers on Redis.

``SimSecret`` plays the client's part without the CLI: random id, link proof and blob (the
server never parses blobs, so random bytes are a faithful stand-in), verifiers as SHA-256 of
proofs, and the create frame of docs/API.md. Real server processes are
:class:`processes.ServerProcess` (tests/processes.py, shared by every suite);
:func:`redis_servers` starts several of them on one Redis store.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import struct
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import clock
import httpx
from processes import ServerProcess
from starlette.types import ASGIApp, Message

from ots_server.accounts import new_token, normalise_email
from ots_server.store import NewAccount, NewSecret, NewToken, Revealed

#: Pages of an empty SQLite database: 16 for secrets and accounts, 3 for requests (migration 4).
EMPTY_DATABASE_PAGES = 19
#: How much more an empty SQLite database counts toward a quota than the one quotas in tests
#: were first written for: new databases use 16 KiB pages (16 pages of 16 KiB instead of
#: 4 KiB), and the requests table with its two indexes takes 3 more.
EMPTY_DATABASE_GROWTH = 16 * (16384 - 4096) + 3 * 16384

START = 1_790_000_000
CREATE_TYPE = "application/vnd.ots.secret"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sha256(raw: bytes) -> bytes:
    return hashlib.sha256(raw).digest()


class FakeClock(clock.FakeClock):
    """The suite's clock, starting at START unless told otherwise."""

    def __init__(self, start: float = START) -> None:
        super().__init__(start)


@dataclass(frozen=True)
class SimSecret:
    id: bytes
    proof: bytes
    blob: bytes
    header_length: int = 8
    passphrase_proof: bytes | None = None

    @classmethod
    def make(cls, size: int = 64, *, passphrase: bool = False) -> SimSecret:
        return cls(
            id=os.urandom(16),
            proof=os.urandom(32),
            blob=os.urandom(size),
            passphrase_proof=os.urandom(32) if passphrase else None,
        )

    @property
    def sid(self) -> str:
        return b64(self.id)

    @property
    def link_check(self) -> bytes:
        return sha256(self.proof)

    @property
    def passphrase_check(self) -> bytes | None:
        return None if self.passphrase_proof is None else sha256(self.passphrase_proof)

    def meta(self, **overrides: Any) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "id": self.sid,
            "header_length": self.header_length,
            "link_verifier": b64(self.link_check),
        }
        if self.passphrase_proof is not None:
            meta["passphrase_verifier"] = b64(sha256(self.passphrase_proof))
        meta.update(overrides)
        return {key: value for key, value in meta.items() if value is not ...}

    def frame(self, **overrides: Any) -> bytes:
        return frame(json.dumps(self.meta(**overrides)).encode(), self.blob)

    def new_secret(
        self,
        now: int,
        *,
        ttl: int = 3600,
        views: int = 1,
        attempts: int | None = None,
        grace: int = 600,
        receipt_hash: bytes | None = None,
    ) -> NewSecret:
        if self.passphrase_proof is not None and attempts is None:
            attempts = 3
        return NewSecret(
            id=self.id,
            blob=self.blob,
            header_length=self.header_length,
            link_verifier=self.link_check,
            passphrase_verifier=self.passphrase_check,
            attempts=attempts,
            views=views,
            created_at=now,
            expires_at=now + ttl,
            keep_until=now + ttl + grace,
            receipt_hash=receipt_hash if receipt_hash is not None else os.urandom(32),
        )

    def proof_body(self, proof: bytes | None = None) -> dict[str, str]:
        return {"proof": b64(self.proof if proof is None else proof)}

    def reveal_body(
        self, proof: bytes | None = None, passphrase_proof: bytes | None = None
    ) -> dict[str, str]:
        body = self.proof_body(proof)
        chosen = passphrase_proof if passphrase_proof is not None else self.passphrase_proof
        if chosen is not None:
            body["passphrase_proof"] = b64(chosen)
        return body


@dataclass(frozen=True)
class SimAccount:
    """An account as the operator command makes it: random id, normalised email, one token."""

    id: bytes
    email: str
    email_key: str
    token: str = field(repr=False)
    token_hash: bytes = field(repr=False)

    @classmethod
    def make(cls, email: str | None = None) -> SimAccount:
        address, key = normalise_email(email or f"user-{os.urandom(4).hex()}@example.org")
        token, token_hash = new_token()
        return cls(os.urandom(16), address, key, token, token_hash)

    def new_account(self, now: int, *, name: str = "default") -> NewAccount:
        return NewAccount(self.id, self.email, self.email_key, now, self.new_token(now, name))

    def new_token(self, now: int, name: str) -> NewToken:
        return NewToken(name, self.token_hash, now)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def content(revealed: Revealed) -> bytes:
    """The revealed blob, read (and closed) from its file when the store kept it in one."""
    if revealed.file is None:
        return revealed.blob
    try:
        with os.fdopen(os.dup(revealed.file), "rb") as handle:
            data = handle.read()
    finally:
        os.close(revealed.file)
    assert len(data) == revealed.size
    return data


def frame(meta: bytes, blob: bytes) -> bytes:
    return struct.pack(">I", len(meta)) + meta + blob


def frame_prefix(secret: SimSecret) -> bytes:
    """A create body's frame up to the blob: for uploads a test sends in pieces."""
    return frame(json.dumps(secret.meta()).encode(), b"")


def create(client: httpx.Client, secret: SimSecret, **meta: Any) -> httpx.Response:
    return create_as(client, secret, {}, **meta)


def create_as(
    client: httpx.Client, secret: SimSecret, headers: Mapping[str, str], **meta: Any
) -> httpx.Response:
    """Create with extra request headers (an account token)."""
    return client.post(
        "/api/v1/secrets",
        content=secret.frame(**meta),
        headers={"Content-Type": CREATE_TYPE, **headers},
    )


def post(client: httpx.Client, secret: SimSecret, action: str, body: Any) -> httpx.Response:
    return client.post(f"/api/v1/secrets/{secret.sid}/{action}", json=body)


def assert_error(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    """The one error shape: JSON with string ``error`` and ``detail``."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["error"] == error, body
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body  # type: ignore[no-any-return]


def post_scope(path: str, headers: list[tuple[bytes, bytes]], client: Any) -> dict[str, Any]:
    """The ASGI scope of an HTTP/1.1 POST to ``path`` on the test server."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": client,
        "server": ("ots.test", 80),
    }


async def call_asgi(
    app: ASGIApp,
    path: str,
    headers: dict[str, str],
    chunks: Sequence[bytes | anyio.Event],
    *,
    complete: bool = True,
    client: tuple[str, int] = ("127.0.0.1", 50000),
) -> tuple[int, dict[str, str], bytes, int]:
    """Drive the app directly with a POST; return status, headers, body and how many body
    chunks it pulled. An ``anyio.Event`` among ``chunks`` makes the upload stall until it is
    set (a slow client). ``complete=False``: the client goes away after the last chunk."""
    items = list(chunks)
    pulled = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal pulled
        while items and isinstance(items[0], anyio.Event):
            await items.pop(0).wait()  # type: ignore[union-attr]
        if items:
            body = items.pop(0)
            assert isinstance(body, bytes)
            pulled += 1
            return {"type": "http.request", "body": body, "more_body": bool(items) or not complete}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = post_scope(path, [(k.lower().encode(), v.encode()) for k, v in headers.items()], client)
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    response_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], response_headers, body, pulled


async def reveal_messages(app: ASGIApp, secret: SimSecret) -> list[Message]:
    """The ASGI messages the app sends for a reveal of ``secret``, with a client that stays
    connected until the whole answer arrived (so a streamed answer is not cut short)."""
    body = json.dumps(secret.reveal_body()).encode()
    sent: list[Message] = []
    done = anyio.Event()

    async def receive() -> Message:
        nonlocal body
        if body:
            chunk, body = body, b""
            return {"type": "http.request", "body": chunk, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            done.set()

    path = f"/api/v1/secrets/{secret.sid}/reveal"
    scope = post_scope(path, [(b"content-type", b"application/json")], ("127.0.0.1", 50000))
    with anyio.fail_after(10):
        await app(scope, receive, send)
    return sent


@contextlib.contextmanager
def redis_servers(tmp: Path, url: str, count: int, **env: str) -> Iterator[list[ServerProcess]]:
    """``count`` instances of ``ots-server serve`` sharing the Redis store at ``url``."""
    servers = [
        ServerProcess(
            db_path=tmp / f"unused{i}.sqlite3",
            log_path=tmp / f"ots{i}.log",
            env={"OTS_STORE_URL": url, **env},
        )
        for i in range(count)
    ]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.kill()


async def until_acknowledged(
    created: set[bytes], revealed: set[bytes], *, creates: int = 10, reveals: int = 3
) -> None:
    """Wait (at most 30 s) until a crash test's load has enough acknowledged work.

    The kill then comes at a random moment after it: on a loaded machine a fixed delay may
    come before the first 201, and the check would mean nothing.
    """
    deadline = time.monotonic() + 30
    while (len(created) < creates or len(revealed) < reveals) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
