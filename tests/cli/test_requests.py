"""``ots request`` and ``ots respond`` end to end, against the real app on SQLite (in-process).

The requester and the responder are two runs of the real CLI; the server is the real app on a
real SQLite file (:class:`~tests.cli.support.Backend`), whose clock the test moves. Waits run
with an injected sleep that advances that clock (as in test_wait.py), and a hook on the Nth
sleep plays the responder while the requester is blocked. Hostile answers are posted straight
to the API with the answer proof, as a responder that does not follow the spec would.
"""

from __future__ import annotations

import io
import json
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from processes import ServerProcess

from ots_cli.__main__ import main
from ots_cli.api.client import Api
from ots_cli.core import b64
from ots_cli.core.links import parse_link
from ots_cli.core.request_crypto import answer_proof, new_key_pair, seal_answer
from ots_cli.core.request_links import build_request_link, parse_request_link
from ots_cli.local.request_files import RequestFiles

from . import schemas
from .support import SERVER, Backend, Result, Runner, cli_env, run_cli
from .test_wait import Timer


def _requests_dir(env: dict[str, str] | None = None) -> Path:
    return Path((env or cli_env())["OTS_CONFIG_DIR"]) / "requests"


def _files() -> RequestFiles:
    return RequestFiles(_requests_dir())


def _request(ots: Runner, *args: str) -> str:
    result = ots("request", *args)
    assert result.code == 0, result.err
    return result.text.strip()


def _valid(result: Result, name: str) -> dict[str, Any]:
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert schemas.check(document, name) == []
    assert isinstance(document, dict)
    return document


def _post_answer(backend: Backend, link: str, sealed: bytes) -> None:
    """Answer as a hostile responder would: any sealed bytes, with the right proof."""
    parsed = parse_request_link(link)
    Api(backend.client, SERVER).answer_request(
        parsed.id, answer_proof(parsed.id, parsed.public_key), sealed
    )


def _secret_of(link: str) -> tuple[bytes, bytes]:
    parsed = parse_link(link)
    return parsed.id, parsed.key


def _db(backend: Backend, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(backend.db) as connection:
        return connection.execute(query).fetchall()


class Waiting:
    """A run of the CLI whose sleeps advance the server's clock; stderr readable meanwhile."""

    def __init__(self, backend: Backend, http: httpx.Client | None = None) -> None:
        self.backend = backend
        self.timer = Timer(backend)
        self.out = io.BytesIO()
        self.err = io.BytesIO()
        self.http = http or backend.client

    def link(self) -> str:
        """The link ``ots request --wait`` printed on stderr."""
        lines = self.err.getvalue().decode().splitlines()
        return next(line for line in lines if "/r/" in line and not line.startswith("ots:"))

    def run(self, *argv: str, env: dict[str, str] | None = None) -> Result:
        code = main(
            list(argv),
            stdin=io.BytesIO(b""),
            stdout=self.out,
            stderr=self.err,
            env=env or cli_env(),
            http_client=self.http,
            monotonic=self.timer.monotonic,
            sleep=self.timer.sleep,
        )
        return Result(code, self.out.getvalue(), self.err.getvalue().decode())


def _respond_later(waiting: Waiting, secret: bytes, *, at: int = 2) -> None:
    def respond() -> None:
        result = run_cli(["respond", waiting.link()], stdin=secret, http=waiting.backend.client)
        assert result.code == 0, result.err

    waiting.timer.hooks[at] = respond


# -- the happy paths ----------------------------------------------------------------------------


def test_request_respond_wait(ots: Runner, backend: Backend) -> None:
    link = _request(ots, "--label", "db password")
    assert link.startswith(f"{SERVER}/r/")
    [pending] = _files().all()
    assert pending.label == "db password"
    answered = ots("respond", link, stdin=b"hunter2\n")
    assert answered.code == 0, answered.err
    assert answered.out == b""
    assert "only the requester can open" in answered.err
    got = ots("request", "wait", "--", pending.id_text[:8])
    assert got.code == 0, got.err
    assert got.out == b"hunter2\n"  # exact bytes, as ots get
    assert _files().all() == []  # the private key is gone
    # The request was closed on the server: nobody can answer it again.
    again = ots("respond", link, stdin=b"x")
    assert again.code == 7, again.err
    assert "closed" in again.err
    assert _db(backend, "select state, sealed from requests") == [("closed", None)]


def test_json_documents(ots: Runner, backend: Backend, tmp_path: Path) -> None:
    made = _valid(ots("--json", "request", "--ttl", "2h", "--label", "l"), "request")
    assert made["expires_at"] == made["created_at"] + 7200
    assert made["label"] == "l"
    link = str(made["link"])
    listed = _valid(ots("--json", "request", "list"), "request-list")
    [item] = listed["requests"]
    assert schemas.check(item, "request-item") == []
    assert (item["id"], item["state"], item["fresh"]) == (made["id"], "open", True)
    answered = _valid(ots("--json", "respond", link, stdin=b"s"), "respond")
    assert answered["request"] == made["id"]
    listed = _valid(ots("--json", "request", "list"), "request-list")
    assert listed["requests"][0]["state"] == "answered"
    got = _valid(ots("--json", "request", "wait", "--", str(made["id"])), "get")
    assert (got["secret"], got["encoding"], got["views_left"]) == ("s", "utf-8", 0)
    other = _valid(ots("--json", "request"), "request")
    cancelled = _valid(ots("--json", "request", "cancel", str(other["link"])), "request-cancel")
    assert cancelled["state"] == "closed"


def test_a_file_answer_keeps_its_name_and_goes_to_a_file(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    source = tmp_path / "id_ed25519"
    source.write_bytes(b"-----BEGIN KEY-----\n")
    link = _request(ots)
    assert ots("respond", link, str(source)).code == 0
    target = tmp_path / "out" / "key"
    target.parent.mkdir()
    got = _valid(ots("--json", "request", "wait", link, "-o", str(target)), "get-output")
    assert got["name"] == "id_ed25519"
    assert target.read_bytes() == b"-----BEGIN KEY-----\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_the_local_file_is_private(ots: Runner) -> None:
    _request(ots)
    directory = _requests_dir()
    [path] = directory.iterdir()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    data = json.loads(path.read_text())
    assert set(data) == {
        "version", "server", "id", "private_key", "created_at", "expires_at", "label"
    }  # fmt: skip


def test_what_the_server_sees(ots: Runner, backend: Backend) -> None:
    """Never the public key, the private key, the label or the secret's key."""
    link = _request(ots, "--label", "top-label")
    [pending] = _files().all()
    assert ots("respond", link, stdin=b"s3cret-value").code == 0
    assert ots("request", "wait", "--", pending.id_text).code == 0
    sent = backend.recorder.everything()
    public_key = link.split("#")[1]
    for forbidden in (
        public_key.encode(),
        b64.encode(pending.private_key).encode(),
        b"top-label",
        b"s3cret-value",
    ):
        assert forbidden not in sent
    # The account token never goes with a peek, an answer, a status or a close.
    for recorded in backend.recorder.requests:
        if "/api/v1/requests/" in recorded.url:
            assert "authorization" not in {k.lower() for k in recorded.headers}


# -- --wait -----------------------------------------------------------------------------------


def test_wait_with_an_output_file_and_json(backend: Backend, tmp_path: Path) -> None:
    waiting = Waiting(backend)
    _respond_later(waiting, b"waited for")
    target = tmp_path / "secret.txt"
    result = waiting.run("request", "--wait", "--json", "-o", str(target), "--label", "x")
    assert result.code == 0, result.err
    [line] = result.out.splitlines()  # one document: the link went to stderr
    document = json.loads(line)
    assert schemas.check(document, "get-output") == []
    assert document["path"] == str(target)
    assert target.read_bytes() == b"waited for"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert _files().all() == []
    assert "send this link" in result.err


def test_wait_prints_the_link_on_stderr_even_when_quiet(backend: Backend) -> None:
    waiting = Waiting(backend)
    _respond_later(waiting, b"quiet one")
    result = waiting.run("request", "--wait", "-q")
    assert result.code == 0, result.err
    assert result.out == b"quiet one"
    assert waiting.link().startswith(f"{SERVER}/r/")
    assert "send this link" not in result.err


def test_wait_refuses_an_existing_output_file_before_making_a_request(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    target = tmp_path / "exists"
    target.write_bytes(b"keep")
    result = ots("request", "--wait", "-o", str(target))
    assert result.code == 2
    assert "already exists" in result.err
    assert target.read_bytes() == b"keep"
    assert not any("/api/v1/requests" in r.url for r in backend.recorder.requests)
    assert _files().all() == []


def test_wait_to_github_env(backend: Backend, tmp_path: Path) -> None:
    env_file = tmp_path / "github_env"
    env_file.write_bytes(b"")
    env = cli_env(GITHUB_ACTIONS="true", GITHUB_ENV=str(env_file))
    waiting = Waiting(backend)
    _respond_later(waiting, b"ci-token-value")
    result = waiting.run("request", "--wait", "--to-env", "DEPLOY_TOKEN", env=env)
    assert result.code == 0, result.err
    assert result.out == b""
    assert "::add-mask::ci-token-value" in result.err
    assert b"ci-token-value" in env_file.read_bytes()
    assert b"DEPLOY_TOKEN<<" in env_file.read_bytes()


def test_request_wait_later_after_expiry_is_7(ots: Runner, backend: Backend) -> None:
    _request(ots, "--ttl", "5m")
    [pending] = _files().all()
    waiting = Waiting(backend)
    result = waiting.run("request", "wait", "--", pending.id_text)
    assert result.code == 7, result.err
    assert "expired before its answer was read" in result.err
    assert 300 <= sum(waiting.timer.sleeps) <= 330
    assert _files().all() == []


def test_an_answer_expires_with_its_request(ots: Runner, backend: Backend) -> None:
    link = _request(ots, "--ttl", "5m")
    assert ots("respond", link, stdin=b"too late").code == 0
    backend.clock.advance(301)
    result = ots("--json", "request", "wait", link)
    assert result.code == 7
    assert schemas.check_error(result.json()) == []
    assert result.json()["error"]["code"] == "expired"
    assert _files().all() == []


def test_wait_timeout_keeps_the_request(ots: Runner, backend: Backend) -> None:
    _request(ots)
    [pending] = _files().all()
    result = Waiting(backend).run("request", "wait", "--timeout", "30s", "--", pending.id_text)
    assert result.code == 9
    assert "no answer yet" in result.err
    assert _files().all() == [pending]


# -- what respond refuses ---------------------------------------------------------------------


def test_a_second_answer_is_6(ots: Runner, backend: Backend) -> None:
    link = _request(ots)
    assert ots("respond", link, stdin=b"first").code == 0
    result = ots("--json", "respond", link, stdin=b"second")
    assert result.code == 6
    assert schemas.check_error(result.json()) == []
    error = result.json()["error"]
    assert (error["code"], error["state"], error["exit_code"]) == ("gone", "answered", 6)
    # Refused at the peek: the second secret was never created.
    assert _db(backend, "select count(*) from records") == [(1,)]


def test_an_answer_that_loses_the_race_leaves_no_secret(ots: Runner, backend: Backend) -> None:
    """Answered by someone else between the peek and the answer: 6, the new secret burned."""
    link = _request(ots)

    class Racing(httpx.BaseTransport):
        def __init__(self, inner: httpx.BaseTransport) -> None:
            self.inner = inner

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path == "/api/v1/secrets":
                assert run_cli(["respond", link], stdin=b"faster", http=backend.client).code == 0
            return self.inner.handle_request(request)

    racing = httpx.Client(transport=Racing(backend.client._transport), base_url=SERVER)
    result = ots("respond", link, stdin=b"slower", http=racing)
    assert result.code == 6, result.err
    assert "already answered" in result.err
    states = sorted(str(state) for (state,) in _db(backend, "select state from records"))
    assert states == ["burned", "pending"]


def test_answering_an_expired_or_cancelled_request_is_7(ots: Runner, backend: Backend) -> None:
    expiring = _request(ots, "--ttl", "5m")
    backend.clock.advance(301)
    result = ots("respond", expiring, stdin=b"x")
    assert result.code == 7
    assert "expired" in result.err
    cancelled = _request(ots)
    assert ots("request", "cancel", cancelled).code == 0
    result = ots("respond", cancelled, stdin=b"x")
    assert result.code == 7
    assert "closed" in result.err
    assert _db(backend, "select count(*) from records") == [(0,)]


def test_an_unknown_request_is_5(ots: Runner) -> None:
    link = build_request_link(SERVER, bytes(16), new_key_pair().public_key)
    result = ots("respond", link, stdin=b"x")
    assert result.code == 5
    assert "no such request" in result.err


@pytest.mark.parametrize(
    "public_key",
    [bytes(32), bytes([1]) + bytes(31), bytes.fromhex("ec" + "ff" * 30 + "7f")],
    ids=["zero", "one", "p-1"],
)
def test_a_link_with_a_malformed_public_key_sends_nothing(
    ots: Runner, backend: Backend, public_key: bytes
) -> None:
    link = f"{SERVER}/r/{b64.encode(bytes(16))}#{b64.encode(public_key)}"
    result = ots("respond", link, stdin=b"secret")
    assert result.code == 2
    assert "the link is damaged" in result.err
    assert backend.recorder.requests == []


@pytest.mark.parametrize("cut", [1, 10, 43, 44])
def test_truncated_request_links_send_nothing(ots: Runner, backend: Backend, cut: int) -> None:
    link = build_request_link(SERVER, bytes(16), new_key_pair().public_key)
    result = ots("respond", link[:-cut], stdin=b"secret")
    assert result.code == 2
    assert "public key" in result.err
    assert "including the part after '#'" in result.err
    assert backend.recorder.requests == []


def test_links_of_the_other_kind_are_refused_with_a_hint(
    ots: Runner, share: Callable[..., str]
) -> None:
    request_link = _request(ots)
    result = ots("get", request_link)
    assert result.code == 2
    assert "this is a request link: answer it with `ots respond`" in result.err
    secret_link = share(b"x")
    result = ots("respond", secret_link, stdin=b"y")
    assert result.code == 2
    assert "read it with `ots get`" in result.err


def test_respond_reads_its_input_as_share_does(ots: Runner, backend: Backend) -> None:
    link = _request(ots)
    empty = ots("respond", link, stdin=b"")
    assert empty.code == 2
    assert "the input is empty" in empty.err
    assert ots("respond", link, "--allow-empty", stdin=b"").code == 0
    got = ots("request", "wait", link)
    assert got.code == 0, got.err
    assert got.out == b""


def test_respond_gives_the_secret_the_requests_remaining_lifetime(
    ots: Runner, backend: Backend
) -> None:
    link = _request(ots, "--ttl", "2h")
    assert ots("respond", link, stdin=b"x").code == 0
    [(created, expires)] = _db(backend, "select created_at, expires_at from records")
    assert 7200 - 5 <= expires - created <= 7200
    [(views,)] = _db(backend, "select views from records")
    assert views == 1


# -- hostile answers ----------------------------------------------------------------------------


def test_a_tampered_sealed_box_is_8_and_deletes_nothing(
    ots: Runner, backend: Backend, share: Callable[..., str]
) -> None:
    link = _request(ots)
    [pending] = _files().all()
    secret_id, secret_key = _secret_of(share(b"real"))
    sealed = bytearray(seal_answer(secret_id, secret_key, parse_request_link(link).public_key))
    sealed[60] ^= 1
    _post_answer(backend, link, bytes(sealed))
    result = ots("--json", "request", "wait", "--", pending.id_text)
    assert result.code == 8
    assert schemas.check_error(result.json()) == []
    assert result.json()["error"]["code"] == "tampered_answer"
    assert "tampered" in result.err
    assert _files().all() == [pending]
    assert _db(backend, "select state from requests") == [("answered",)]
    assert _db(backend, "select state from records") == [("pending",)]
    assert ots("request", "cancel", "--", pending.id_text).code == 0


def test_an_answer_sealed_to_another_key_is_8(
    ots: Runner, backend: Backend, share: Callable[..., str]
) -> None:
    link = _request(ots)
    secret_id, secret_key = _secret_of(share(b"real"))
    _post_answer(backend, link, seal_answer(secret_id, secret_key, new_key_pair().public_key))
    assert ots("request", "wait", link).code == 8
    assert len(_files().all()) == 1


@pytest.mark.parametrize("which", ["unknown id", "wrong key"])
def test_a_sealed_id_and_key_that_do_not_open_the_secret_is_5(
    ots: Runner, backend: Backend, share: Callable[..., str], which: str
) -> None:
    link = _request(ots)
    secret_id, secret_key = _secret_of(share(b"real"))
    if which == "unknown id":
        secret_id = bytes(16)
    else:
        secret_key = bytes([secret_key[0] ^ 1]) + secret_key[1:]
    _post_answer(
        backend, link, seal_answer(secret_id, secret_key, parse_request_link(link).public_key)
    )
    result = ots("request", "wait", link)
    assert result.code == 5
    assert "names no secret on the server" in result.err
    assert len(_files().all()) == 1
    assert _db(backend, "select state from records") == [("pending",)]


def test_an_answer_whose_secret_needs_a_passphrase_is_refused_unconsumed(
    ots: Runner, backend: Backend, share: Callable[..., str], tmp_path: Path
) -> None:
    passphrase = tmp_path / "passphrase"
    passphrase.write_text("correct horse battery staple\n")
    link = _request(ots)
    secret_id, secret_key = _secret_of(share(b"real", "--passphrase-file", str(passphrase)))
    _post_answer(
        backend, link, seal_answer(secret_id, secret_key, parse_request_link(link).public_key)
    )
    result = ots("request", "wait", link)
    assert result.code == 8
    assert "needs a passphrase" in result.err
    assert _db(backend, "select state from records") == [("pending",)]


# -- list and cancel ----------------------------------------------------------------------------


def test_list_removes_expired_files_and_cached_asks_no_server(
    ots: Runner, backend: Backend
) -> None:
    _request(ots, "--label", "live")
    files = _files()
    [live] = files.all()
    from ots_cli.local.request_files import PendingRequest

    files.save(
        PendingRequest(
            server=SERVER,
            id=bytes(16),
            private_key=bytes(32),
            created_at=1,
            expires_at=2,
            label="old",
        )
    )
    before = len(backend.recorder.requests)
    cached = _valid(ots("--json", "request", "list", "--cached"), "request-list")
    assert [item["label"] for item in cached["requests"]] == ["live"]
    assert cached["requests"][0]["fresh"] is False
    assert len(backend.recorder.requests) == before
    assert files.all() == [live]
    table = ots("request", "list")
    assert table.code == 0
    assert "live" in table.text
    assert "open, expires" in table.text


def test_list_when_the_server_is_down(ots: Runner) -> None:
    _request(ots)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    result = ots(
        "--json", "request", "list", http=httpx.Client(transport=httpx.MockTransport(down))
    )
    assert result.code == 0
    assert result.json()["requests"][0]["fresh"] is False
    assert "cannot connect" in result.err
    assert len(_files().all()) == 1


def test_cancel(ots: Runner, backend: Backend) -> None:
    link = _request(ots, "--label", "cancel me")
    assert ots("request", "cancel", "cancel me").code == 0
    assert _files().all() == []
    assert ots("request", "cancel", "cancel me").code == 5
    # Over already (expired): cancelling still forgets it, and says so.
    _request(ots, "--ttl", "5m", "--label", "old")
    backend.clock.advance(301)
    result = _valid(ots("--json", "request", "cancel", "old"), "request-cancel")
    assert result["state"] == "expired"
    assert _files().all() == []
    assert ots("respond", link, stdin=b"x").code == 7


def test_options_that_do_not_apply_are_usage_errors(ots: Runner, backend: Backend) -> None:
    for argv in (
        ["request", "--ttl", "1h", "list"],
        ["request", "-o", "file"],
        ["request", "--timeout", "1m"],
        ["request", "--ttl", "soon"],
        ["request", "--wait", "--to-env", "X"],  # not on GitHub Actions
        ["request", "--wait", "--raw", "--json"],
    ):
        result = ots(*argv)
        assert result.code == 2, (argv, result.err)
    assert not any("/api/v1/requests" in r.url for r in backend.recorder.requests)


def test_a_server_that_wants_an_account(tmp_path: Path) -> None:
    backend = Backend(tmp_path, require_account=True)
    with backend.client:
        result = run_cli(["request"], http=backend.client)
    assert result.code == 4
    assert _files().all() == []


# -- a real server process --------------------------------------------------------------------


def test_request_wait_and_respond_over_real_http(server: ServerProcess, tmp_path: Path) -> None:
    """Two processes of the console entry point and ``ots-server serve`` (uvicorn, SQLite):
    ``ots request --wait -o FILE`` blocks until another process answers."""
    import subprocess
    import sys
    import time

    env = cli_env(OTS_SERVER=server.base_url)
    target = tmp_path / "answer.txt"
    waiting = subprocess.Popen(
        [sys.executable, "-m", "ots_cli", "request", "--wait", "-o", str(target), "--json"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        assert waiting.stderr is not None
        link = ""
        deadline = time.monotonic() + 60
        while not link and time.monotonic() < deadline:
            line = waiting.stderr.readline().decode()
            if "/r/" in line and not line.startswith("ots:"):
                link = line.strip()
        assert link.startswith(f"{server.base_url}/r/")
        answered = subprocess.run(
            [sys.executable, "-m", "ots_cli", "respond", link],
            input=b"over the wire",
            capture_output=True,
            env=env,
            timeout=60,
        )
        assert answered.returncode == 0, answered.stderr
        out, _ = waiting.communicate(timeout=60)
    finally:
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 0
    assert json.loads(out)["path"] == str(target)
    assert target.read_bytes() == b"over the wire"
    assert _files().all() == []
    again = run_cli(["respond", link], stdin=b"x", env=env)
    assert again.code == 7  # closed once delivered
