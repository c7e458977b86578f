"""Every ``--json`` document matches its schema in docs/cli.md, errors included."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from keyring.backend import KeyringBackend

from . import schemas
from .keyrings import MemoryKeyring
from .support import Backend, Result, Runner, cli_env, other_key


def _valid(result: Result, name: str) -> dict[str, object]:
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert len(lines) == 1, "one JSON document on one line when stdout is not a terminal"
    document = json.loads(lines[0])
    assert schemas.check(document, name) == []
    assert isinstance(document, dict)
    return document


def test_the_documentation_defines_every_schema() -> None:
    assert {
        "share", "get", "get-output", "peek", "status", "list", "burn", "generate",
        "config-show", "config-get", "config-unset", "config-path", "error", "error-object",
        "error-gone", "error-expired", "error-refused", "error-wrong_passphrase",
        "share-wait", "get-github", "completion", "login", "logout", "whoami",
        "whoami-limits", "whoami-token", "forget", "request", "request-list", "request-item",
        "request-cancel", "respond",
    } <= schemas.schemas().keys()  # fmt: skip


def test_the_checker_rejects_missing_extra_and_mistyped_fields() -> None:
    good = {"id": "x", "state": "burned", "at": None}
    assert schemas.check(good, "burn") == []
    assert schemas.check({"id": "x", "state": "burned"}, "burn") != []
    assert schemas.check({**good, "more": 1}, "burn") != []
    assert schemas.check({**good, "at": "soon"}, "burn") != []
    assert schemas.check({**good, "at": True}, "burn") != []


def test_share_get_peek_burn(ots: Runner, tmp_path: Path) -> None:
    shared = _valid(ots("--json", "share", "--label", "l", stdin=b"x"), "share")
    link = str(shared["link"])
    _valid(ots("--json", "peek", link), "peek")
    got = _valid(ots("--json", "get", link), "get")
    assert got["secret"] == "x"
    assert got["encoding"] == "utf-8"
    binary = str(_valid(ots("--json", "share", stdin=b"\xff\x00"), "share")["link"])
    assert _valid(ots("--json", "get", binary), "get")["encoding"] == "base64"
    to_file = str(_valid(ots("--json", "share", stdin=b"f"), "share")["link"])
    _valid(ots("--json", "get", to_file, "-o", str(tmp_path / "f")), "get-output")
    burnable = str(_valid(ots("--json", "share", stdin=b"b"), "share")["link"])
    _valid(ots("--json", "burn", burnable), "burn")


def test_status_and_list(ots: Runner, tmp_path: Path) -> None:
    link = ots("share", "--views", "2", stdin=b"x").text.strip()
    _valid(ots("--json", "status"), "status")
    _valid(ots("--json", "list"), "list")
    _valid(ots("--json", "list", "--cached"), "list")
    _valid(ots("--json", "list", "--prune"), "list")
    forgotten = _valid(ots("--json", "forget", link), "forget")
    assert forgotten["label"] is None
    shutil.rmtree(tmp_path / "ots-config" / "receipts", ignore_errors=True)
    by_link = _valid(ots("--json", "status", link), "status")
    assert by_link["views"] is None


def test_generate_and_config(ots: Runner) -> None:
    _valid(ots("--json", "generate"), "generate")
    _valid(ots("--json", "generate", "--share"), "share")
    _valid(ots("--json", "config", "path"), "config-path")
    _valid(ots("--json", "config", "set", "views", "2"), "config-get")
    _valid(ots("--json", "config", "get", "views"), "config-get")
    _valid(ots("--json", "config", "get", "ttl"), "config-get")
    _valid(ots("--json", "config", "unset", "views"), "config-unset")
    _valid(ots("--json", "config", "show"), "config-show")
    completion = _valid(ots("--json", "completion", "zsh"), "completion")
    assert completion["shell"] == "zsh"


def test_accounts(
    ots: Runner,
    backend: Backend,
    tmp_path: Path,
    use_keyring: Callable[[KeyringBackend], KeyringBackend],
) -> None:
    use_keyring(MemoryKeyring())
    token = backend.add_account("schema@example.org")
    backend.add_token("schema@example.org", "laptop")
    login = _valid(ots("--json", "login", "--with-token", stdin=token.encode()), "login")
    assert (login["storage"], login["path"]) == ("keyring", None)
    insecure = ots("--json", "login", "--with-token", "--insecure-storage", stdin=token.encode())
    assert isinstance(_valid(insecure, "login")["path"], str)
    assert ots("login", "--with-token", stdin=token.encode()).code == 0
    ots("share", stdin=b"x")
    whoami = _valid(ots("--json", "whoami"), "whoami")
    tokens = whoami["tokens"]
    assert isinstance(tokens, list)
    assert [t["name"] for t in tokens] == ["default", "laptop"]
    assert isinstance(tokens[0]["last_used"], str)
    assert tokens[1]["last_used"] is None
    remote = _valid(ots("--json", "list", "--remote"), "list")
    assert isinstance(remote["receipts"], list)
    assert len(remote["receipts"]) == 1
    logout = _valid(ots("--json", "logout"), "logout")
    assert logout["removed"] == ["keyring"]
    _error(ots("--json", "whoami"), "auth")
    (tmp_path / "bad").write_text("nope")
    _error(ots("--json", "--token-file", str(tmp_path / "bad"), "whoami"), "usage")


def _error(result: Result, code: str) -> dict[str, object]:
    assert result.code != 0
    document = json.loads(result.out)
    assert schemas.check_error(document) == []
    error = document["error"]
    assert error["code"] == code
    assert error["exit_code"] == result.code
    assert result.err.startswith("ots: error: ")
    assert isinstance(error, dict)
    return error


def _tamper(backend: Backend) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        response = backend.client.send(request)
        body = bytearray(response.read())
        if request.url.path.endswith("/reveal"):
            body[-1] ^= 1
        return httpx.Response(response.status_code, headers=response.headers, content=bytes(body))

    return httpx.Client(transport=httpx.MockTransport(handler))


def _raising(exception: BaseException) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_errors(ots: Runner, backend: Backend, tmp_path: Path) -> None:
    phrase, wrong = tmp_path / "phrase", tmp_path / "wrong"
    phrase.write_text("p")
    wrong.write_text("w")
    link = ots("share", stdin=b"x").text.strip()
    guarded = ots("share", "--passphrase-file", str(phrase), stdin=b"x").text.strip()
    expiring = ots("share", "--ttl", "1m", stdin=b"x").text.strip()
    tampered = ots("share", stdin=b"x").text.strip()

    _error(ots("--json", "share", "--bogus"), "usage")
    _error(ots("--json", "get", "not a link"), "bad_link")
    _error(ots("--json", "get", guarded), "passphrase_required")
    _error(ots("--json", "share", stdin=b"x", env=cli_env(OTS_VIEWS="x")), "config")
    _error(ots("--json", "get", other_key(link)), "not_found")
    wrong_try = _error(ots("--json", "get", guarded, "--passphrase-file", str(wrong)),
                       "wrong_passphrase")  # fmt: skip
    assert wrong_try["attempts_left"] == 4
    assert wrong_try["burned"] is False
    assert ots("get", link).code == 0
    gone = _error(ots("--json", "get", link), "gone")
    assert gone["state"] == "consumed"
    backend.clock.advance(61)
    expired = _error(ots("--json", "get", expiring), "expired")
    assert isinstance(expired["at"], int)
    _error(ots("--json", "get", tampered, http=_tamper(backend)), "decryption_failed")
    refused = _error(ots("--json", "share", "--ttl", "10s", stdin=b"x"), "refused")
    assert refused["reason"] == "invalid_ttl"
    _error(ots("--json", "share", stdin=b"x", http=_raising(httpx.ConnectError("no"))),
           "unavailable")  # fmt: skip
    _error(ots("--json", "share", stdin=b"x", http=_raising(KeyboardInterrupt())), "cancelled")
    _error(ots("--json", "share", stdin=b"x", http=_raising(RuntimeError())), "bug")


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (401, {"error": "auth_required"}, "auth"),
        (429, {"error": "rate_limited", "retry_after": 7}, "refused"),
        (502, None, "unavailable"),
        (404, None, "protocol"),
    ],
)
def test_server_errors(ots: Runner, status: int, body: object, code: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if body is None:
            return httpx.Response(status, text="<html>proxy error</html>")
        return httpx.Response(status, json=body)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    error = _error(ots("--json", "share", stdin=b"x", http=client), code)
    if code == "refused":
        assert error["retry_after"] == 7
