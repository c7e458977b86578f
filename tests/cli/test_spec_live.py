"""The independent reader of docs/FORMAT.md opens live links, through docs/API.md's peek and reveal.

``ots share`` makes the links against the real app (SQLite, in process); the reader of
tests/core/test_spec_reader.py, which never uses ots_cli's code or a libsodium cipher, peeks
and reveals them with plain HTTP requests as API.md describes, and decrypts.
"""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest
from core.test_spec_reader import link_proof, open_link, parse_link

from .support import SERVER, Backend, Runner


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ApiServer:
    """API.md's peek (at construction) and reveal, for one link, over HTTP."""

    def __init__(self, client: httpx.Client, link_id: bytes, key: bytes) -> None:
        self.client = client
        self.url = f"{SERVER}/api/v1/secrets/{b64url(link_id)}"
        answer = client.post(f"{self.url}/peek", json={"proof": b64url(link_proof(link_id, key))})
        assert answer.status_code == 200, answer.text
        peeked = answer.json()
        assert peeked["id"] == b64url(link_id)
        self.peek_header = unb64url(peeked["header"])
        self.size: int = peeked["size"]
        self.passphrase: bool = peeked["passphrase"]
        self.binding: str | None = peeked["binding"]
        self.reveals: list[dict[str, bytes]] = []

    def reveal(self, proofs: dict[str, bytes]) -> bytes:
        self.reveals.append(proofs)
        body = {"proof": b64url(proofs["link_proof"])}
        if "passphrase_proof" in proofs:
            body["passphrase_proof"] = b64url(proofs["passphrase_proof"])
        answer = self.client.post(f"{self.url}/reveal", json=body)
        assert answer.status_code == 200, answer.text
        assert int(answer.headers["content-length"]) == self.size == len(answer.content)
        return answer.content


@pytest.mark.parametrize(
    ("as_file", "size", "passphrase"),
    [(False, 11, None), (True, 5, None), (False, 3000, "tr0ub4dor"), (True, 200_000, "horse")],
    ids=["text", "small-file", "text-passphrase", "large-file-passphrase"],
)
def test_the_spec_reader_opens_a_live_link(
    ots: Runner,
    backend: Backend,
    tmp_path: Path,
    as_file: bool,
    size: int,
    passphrase: str | None,
) -> None:
    body = bytes(i * 7 % 256 for i in range(size))
    args: list[str] = []
    stdin = body
    if passphrase is not None:
        phrase = tmp_path / "phrase"
        phrase.write_text(passphrase + "\n")
        args += ["--passphrase-file", str(phrase)]
    if as_file:
        source = tmp_path / "secret.bin"
        source.write_bytes(body)
        args.append(str(source))
        stdin = b""
    shared = ots("share", *args, stdin=stdin)
    assert shared.code == 0, shared.err
    link = shared.text.strip().replace(SERVER, "https://ots.example.com")
    server = ApiServer(backend.client, *parse_link(link))
    opened = open_link(link, server, passphrase)
    assert opened["body"] == body
    assert (opened["kind"], opened["name"]) == (
        ("file", "secret.bin") if as_file else ("text", None)
    )
    assert len(server.reveals) == 1
    # One view only: a second reveal is refused by the server (410), as API.md says.
    with pytest.raises(AssertionError):
        server.reveal(server.reveals[0])
