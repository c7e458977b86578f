"""Size limits and write failures on the streaming create path (blobs past 64 KiB, SQLite).

Account limits: with a valid bearer token a create is held to ``OTS_ACCOUNT_MAX_BYTES``
(default 4 MiB, four times the anonymous ``OTS_MAX_BYTES`` of 1 MiB), without one to
``OTS_MAX_BYTES``, both enforced while the body streams into its temp file: a blob at the
limit is kept, one byte more is 413 ``too_large`` with ``Connection: close``, a chunked body
(no ``Content-Length``) is refused as soon as it passes the limit, and nothing is left (no
row, no blob file, no temp file in ``<db>.blobs/``). In process the upload is driven chunk by
chunk through the whole app (``call_asgi``), so the tests see how much was read; against a
real ``ots-server serve`` the client streams a generator body.

Write failures: a real server whose ``RLIMIT_FSIZE`` is lowered to 8 MiB (SIGXFSZ is ignored,
as Python does at start-up) gets ``EFBIG`` from the kernel when the temp file grows past it,
the way a full disk gives ``ENOSPC`` (verified by hand on a 4 MiB tmpfs: the same answer).
The create is answered 507 ``insufficient_storage`` with ``Connection: close`` (the client
stops sending), the temp file is gone, the log names the failure without any id or client
address, and the server keeps serving.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import resource
import signal
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from processes import ServerProcess, running_server, server_command
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from ots_server.app import create_app
from ots_server.settings import Settings
from ots_server.store import StoreFull, StoreUnavailable
from ots_server.store.sqlite.blobs import TEMP_PREFIX, store_error
from ots_server.store.sqlite.store import SQLiteStore

from .support import (
    CREATE_TYPE,
    START,
    FakeClock,
    SimAccount,
    SimSecret,
    assert_error,
    call_asgi,
    create,
    create_as,
    frame_prefix,
    post,
)

KIB = 1024
MIB = 1024 * KIB
#: Piece size of in-process uploads: about what uvicorn hands the app per ``receive``.
PIECE = 64 * KIB
CREATE = "/api/v1/secrets"


def _pieces(data: bytes, piece: int = PIECE) -> list[bytes]:
    return [data[start : start + piece] for start in range(0, len(data), piece)]


def _blob_files(db_path: Path) -> list[str]:
    return sorted(os.listdir(db_path.with_name(db_path.name + ".blobs")))


def _rows(db_path: Path, secret: SimSecret) -> tuple[int, int]:
    """Rows for ``secret`` in ``records`` and ``secrets``, read from the file itself."""
    with sqlite3.connect(db_path) as conn:
        records = conn.execute("SELECT count(*) FROM records WHERE id = ?", (secret.id,))
        record_count = records.fetchone()[0]
        secrets = conn.execute("SELECT count(*) FROM secrets WHERE id = ?", (secret.id,))
        secret_count = secrets.fetchone()[0]
    conn.close()
    return record_count, secret_count


def _nothing_kept(db_path: Path, secret: SimSecret) -> None:
    assert _blob_files(db_path) == []
    assert _rows(db_path, secret) == (0, 0)


# -- in process: the whole app driven chunk by chunk -----------------------------------------


class Served:
    """The app on a real SQLite file, with one account and its bearer token."""

    def __init__(
        self, tmp_path: Path, clock: FakeClock, *, max_bytes: int = MIB, account_max_bytes: int = 0
    ) -> None:
        self.db_path = tmp_path / "limits.sqlite3"
        self.store = SQLiteStore(self.db_path)
        self.settings = Settings(
            data_dir=tmp_path,
            rate_limit_per_minute=0,
            account_rate_limit_per_minute=0,
            max_bytes=max_bytes,
            account_max_bytes=account_max_bytes,  # 0: the default, 4 * max_bytes
        )
        self.app: ASGIApp = create_app(self.settings, self.store, clock=clock)
        self.account = SimAccount.make()

    async def add_account(self) -> None:
        await self.store.create_account(self.account.new_account(START))

    def headers(self, who: str, secret: SimSecret, size: int, *, declared: bool) -> dict[str, str]:
        headers = {"content-type": CREATE_TYPE}
        if who == "account":
            headers["authorization"] = f"Bearer {self.account.token}"
        if declared:
            headers["content-length"] = str(len(frame_prefix(secret)) + size)
        return headers

    async def upload(
        self, who: str, secret: SimSecret, *, declared: bool
    ) -> tuple[int, dict[str, str], bytes, int, int]:
        """Create ``secret`` in 64 KiB pieces; also return how many pieces there were."""
        chunks: list[bytes | anyio.Event] = [frame_prefix(secret), *_pieces(secret.blob)]
        headers = self.headers(who, secret, len(secret.blob), declared=declared)
        status, answer_headers, body, pulled = await call_asgi(self.app, CREATE, headers, chunks)
        return status, answer_headers, body, pulled, len(chunks)

    async def reveal(self, secret: SimSecret) -> bytes:
        # httpx's ASGI transport, not call_asgi: that one reports a disconnect right after
        # the request body, which ends a streamed response before it is sent.
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ots.test") as client:
            answer = await client.post(f"{CREATE}/{secret.sid}/reveal", json=secret.reveal_body())
        assert answer.status_code == 200
        return answer.content


@pytest.fixture
def served(tmp_path: Path, clock: FakeClock) -> Iterator[Served]:
    served = Served(tmp_path, clock)
    try:
        yield served
    finally:
        served.store.close_sync()


def test_the_defaults_are_1_mib_anonymous_and_4_mib_with_an_account(served: Served) -> None:
    assert (served.settings.max_bytes, served.settings.account_max_bytes) == (MIB, 4 * MIB)


@pytest.mark.anyio
@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
@pytest.mark.parametrize(("who", "size"), [("account", 4 * MIB), ("anonymous", MIB)])
async def test_a_blob_exactly_at_the_callers_limit_is_kept_in_a_file(
    served: Served, who: str, size: int, declared: bool
) -> None:
    await served.add_account()
    secret = SimSecret.make(size)
    status, _, body, pulled, pieces = await served.upload(who, secret, declared=declared)
    assert status == 201, body
    assert pulled == pieces
    [name] = _blob_files(served.db_path)
    assert not name.startswith(TEMP_PREFIX)
    blob_file = served.db_path.with_name(served.db_path.name + ".blobs") / name
    assert stat.S_IMODE(blob_file.stat().st_mode) == 0o600
    assert blob_file.stat().st_size == size
    assert await served.reveal(secret) == secret.blob
    assert _blob_files(served.db_path) == []


@pytest.mark.anyio
@pytest.mark.parametrize("declared", [False, True], ids=["chunked", "content-length"])
@pytest.mark.parametrize(("who", "limit"), [("account", 4 * MIB), ("anonymous", MIB)])
async def test_one_byte_over_the_callers_limit_is_413_and_nothing_is_kept(
    served: Served, who: str, limit: int, declared: bool
) -> None:
    await served.add_account()
    secret = SimSecret.make(limit + 1)
    status, headers, body, _, _ = await served.upload(who, secret, declared=declared)
    assert status == 413
    assert headers["connection"] == "close"
    assert json.loads(body) == {
        "error": "too_large",
        "detail": "the secret is larger than this server accepts",
        "max_bytes": limit,
    }
    _nothing_kept(served.db_path, secret)


@pytest.mark.anyio
async def test_an_account_sized_upload_without_a_token_is_refused_mid_stream(
    served: Served,
) -> None:
    await served.add_account()
    secret = SimSecret.make(4 * MIB)
    status, headers, body, pulled, pieces = await served.upload("anonymous", secret, declared=False)
    assert (status, headers["connection"]) == (413, "close")
    assert json.loads(body)["max_bytes"] == MIB
    # The prefix, then 1 MiB and the piece that passed it: the other 3 MiB were never read.
    assert pulled <= 1 + MIB // PIECE + 1 < pieces
    _nothing_kept(served.db_path, secret)
    # The same blob with the account's token is kept.
    status, _, _, _, _ = await served.upload("account", secret, declared=False)
    assert status == 201
    assert await served.reveal(secret) == secret.blob


@pytest.mark.anyio
async def test_a_chunked_upload_far_over_the_account_limit_is_refused_mid_stream(
    served: Served,
) -> None:
    await served.add_account()
    secret = SimSecret.make(16 * MIB)
    status, headers, body, pulled, pieces = await served.upload("account", secret, declared=False)
    assert (status, headers["connection"]) == (413, "close")
    assert json.loads(body)["max_bytes"] == 4 * MIB
    assert pulled <= 1 + 4 * MIB // PIECE + 1 < pieces
    _nothing_kept(served.db_path, secret)


@pytest.mark.anyio
async def test_a_declared_length_over_the_account_limit_is_refused_before_reading(
    served: Served,
) -> None:
    await served.add_account()
    secret = SimSecret.make(4 * MIB + 4097)  # past 4 + 4096 (the largest meta) + max_bytes
    status, headers, body, pulled, _ = await served.upload("account", secret, declared=True)
    assert (status, headers["connection"], pulled) == (413, "close", 0)
    assert json.loads(body)["max_bytes"] == 4 * MIB
    _nothing_kept(served.db_path, secret)


@pytest.mark.anyio
async def test_an_upload_is_on_disk_while_it_streams_and_its_temp_file_goes_on_413(
    served: Served,
) -> None:
    await served.add_account()
    secret = SimSecret.make(5 * MIB)
    pieces = _pieces(secret.blob)
    stalled = anyio.Event()
    chunks: list[bytes | anyio.Event] = [frame_prefix(secret), *pieces[:32], stalled, *pieces[32:]]
    headers = served.headers("account", secret, len(secret.blob), declared=False)
    answers: list[tuple[int, dict[str, str], bytes, int]] = []

    async def upload() -> None:
        answers.append(await call_asgi(served.app, CREATE, headers, chunks))

    blob_dir = served.db_path.with_name(served.db_path.name + ".blobs")
    async with anyio.create_task_group() as group:
        group.start_soon(upload)
        # The token lookup and the file writes run on worker threads: wait for the file.
        with anyio.fail_after(10):
            while not (files := _blob_files(served.db_path)) or (
                os.stat(blob_dir / files[0]).st_size < 2 * MIB
            ):
                await anyio.sleep(0.01)
        [temp] = files
        assert temp.startswith(TEMP_PREFIX)
        assert stat.S_IMODE((blob_dir / temp).stat().st_mode) == 0o600
        # All that arrived before the stall is on disk, not held in memory.
        assert (blob_dir / temp).stat().st_size == 2 * MIB
        stalled.set()
    [(status, answer_headers, body, _)] = answers
    assert (status, answer_headers["connection"]) == (413, "close")
    assert json.loads(body)["max_bytes"] == 4 * MIB
    _nothing_kept(served.db_path, secret)


def test_configured_limits_apply_to_each_caller(tmp_path: Path, clock: FakeClock) -> None:
    served = Served(tmp_path, clock, max_bytes=200_000, account_max_bytes=500_000)
    try:
        anyio.run(served.add_account)
        token = served.account.headers
        with TestClient(served.app, base_url="http://ots.test") as client:
            assert client.get("/api/v1/limits").json()["max_bytes"] == 200_000
            assert client.get("/api/v1/limits", headers=token).json()["max_bytes"] == 500_000
            cases = [
                (token, 500_000, 201),
                (token, 500_001, 413),
                ({}, 200_000, 201),
                ({}, 200_001, 413),
                ({}, 500_000, 413),
            ]
            for headers, size, expected in cases:
                secret = SimSecret.make(size)
                answer = create_as(client, secret, headers)
                assert answer.status_code == expected, (size, headers == token, answer.text)
                if expected == 413:
                    limit = 500_000 if headers else 200_000
                    assert assert_error(answer, 413, "too_large")["max_bytes"] == limit
                    _nothing_kept(served.db_path, secret)
                else:
                    revealed = post(client, secret, "reveal", secret.reveal_body())
                    assert revealed.content == secret.blob
            assert _blob_files(served.db_path) == []
    finally:
        served.store.close_sync()


# -- a real server: chunked uploads over HTTP -------------------------------------------------


def _body(secret: SimSecret, size: int, digest: hashlib._Hash, sent: list[int]) -> Iterator[bytes]:
    """A generator body (httpx sends it chunked): the frame prefix, then ``size`` bytes in
    1 MiB pieces, counting in ``sent`` what the client actually handed over."""
    yield frame_prefix(secret)
    block = os.urandom(MIB)
    left, counter = size, 0
    while left:
        piece = (counter.to_bytes(8, "big") + block)[: min(MIB, left)]
        digest.update(piece)
        left -= len(piece)
        sent[0] += len(piece)
        counter += 1
        yield piece


def _stream_create(
    client: httpx.Client, size: int, headers: dict[str, str]
) -> tuple[SimSecret, httpx.Response, str, int]:
    secret = SimSecret.make(0)
    digest, sent = hashlib.sha256(), [0]
    answer = client.post(
        CREATE,
        content=_body(secret, size, digest, sent),
        headers={"Content-Type": CREATE_TYPE, **headers},
    )
    return secret, answer, digest.hexdigest(), sent[0]


def _streamed_reveal(client: httpx.Client, secret: SimSecret) -> tuple[int, str]:
    digest, length = hashlib.sha256(), 0
    url = f"{CREATE}/{secret.sid}/reveal"
    with client.stream("POST", url, json=secret.reveal_body()) as response:
        assert response.status_code == 200
        for piece in response.iter_raw():
            digest.update(piece)
            length += len(piece)
    return length, digest.hexdigest()


def _add_account(server: ServerProcess) -> dict[str, str]:
    """``ots-server accounts add`` on the running server's file, as an operator would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")}
    env["OTS_STORE_URL"] = f"sqlite://{server.db_path}"
    done = subprocess.run(
        [*server_command(), "accounts", "add", f"limits-{os.urandom(4).hex()}@example.org"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return {"Authorization": f"Bearer {done.stdout.strip()}"}


def test_a_real_server_holds_chunked_uploads_to_the_account_limit(tmp_path: Path) -> None:
    env = {"OTS_MAX_BYTES": "256KiB", "OTS_ACCOUNT_MAX_BYTES": "2MiB"}
    with running_server(tmp_path, env=env) as server:
        token = _add_account(server)
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            for headers, size in ((token, 2 * MIB), ({}, 256 * KIB)):
                secret, answer, sent_digest, _ = _stream_create(client, size, headers)
                assert answer.status_code == 201, answer.text
                assert len(_blob_files(server.db_path)) == 1
                assert _streamed_reveal(client, secret) == (size, sent_digest)
                assert _blob_files(server.db_path) == []
            refused = [
                (token, 2 * MIB + 1, 2 * MIB),
                (token, 64 * MIB, 2 * MIB),
                ({}, 2 * MIB, 256 * KIB),
            ]
            for headers, size, limit in refused:
                secret, answer, _, sent = _stream_create(client, size, headers)
                assert assert_error(answer, 413, "too_large")["max_bytes"] == limit
                assert answer.headers["connection"] == "close"
                _nothing_kept(server.db_path, secret)
                if size >= 32 * limit:
                    # The server closed the connection: the client stopped sending long
                    # before the end (socket buffers hold a few MiB at most).
                    assert sent < size // 2, sent
            # The server still serves the account.
            secret, answer, sent_digest, _ = _stream_create(client, MIB, token)
            assert answer.status_code == 201
            assert _streamed_reveal(client, secret) == (MIB, sent_digest)


# -- a real server whose blob writes fail mid-upload ------------------------------------------

FSIZE_LIMIT = 8 * MIB


def _limit_file_size(server: ServerProcess) -> None:
    """Lower the running server's ``RLIMIT_FSIZE``: a write past it fails with ``EFBIG``
    (the kernel's answer once SIGXFSZ is ignored) like a write to a full disk fails."""
    assert server.process is not None
    pid = server.process.pid
    status = Path(f"/proc/{pid}/status").read_text()
    ignored = int(next(line for line in status.splitlines() if line.startswith("SigIgn:"))[7:], 16)
    assert ignored >> (signal.SIGXFSZ - 1) & 1, "the server must ignore SIGXFSZ"
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (FSIZE_LIMIT, FSIZE_LIMIT))
    assert resource.prlimit(pid, resource.RLIMIT_FSIZE) == (FSIZE_LIMIT, FSIZE_LIMIT)


def test_a_blob_write_failing_mid_upload_is_507_and_leaves_nothing(tmp_path: Path) -> None:
    env = {"OTS_MAX_BYTES": "256MiB", "OTS_UPLOAD_TIMEOUT": "120"}
    with running_server(tmp_path, env=env) as server:
        _limit_file_size(server)
        logged = len(server.output())
        failed: list[SimSecret] = []
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            size = 128 * MIB
            secret, answer, _, sent = _stream_create(client, size, {})
            failed.append(secret)
            assert assert_error(answer, 507, "insufficient_storage")["detail"] == (
                "the server has no room for more secrets"
            )
            assert answer.headers["connection"] == "close"
            assert sent < size // 2, sent  # the client stopped sending soon after the failure
            _nothing_kept(server.db_path, secret)

            # Declared length, sent in one piece: the same answer, and nothing kept.
            declared = SimSecret.make(FSIZE_LIMIT + MIB)
            failed.append(declared)
            answer = create(client, declared)
            assert assert_error(answer, 507, "insufficient_storage")
            assert answer.headers["connection"] == "close"
            _nothing_kept(server.db_path, declared)
            assert post(client, declared, "peek", declared.proof_body()).status_code == 404

            # Still serving: an inline secret and a blob file below the file size limit.
            assert client.get("/readyz").status_code == 200
            for size in (100, 2 * MIB):
                secret, answer, sent_digest, _ = _stream_create(client, size, {})
                assert answer.status_code == 201, answer.text
                assert _streamed_reveal(client, secret) == (size, sent_digest)
            assert _blob_files(server.db_path) == []
        log = server.output()[logged:]
    lines = [json.loads(line) for line in log.splitlines()]
    errors = [line for line in lines if line["level"] == "error"]
    assert [line["msg"] for line in errors] == [
        "store full: a blob file passed the file size limit (EFBIG)"
    ] * 2
    statuses = [line["status"] for line in lines if line.get("route") == CREATE]
    assert statuses == [507, 507, 201, 201]
    assert "Traceback" not in log
    assert "127.0.0.1" not in log
    for secret in failed:
        for form in (secret.sid, secret.id.hex(), secret.meta()["link_verifier"]):
            assert form not in log


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (errno.ENOSPC, StoreFull),
        (errno.EDQUOT, StoreFull),
        (errno.EFBIG, StoreFull),
        (errno.EIO, StoreUnavailable),
        (errno.EACCES, StoreUnavailable),
    ],
)
def test_blob_write_errors_map_to_507_or_503(code: int, outcome: type[Exception]) -> None:
    # Real ENOSPC needs a full file system (verified by hand on a 4 MiB tmpfs); the mapping of
    # each errno the kernel may give is checked here.
    assert type(store_error(OSError(code, os.strerror(code)))) is outcome
