"""End to end through main(argv) against the real app and SQLite: share, get, and what fails."""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ots_cli.app import COMMANDS
from ots_cli.core import b64
from ots_cli.core.crypto import link_proof
from ots_cli.core.links import parse_link

from .support import SERVER, Backend, Runner, cli_env, other_key, run_cli

SECRETS = {
    "empty": b"",
    "binary": bytes(range(256)) * 3,
    "multi-line": b"first line\nsecond line\r\nthird\n\nfifth",
    "trailing-newline": b"hunter2\n",
    "unicode": "pässwörd 🔑 \u202e".encode(),
    "nul-bytes": b"\x00\x00a\x00",
}


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
def test_stdin_round_trip_is_byte_exact(ots: Runner, secret: bytes) -> None:
    shared = ots("share", "--allow-empty", stdin=secret)
    assert shared.code == 0, shared.err
    link = shared.text
    assert link.endswith("\n")
    assert link.count("\n") == 1
    got = ots("get", link.strip())
    assert got.code == 0, got.err
    assert got.out == secret


@pytest.mark.parametrize("secret", SECRETS.values(), ids=SECRETS.keys())
def test_file_round_trip_is_byte_exact(ots: Runner, tmp_path: Path, secret: bytes) -> None:
    source = tmp_path / "secret.bin"
    source.write_bytes(secret)
    shared = ots("share", "--allow-empty", str(source))
    assert shared.code == 0, shared.err
    got = ots("--json", "get", shared.text.strip())
    assert got.code == 0, got.err
    document = got.json()
    assert document["kind"] == "file"
    assert document["name"] == "secret.bin"
    assert document["size"] == len(secret)
    decoded = (
        document["secret"].encode()
        if document["encoding"] == "utf-8"
        else __import__("base64").b64decode(document["secret"])
    )
    assert decoded == secret


def test_dash_reads_the_secret_and_the_link_from_stdin(ots: Runner) -> None:
    link = ots("share", "-", stdin=b"from stdin").text
    got = ots("get", "-", stdin=link.encode())
    assert (got.code, got.out) == (0, b"from stdin")


def test_a_large_binary_secret_round_trips(ots: Runner) -> None:
    secret = os.urandom(200 * 1024)  # above the size where share asks for the limits first
    link = ots("share", stdin=secret).text.strip()
    got = ots("get", link)
    assert got.code == 0, got.err
    assert got.out == secret


def test_a_bare_id_and_key_uses_the_configured_server(ots: Runner) -> None:
    link = ots("share", stdin=b"bare").text.strip()
    bare = link.rsplit("/", 1)[1]
    assert bare.count("#") == 1
    assert "://" not in bare
    # "--" because a random id starts with "-" one time in 64.
    assert ots("get", "--", bare).out == b"bare"


def test_a_bare_link_that_looks_like_an_option_gets_a_hint(ots: Runner) -> None:
    link = ots("share", stdin=b"dash").text.strip()
    bare = "-" + link.rsplit("/", 1)[1][1:]  # same shape, first character "-"
    got = ots("get", bare)
    assert got.code == 2
    assert "goes after '--': ots get -- ID#KEY" in got.err


def test_a_bare_id_that_looks_like_an_option_gets_a_hint(ots: Runner) -> None:
    document = ots("--json", "share", stdin=b"dash").json()
    dashed = "-" + document["id"][1:]  # same shape, first character "-"
    got = ots("status", dashed)
    assert got.code == 2
    assert "an id that starts with '-' goes after '--': ots status -- ID" in got.err
    # After "--" it is the argument, whatever its first character.
    assert ots("--json", "status", "--", document["id"]).json()["id"] == document["id"]


def test_second_get_exits_6_and_says_someone_may_have_read_it(ots: Runner) -> None:
    link = ots("share", stdin=b"once").text.strip()
    assert ots("get", link).code == 0
    again = ots("get", link)
    assert again.code == 6
    assert again.out == b""
    assert "ots: error: the secret was already read: someone else may have seen it" in again.err


def test_views_allow_several_reads(ots: Runner) -> None:
    link = ots("share", "--views", "2", stdin=b"twice").text.strip()
    assert ots("get", link).out == b"twice"
    assert ots("get", link).out == b"twice"
    assert ots("get", link).code == 6


def test_wrong_key_exits_5_and_leaves_the_secret_intact(ots: Runner) -> None:
    link = ots("share", stdin=b"intact").text.strip()
    wrong = ots("get", other_key(link))
    assert wrong.code == 5
    assert "ots: error: no such secret, or the link's key does not match" in wrong.err
    assert "ots: hint:" in wrong.err
    assert ots("get", link).out == b"intact"


def test_a_link_cut_off_before_the_key_exits_2_with_a_hint(ots: Runner) -> None:
    link = ots("share", stdin=b"x").text.strip()
    cut = ots("get", link.split("#")[0])
    assert cut.code == 2
    assert "cut off" in cut.err
    assert "ots: hint:" in cut.err
    assert ots("get", link).out == b"x"


def test_a_receipt_pasted_as_a_link_is_explained(ots: Runner) -> None:
    result = ots("get", "otsr_" + "A" * 43)
    assert result.code == 2
    assert "receipt" in result.err
    assert "ots status" in result.err


class _Tamper(httpx.BaseTransport):
    """Passes requests to the real app and flips one ciphertext byte of every reveal answer."""

    def __init__(self, inner: httpx.Client, offset: int) -> None:
        self.inner = inner
        self.offset = offset

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.send(request)
        body = response.read()
        if request.url.path.endswith("/reveal") and response.status_code == 200:
            changed = bytearray(body)
            changed[self.offset] ^= 0x01
            body = bytes(changed)
        return httpx.Response(response.status_code, headers=response.headers, content=body)


@pytest.mark.parametrize("offset", [-1, 100], ids=["tag", "ciphertext"])
def test_tampered_ciphertext_exits_8(ots: Runner, backend: Backend, offset: int) -> None:
    link = ots("share", stdin=b"do not trust the server").text.strip()
    tampering = httpx.Client(transport=_Tamper(backend.client, offset))
    result = ots("get", link, http=tampering)
    assert result.code == 8
    assert result.out == b""
    assert "could not be decrypted" in result.err
    assert "used up a view" in result.err


def test_a_header_swapped_by_the_server_exits_8(ots: Runner, backend: Backend) -> None:
    link = ots("share", stdin=b"header").text.strip()
    tampering = httpx.Client(transport=_Tamper(backend.client, 10))  # inside the header: the id
    result = ots("get", link, http=tampering)
    assert result.code == 8
    assert result.out == b""


class _WrongSize(httpx.BaseTransport):
    """Passes requests to the real app and inflates the size every peek answer reports."""

    def __init__(self, inner: httpx.Client) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.send(request)
        body = response.read()
        if request.url.path.endswith("/peek") and response.status_code == 200:
            data = json.loads(body)
            data["size"] += 1 << 30
            body = json.dumps(data).encode()
        return httpx.Response(response.status_code, headers=response.headers, content=body)


def test_a_size_that_contradicts_the_header_exits_8_before_consuming(
    ots: Runner, backend: Backend
) -> None:
    link = ots("share", stdin=b"sized").text.strip()
    lying = httpx.Client(transport=_WrongSize(backend.client))
    result = ots("get", link, http=lying)
    assert result.code == 8
    assert "contradicts its header" in result.err
    assert ots("get", link).out == b"sized"  # nothing was consumed


class _ForeignHeader(httpx.BaseTransport):
    """Passes requests to the real app, but answers every peek with another secret's header."""

    def __init__(self, inner: httpx.Client, header: str, size: int) -> None:
        self.inner, self.header, self.size = inner, header, size
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        response = self.inner.send(request)
        body = response.read()
        if request.url.path.endswith("/peek") and response.status_code == 200:
            data = json.loads(body)
            data["header"], data["size"] = self.header, self.size
            body = json.dumps(data).encode()
        return httpx.Response(response.status_code, headers=response.headers, content=body)


def test_a_peek_header_of_another_secret_exits_5_before_any_reveal(
    ots: Runner, backend: Backend
) -> None:
    """FORMAT.md, Opening a blob, step 2: the peek header's id is the link's, or no reveal."""
    link = ots("share", stdin=b"mine").text.strip()
    theirs = parse_link(ots("share", stdin=b"theirs").text.strip(), allow_insecure_http=True)
    other = backend.client.post(
        f"{SERVER}/api/v1/secrets/{theirs.id_text}/peek",
        json={"proof": b64.encode(link_proof(theirs.id, theirs.key))},
    ).json()
    foreign = _ForeignHeader(backend.client, other["header"], other["size"])
    result = ots("get", "--yes", link, http=httpx.Client(transport=foreign))
    assert result.code == 5
    assert "another secret" in result.err
    assert [path.rsplit("/", 1)[1] for path in foreign.paths] == ["peek"]  # no reveal sent
    assert ots("get", link).out == b"mine"  # nothing was consumed


def test_expired_exits_7(ots: Runner, backend: Backend) -> None:
    link = ots("share", "--ttl", "60s", stdin=b"short-lived").text.strip()
    backend.clock.advance(61)
    result = ots("get", link)
    assert result.code == 7
    assert "expired" in result.err
    assert ots("peek", link).code == 7


def test_ttl_out_of_range_exits_10_with_the_range(ots: Runner) -> None:
    result = ots("share", "--ttl", "30s", stdin=b"x")
    assert result.code == 10
    assert "ots: error: the server refused the ttl 30s: it accepts 1m to 7d" in result.err
    assert ots("share", "--ttl", "8d", stdin=b"x").code == 10


def test_views_out_of_range_exits_10(ots: Runner) -> None:
    result = ots("share", "--views", "1000", stdin=b"x")
    assert result.code == 10
    assert "accepts 1 to 100" in result.err


def test_invalid_ttl_syntax_exits_2(ots: Runner) -> None:
    result = ots("share", "--ttl", "soon", stdin=b"x")
    assert result.code == 2
    assert "invalid duration 'soon' for --ttl" in result.err


@pytest.fixture
def small_backend(tmp_path: Path) -> Iterator[Backend]:
    server = Backend(tmp_path / "small", max_bytes=4096)
    with server.client:
        yield server


def test_oversized_secret_exits_10(small_backend: Backend) -> None:
    result = run_cli(["share"], stdin=os.urandom(8000), http=small_backend.client)
    assert result.code == 10
    # Refused by the server (413): the limit in human units, and where a larger one comes from.
    assert (
        "ots: error: the secret is too large for this server (it takes at most 4 KiB once "
        "encrypted); nothing was shared\n" in result.err
    )
    assert "ots: hint: an account on this server may take more" in result.err
    assert "OTS_MAX_BYTES" in result.err
    huge = run_cli(["share"], stdin=os.urandom(100_000), http=small_backend.client)
    assert huge.code == 10
    # Refused before the upload, from the published limits.
    assert "(it takes at most 4 KiB once encrypted); nothing was shared" in huge.err
    assert "ots: hint: an account on this server may take more" in huge.err
    assert "OTS_MAX_BYTES" in huge.err
    # The pre-check answered without uploading the big one.
    assert not any(
        r.url.endswith("/secrets") and len(r.content) > 50_000
        for r in small_backend.recorder.requests
    )


def test_passphrase_round_trip(ots: Runner, tmp_path: Path) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("correct horse\n")
    link = ots("share", "--passphrase-file", str(phrase), stdin=b"guarded").text.strip()
    peek = ots("--json", "peek", link).json()
    assert peek["passphrase"] is True
    got = ots("get", link, "--passphrase-file", str(phrase))
    assert (got.code, got.out) == (0, b"guarded")


def test_wrong_passphrase_exits_11_with_attempts_left_then_burns(
    ots: Runner, tmp_path: Path
) -> None:
    right, wrong = tmp_path / "right", tmp_path / "wrong"
    right.write_text("right")
    wrong.write_text("wrong")
    link = ots("share", "--passphrase-file", str(right), "--attempts", "2", stdin=b"x").text.strip()
    first = ots("--json", "get", link, "--passphrase-file", str(wrong))
    assert first.code == 11
    assert "1 attempt left" in first.err
    assert first.json()["error"]["attempts_left"] == 1
    last = ots("get", link, "--passphrase-file", str(wrong))
    assert last.code == 11
    assert "now burned" in last.err
    after = ots("get", link, "--passphrase-file", str(right))
    assert after.code == 6
    assert "burned" in after.err


def test_a_passphrase_secret_without_a_passphrase_exits_2_and_spends_nothing(
    ots: Runner, tmp_path: Path
) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text("p")
    link = ots("share", "--passphrase-file", str(phrase), stdin=b"x").text.strip()
    result = ots("get", link)
    assert result.code == 2
    assert "--passphrase-file" in result.err
    assert ots("--json", "peek", link).json()["attempts_left"] == 5
    assert ots("get", link, "--passphrase-file", str(phrase)).out == b"x"


def test_output_file_is_0600_and_never_overwritten(ots: Runner, tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    link = ots("share", stdin=b"to a file").text.strip()
    result = ots("get", link, "-o", str(target))
    assert result.code == 0, result.err
    assert result.out == b""
    assert target.read_bytes() == b"to a file"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    second = ots("share", stdin=b"second").text.strip()
    refused = ots("get", second, "-o", str(target))
    assert refused.code == 2
    assert "already exists" in refused.err
    assert "--force" in refused.err
    assert target.read_bytes() == b"to a file"
    # Refusing happened before consuming: the secret is still there.
    forced = ots("get", second, "-o", str(target), "--force")
    assert forced.code == 0
    assert target.read_bytes() == b"second"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []


def test_output_file_is_not_created_when_the_get_fails(ots: Runner, tmp_path: Path) -> None:
    link = ots("share", stdin=b"x").text.strip()
    target = tmp_path / "never.bin"
    assert ots("get", other_key(link), "-o", str(target)).code == 5
    assert not target.exists()


def test_output_file_does_not_follow_a_symlink(ots: Runner, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    (tmp_path / "link").symlink_to(victim)
    link = ots("share", stdin=b"x").text.strip()
    assert ots("get", link, "-o", str(tmp_path / "link")).code == 2
    assert victim.read_bytes() == b"keep"


def test_a_link_given_as_the_file_to_share_is_explained(ots: Runner) -> None:
    result = ots("share", f"{SERVER}/s/AAAAAAAAAAAAAAAAAAAAAA#key")
    assert result.code == 2
    assert "looks like an ots link" in result.err
    assert "ots get" in result.err


def test_sharing_a_link_warns_but_shares(ots: Runner) -> None:
    inner = ots("share", stdin=b"inner").text.strip()
    outer = ots("share", stdin=inner.encode())
    assert outer.code == 0
    assert "ots: warning: the secret looks like an ots link" in outer.err


def test_no_server_configured_exits_3(backend: Backend) -> None:
    env = cli_env()
    del env["OTS_SERVER"]
    result = run_cli(["share"], stdin=b"x", env=env, http=backend.client)
    assert result.code == 3
    assert "no server configured" in result.err
    assert "ots config set server" in result.err


def test_plain_http_to_a_remote_host_needs_insecure(ots: Runner) -> None:
    env = cli_env(OTS_SERVER="http://ots.example.com")
    refused = ots("share", stdin=b"x", env=env)
    assert refused.code == 2
    assert "--insecure" in refused.err
    allowed = ots("--insecure", "share", stdin=b"x", env=env)
    assert allowed.code == 0
    link = allowed.text.strip()
    assert link.startswith("http://ots.example.com/s/")
    assert ots("get", link).code == 2  # the link's http:// is refused as well
    assert ots("get", "--insecure", link).out == b"x"


def test_plain_http_to_a_remote_host_is_one_refusal_before_any_connection() -> None:
    """A link's server and the configured server: the same exit code, message and hint, and
    not one request (the transport records any; nothing can reach 10.x from a test)."""
    from ots_cli.core import b64

    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    http = httpx.Client(transport=httpx.MockTransport(handler))
    link = f"http://10.9.9.9:8000/s/{b64.encode(bytes(16))}#{b64.encode(bytes(32))}"
    got = run_cli(["get", link], http=http)
    shared = run_cli(["--server", "http://10.9.9.9:8000", "share"], stdin=b"x", http=http)
    configured = run_cli(
        ["share"], stdin=b"x", http=http, env=cli_env(OTS_SERVER="http://10.9.9.9")
    )
    expected = (
        "ots: error: refusing plain http:// to a host that is not this machine\n"
        "ots: hint: use https://, or pass --insecure if you accept that the secret id and the "
        "proofs travel readable (the key stays in the link either way)\n"
    )
    for result in (got, shared, configured):
        assert (result.code, result.out, result.err) == (2, b"", expected)
    assert sent == []
    document = run_cli(["--json", "get", link], http=http).json()
    assert (document["error"]["code"], document["error"]["exit_code"]) == ("insecure_http", 2)


def test_server_down_exits_9(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more: a real connection refused.
    result = run_cli(["share"], stdin=b"x", env=cli_env(OTS_SERVER=f"http://127.0.0.1:{port}"))
    assert result.code == 9
    assert f"cannot connect to the server 127.0.0.1:{port}" in result.err
    assert "ots: hint:" in result.err


def test_an_account_only_server_exits_4(ots: Runner) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "auth_required", "detail": "log in"})

    result = ots("share", stdin=b"x", http=httpx.Client(transport=httpx.MockTransport(handler)))
    assert result.code == 4
    assert "without an account" in result.err


def test_an_unexpected_exception_is_a_bug_without_traceback_or_secret(ots: Runner) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("boom")

    broken = httpx.Client(transport=httpx.MockTransport(handler))
    result = ots("share", stdin=b"TOPSECRET-VALUE", http=broken)
    assert result.code == 1
    assert "ots: error: unexpected RuntimeError" in result.err
    assert "this is a bug" in result.err
    assert "Traceback" not in result.err
    debug = ots("--debug", "share", stdin=b"TOPSECRET-VALUE", http=broken)
    assert debug.code == 1
    assert "Traceback" in debug.err
    assert "RuntimeError: boom" in debug.err
    assert "TOPSECRET" not in debug.err  # no locals in tracebacks


def test_ctrl_c_exits_130(ots: Runner) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt

    result = ots("share", stdin=b"x", http=httpx.Client(transport=httpx.MockTransport(handler)))
    assert result.code == 130
    assert "interrupted" in result.err


@pytest.mark.parametrize(
    "argv",
    [["share", "--no-such-flag"], ["get"], ["frobnicate"], ["share", "--views", "many"]],
)
def test_usage_errors_exit_2(ots: Runner, argv: list[str]) -> None:
    result = ots(*argv)
    assert result.code == 2
    assert result.err.startswith("ots: error: ")
    assert result.out == b""


def test_no_arguments_is_a_usage_error_pointing_at_help(ots: Runner) -> None:
    result = ots()
    assert result.code == 2
    assert result.err == "ots: error: missing command\nots: hint: run `ots --help` for usage\n"
    assert result.out == b""


def test_help_exits_0_on_stdout(ots: Runner) -> None:
    result = ots("share", "--help")
    assert result.code == 0
    assert "--passphrase-file" in result.text


def test_version(ots: Runner) -> None:
    from ots_cli import __version__

    assert ots("--version").out == f"ots {__version__}\n".encode()
    assert ots("--json", "--version").out == f"ots {__version__}\n".encode()


def test_global_options_work_after_the_command(ots: Runner) -> None:
    before = ots("--json", "share", stdin=b"x")
    after = ots("share", "--json", stdin=b"x")
    assert before.json().keys() == after.json().keys()
    quiet = ots("share", "-q", stdin=b"x")
    assert quiet.code == 0


def test_empty_stdin_prompt_is_not_used_when_not_a_terminal(ots: Runner) -> None:
    # stdin is not a terminal: the (empty) input is the secret; nothing is asked.
    result = ots("--no-input", "share", "--allow-empty", stdin=b"")
    assert result.code == 0
    assert "Secret" not in result.err


@pytest.mark.parametrize("source", ["stdin", "dash", "file"])
def test_empty_input_is_refused_and_nothing_is_uploaded(
    ots: Runner, backend: Backend, tmp_path: Path, source: str
) -> None:
    # `ots share </dev/null`, `printf %s "$UNSET" | ots share`, an empty FILE: a mistake, not
    # a secret. Nothing reaches the server, not even a request for its limits.
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    argv = {"stdin": [], "dash": ["-"], "file": [str(empty)]}[source]
    result = ots("share", *argv, stdin=b"")
    assert result.code == 2
    assert result.out == b""
    assert "ots: error: nothing to share: the input is empty" in result.err
    assert "--allow-empty" in result.err
    assert backend.recorder.requests == []
    assert ots("--json", "list", "--cached").json()["receipts"] == []
    json_result = ots("--json", "share", *argv, stdin=b"")
    assert json_result.code == 2
    assert json_result.json()["error"]["message"] == "nothing to share: the input is empty"
    assert backend.recorder.requests == []


def test_share_from_a_missing_file_exits_2(ots: Runner, tmp_path: Path) -> None:
    result = ots("share", str(tmp_path / "missing"))
    assert result.code == 2
    assert "no such file" in result.err


class _EndlessStdin(io.RawIOBase):
    """A stdin that never ends, counting what was read from it."""

    def __init__(self) -> None:
        self.taken = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        buffer[:size] = b"x" * size
        self.taken += size
        return size


def test_stdin_larger_than_the_server_allows_stops_early_and_uploads_nothing(
    small_backend: Backend,
) -> None:
    from ots_cli.__main__ import main

    stdin = _EndlessStdin()
    err = io.BytesIO()
    code = main(
        ["share"],
        stdin=io.BufferedReader(stdin),
        stdout=io.BytesIO(),
        stderr=err,
        env=cli_env(),
        http_client=small_backend.client,
    )
    assert code == 10, err.getvalue()
    assert b"at most 4 KiB once encrypted" in err.getvalue()
    # It read a little past what it holds in memory, asked the limits, and stopped.
    assert stdin.taken < 256 * 1024
    assert [r.method for r in small_backend.recorder.requests] == ["GET"]


LEAVES = [name for name in COMMANDS if name != "config"]
LEAVES += ["config show", "config get", "config set", "config unset", "config path"]


@pytest.mark.parametrize("command", LEAVES)
def test_every_command_has_help_with_the_global_options(ots: Runner, command: str) -> None:
    result = ots(*command.split(), "--help")
    assert result.code == 0, result.err
    assert "Usage" in result.text
    assert "--json" in result.text


def test_config_help_lists_its_commands(ots: Runner) -> None:
    result = ots("config", "--help")
    assert result.code == 0
    for name in ("show", "get", "set", "unset", "path"):
        assert name in result.text


def test_a_redirect_is_never_followed(ots: Runner) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(301, headers={"Location": "https://elsewhere.example/api/v1/secrets"})

    # Even a client configured to follow redirects does not follow them for ots.
    following = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True)
    result = ots("share", stdin=b"x", http=following)
    assert result.code == 3
    assert "redirect" in result.err
    assert len(seen) == 1


class _ClosedPipe(io.BytesIO):
    def write(self, data: object) -> int:
        raise BrokenPipeError


def test_a_closed_stdout_exits_141_quietly(backend: Backend) -> None:
    from ots_cli.__main__ import main

    err = io.BytesIO()
    code = main(
        ["share"],
        stdin=io.BytesIO(b"x"),
        stdout=_ClosedPipe(),
        stderr=err,
        env=cli_env(),
        http_client=backend.client,
    )
    assert code == 141
    assert err.getvalue() == b""


# -- the server's public URL (OTS_PUBLIC_URL) ----------------------------------------------------


def test_the_link_uses_the_servers_public_url(tmp_path: Path) -> None:
    """Reached at 127.0.0.1, the server publishes its public URL: the link carries that, the
    receipt keeps the address ots reached it at, and the link reads back (the in-process app
    answers for any host)."""
    backend = Backend(tmp_path, public_url="https://ots.example.com")
    shared = run_cli(["--json", "share"], stdin=b"public", http=backend.client)
    assert shared.code == 0, shared.err
    document = shared.json()
    assert document["link"].startswith(f"https://ots.example.com/s/{document['id']}#")
    assert document["server"] == SERVER
    assert {r.url.split("/api/")[0] for r in backend.recorder.requests} == {SERVER}
    # "--" because a random id starts with "-" one time in 64.
    status = run_cli(["--json", "status", "--", document["id"]], http=backend.client)
    assert status.code == 0, status.err
    got = run_cli(["get", document["link"]], http=backend.client)
    assert (got.code, got.out) == (0, b"public")
    assert backend.recorder.requests[-1].url.startswith("https://ots.example.com/api/v1/")


def test_a_public_url_with_a_prefix_is_normalised_into_the_link(tmp_path: Path) -> None:
    backend = Backend(tmp_path, public_url="https://OTS.Example.com/team/")
    shared = run_cli(["share"], stdin=b"x", http=backend.client)
    assert shared.code == 0, shared.err
    assert shared.text.startswith("https://ots.example.com/team/s/")


def test_a_public_url_that_makes_no_valid_link_is_not_used(tmp_path: Path) -> None:
    backend = Backend(tmp_path, public_url="http://ots.example.com")
    shared = run_cli(["share"], stdin=b"x", http=backend.client)
    assert shared.code == 0, shared.err
    assert shared.text.startswith(f"{SERVER}/s/")
    assert "public URL (OTS_PUBLIC_URL) makes no valid link" in shared.err
    # With --insecure the plain-http public URL is what the operator asked for.
    insecure = run_cli(["--insecure", "share"], stdin=b"x", http=backend.client)
    assert insecure.text.startswith("http://ots.example.com/s/")
