"""What leaves the process and what is kept on disk: never the key or anything that decrypts.

Every HTTP request of a full session (share with and without passphrase, peek, get, status,
list, burn) is recorded at the client's edge; the key, the link fragment, the payload key,
the passphrase and the plaintext must appear nowhere in it, and proofs and verifiers only in
request bodies, never in a URL or a header.
"""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

from ots_cli.core import b64
from ots_cli.core.keyschedule import HKDF_SALT_PREFIX, PAYLOAD_KEY_INFO, hkdf_sha256, link_proof
from ots_cli.core.links import parse_link

from .support import Backend, Runner

PLAINTEXT = b"the-plaintext-\x00-\xff-never-leaves"
PASSPHRASE = "a passphrase nobody sends"


def _forms(raw: bytes) -> list[bytes]:
    """The ways a value could leak: raw, base64url, hex."""
    return [raw, b64.encode(raw).encode(), raw.hex().encode()]


def test_the_key_and_what_decrypts_never_leave_the_process(
    ots: Runner, backend: Backend, tmp_path: Path
) -> None:
    phrase = tmp_path / "phrase"
    phrase.write_text(PASSPHRASE)
    link = ots("share", "--label", "db", stdin=PLAINTEXT).text.strip()
    guarded = ots("share", "--passphrase-file", str(phrase), stdin=PLAINTEXT).text.strip()
    assert ots("peek", link).code == 0
    assert ots("status").code == 0
    assert ots("get", link).out == PLAINTEXT
    assert ots("get", guarded, "--passphrase-file", str(phrase)).out == PLAINTEXT
    assert ots("list").code == 0
    third = ots("share", stdin=PLAINTEXT).text.strip()
    assert ots("burn", third).code == 0

    sent = backend.recorder.everything()
    assert len(backend.recorder.requests) >= 10
    for text in (link, guarded, third):
        parsed = parse_link(text, allow_insecure_http=True)
        fragment = text.split("#", 1)[1].encode()
        payload_key = hkdf_sha256(
            parsed.key, salt=HKDF_SALT_PREFIX + parsed.id, info=PAYLOAD_KEY_INFO
        )
        assert fragment not in sent
        for secret in (parsed.key, payload_key):
            for form in _forms(secret):
                assert form not in sent
        proof = link_proof(parsed.id, parsed.key)
        verifier = hashlib.sha256(proof).digest()
        for request in backend.recorder.requests:
            outside_body = (request.url + json.dumps(request.headers)).encode()
            for value in (proof, verifier):
                for form in _forms(value):
                    assert form not in outside_body
    assert PLAINTEXT not in sent
    assert PASSPHRASE.encode() not in sent


def test_urls_carry_only_the_id(ots: Runner, backend: Backend) -> None:
    link = ots("share", stdin=b"x").text.strip()
    ots("get", link)
    ots("status")
    id_text = parse_link(link, allow_insecure_http=True).id_text
    for request in backend.recorder.requests:
        path = request.url.split("://", 1)[1].split("/", 1)[1]
        assert "?" not in request.url
        segments = path.split("/")
        assert segments[:2] == ["api", "v1"]
        assert all(
            s
            in {
                "secrets",
                "receipts",
                "status",
                "burn",
                "peek",
                "reveal",
                "limits",
                "api",
                "v1",
                id_text,
            }
            for s in segments
        )


def test_requests_identify_the_client_and_follow_no_redirect(ots: Runner, backend: Backend) -> None:
    from ots_cli import __version__

    ots("share", stdin=b"x")
    assert backend.recorder.requests
    for request in backend.recorder.requests:
        assert request.headers["user-agent"] == f"ots/{__version__}"
        assert "authorization" not in request.headers
        assert "cookie" not in request.headers


def test_receipts_hold_no_key_and_are_private(ots: Runner, tmp_path: Path) -> None:
    link = ots("share", "--label", "for bob", stdin=b"x").text.strip()
    parsed = parse_link(link, allow_insecure_http=True)
    receipts = tmp_path / "ots-config" / "receipts"
    files = list(receipts.iterdir())
    assert [f.name for f in files] == [f"{parsed.id_text}.json"]
    content = files[0].read_bytes()
    assert b64.encode(parsed.key).encode() not in content
    assert link.encode() not in content
    assert parsed.key not in content
    data = json.loads(content)
    assert data["label"] == "for bob"
    assert data["token"].startswith("otsr_")
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(receipts.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "ots-config").stat().st_mode) == 0o700


def test_labels_never_reach_the_server(ots: Runner, backend: Backend) -> None:
    ots("share", "--label", "LABEL-ONLY-LOCAL", stdin=b"x")
    ots("list")
    assert b"LABEL-ONLY-LOCAL" not in backend.recorder.everything()


def test_errors_never_quote_the_link_or_the_key(ots: Runner) -> None:
    link = ots("share", stdin=b"x").text.strip()
    fragment = link.split("#", 1)[1]
    broken = link[:-3]  # a key one character short... of the right length: invalid
    for argv in (["get", broken], ["get", link + "A"], ["peek", link.replace("/s/", "/x/")]):
        result = ots(*argv)
        assert result.code == 2
        assert fragment[:-3] not in result.err
    ots("get", link)
    gone = ots("get", link)
    assert fragment not in gone.err
