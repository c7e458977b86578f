"""Readers refuse a passphrase cost below the default writer cost (issue 14, item 33).

The peek header is not authenticated until the secret is decrypted, so a hostile server can
hand the reader cheaper Argon2id settings (and a salt of its choosing) than the writer chose,
making the passphrase proof the reader sends cheaper to attack offline. ``get`` and ``run``
refuse such a header with exit 8 before a passphrase is read, Argon2id runs or anything is
consumed, unless ``--allow-weak-kdf`` (or ``OTS_ALLOW_WEAK_KDF``) says the cost is expected.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from ots_cli.core import b64
from ots_cli.core.format import Header, KdfParams, decode_header

from .support import Backend, Runner, cli_env

MIB = 1 << 20


@pytest.fixture
def strict_env() -> dict[str, str]:
    """The test environment without the weak-KDF allowance that cli_env() grants."""
    env = cli_env()
    del env["OTS_ALLOW_WEAK_KDF"]
    return env


@pytest.fixture
def phrase(tmp_path: Path) -> Path:
    path = tmp_path / "phrase"
    path.write_text("open sesame")
    return path


def _share_weak(ots: Runner, phrase: Path) -> str:
    """A writer that chose the cheapest cost (``passphrase_cost = interactive``)."""
    result = ots("share", "--passphrase-file", str(phrase), stdin=b"guarded",
                 env=cli_env(OTS_PASSPHRASE_COST="interactive"))  # fmt: skip
    assert result.code == 0, result.err
    return result.text.strip()


def _untouched(ots: Runner, link: str) -> None:
    peek = ots("--json", "peek", link).json()
    assert (peek["views_left"], peek["attempts_left"]) == (1, 5)


def test_a_weak_header_is_refused_before_anything_is_read_or_consumed(
    ots: Runner, strict_env: dict[str, str], phrase: Path, tmp_path: Path
) -> None:
    link = _share_weak(ots, phrase)
    missing = tmp_path / "no-such-file"  # refused before the passphrase is even read
    result = ots("--json", "get", link, "--passphrase-file", str(missing), env=strict_env)
    assert result.code == 8
    error = result.json()["error"]
    assert error["code"] == "weak_kdf"
    assert "nothing was consumed" in error["message"]
    assert any("--allow-weak-kdf" in hint for hint in error["hints"])
    _untouched(ots, link)
    ran = ots("run", link, "--env", "A", "--passphrase-file", str(phrase), "--", "true",
              env=strict_env)  # fmt: skip
    assert ran.code == 8
    assert "weak" in ran.err
    _untouched(ots, link)


def test_allow_weak_kdf_opens_it(ots: Runner, strict_env: dict[str, str], phrase: Path) -> None:
    link = _share_weak(ots, phrase)
    got = ots("get", link, "--passphrase-file", str(phrase), "--allow-weak-kdf", env=strict_env)
    assert got.code == 0, got.err
    assert got.out == b"guarded"
    again = _share_weak(ots, phrase)
    by_env = ots("get", again, "--passphrase-file", str(phrase),
                 env={**strict_env, "OTS_ALLOW_WEAK_KDF": "1"})  # fmt: skip
    assert by_env.out == b"guarded"
    run_link = _share_weak(ots, phrase)
    ran = ots("run", run_link, "--env", "A", "--passphrase-file", str(phrase),
              "--allow-weak-kdf", "--", "sh", "-c", 'test "$A" = guarded',
              env=strict_env)  # fmt: skip
    assert ran.code == 0, ran.err


def _downgrading(backend: Backend) -> httpx.Client:
    """A hostile server: the real app, but every peek answers the cheapest Argon2id cost
    the format accepts, with a salt of the server's choosing."""

    def handler(request: httpx.Request) -> httpx.Response:
        answer = backend.client.request(
            request.method, str(request.url), headers=request.headers, content=request.read()
        )
        if not request.url.path.endswith("/peek") or answer.status_code != 200:
            return httpx.Response(answer.status_code, headers=answer.headers,
                                  content=answer.content)  # fmt: skip
        data = answer.json()
        header, _ = decode_header(b64.decode(data["header"]))
        weaker = Header(
            suite=header.suite,
            id=header.id,
            padded_length=header.padded_length,
            nonce=header.nonce,
            kdf=KdfParams(opslimit=2, memlimit=64 * MIB, salt=b"chosen by server"),
        )
        data["header"] = b64.encode(weaker.encode())
        return httpx.Response(200, content=json.dumps(data).encode(),
                              headers={"content-type": "application/json"})  # fmt: skip

    return httpx.Client(
        transport=httpx.MockTransport(handler), base_url=str(backend.client.base_url)
    )


def test_a_server_that_downgrades_the_cost_is_refused(
    ots: Runner, backend: Backend, strict_env: dict[str, str], phrase: Path
) -> None:
    # The writer used the default cost; the server claims the cheapest one.
    shared = ots("share", "--passphrase-file", str(phrase), stdin=b"guarded",
                 env={**strict_env, "OTS_PASSPHRASE_COST": "default"})  # fmt: skip
    assert shared.code == 0, shared.err
    link = shared.text.strip()
    result = ots("get", link, "--passphrase-file", str(phrase), env=strict_env,
                 http=_downgrading(backend))  # fmt: skip
    assert result.code == 8
    assert "ots: error: the secret's passphrase cost" in result.err
    assert result.out == b""
    _untouched(ots, link)
