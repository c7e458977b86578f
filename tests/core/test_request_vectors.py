"""The frozen request vectors (tests/vectors/v1-requests.json), opened from FORMAT.md's steps.

A reader written from docs/FORMAT.md, "Requests": the standard library for the link, HKDF and
SHA-256, libsodium (through PyNaCl's bindings) for X25519 and the sealed box, and the second
secret reader of test_spec_reader.py for the secret the answer names; none of ots_cli's
request code. The reference implementation must agree with it on every value, accept every
link the file accepts and refuse every input it lists as malformed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from nacl.bindings import (
    crypto_box,
    crypto_box_seal_open,
    crypto_scalarmult,
    crypto_scalarmult_base,
)
from nacl.exceptions import CryptoError

from ots_cli import errors
from ots_cli.core.request_crypto import answer_proof, open_answer, owner_proof, verifier
from ots_cli.core.request_links import parse_request_link

from .test_spec_reader import open_blob

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
REQUESTS: dict[str, Any] = json.loads((VECTORS / "v1-requests.json").read_text())
[VECTOR] = REQUESTS["vectors"]


def b64url(text: str) -> bytes:
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    assert base64.urlsafe_b64encode(data).rstrip(b"=").decode() == text
    return data


def hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


class Tampered(Exception):
    """FORMAT.md, Requests: the sealed answer does not open, or is not 48 bytes inside."""


def spec_open(sealed: bytes, private_key: bytes) -> tuple[bytes, bytes]:
    """Opening a sealed answer, step by step."""
    public_key = crypto_scalarmult_base(private_key)
    if len(sealed) != 96:
        raise Tampered("a sealed answer is 96 bytes")
    try:
        plaintext = crypto_box_seal_open(sealed, public_key, private_key)
    except CryptoError as exc:
        raise Tampered("crypto_box_seal_open failed") from exc
    if len(plaintext) != 48:  # pragma: no cover - implied by the length
        raise Tampered("not a secret's id and key")
    return plaintext[:16], plaintext[16:]


def h(name: str) -> bytes:
    return bytes.fromhex(VECTOR[name])


def test_the_link_carries_the_id_and_the_public_key() -> None:
    path, fragment = VECTOR["link"].split("#")
    prefix, _, id_text = path.rpartition("/")
    assert prefix == REQUESTS["server"] + "/r"
    assert b64url(id_text) == h("request_id")
    assert b64url(fragment) == h("public_key")
    assert crypto_scalarmult_base(h("private_key")) == h("public_key")
    parsed = parse_request_link(VECTOR["link"])
    assert (parsed.server, parsed.id, parsed.public_key) == (
        REQUESTS["server"],
        h("request_id"),
        h("public_key"),
    )


def test_the_key_schedule() -> None:
    rsalt = b"ots/v1/request-salt" + h("request_id")
    assert rsalt == h("rsalt")
    answer = hkdf(h("public_key"), rsalt, b"ots/v1 request-answer-proof")
    owner = hkdf(h("private_key"), rsalt, b"ots/v1 request-owner-proof")
    assert (answer, owner) == (h("answer_proof"), h("owner_proof"))
    assert hashlib.sha256(answer).digest() == h("answer_verifier")
    assert hashlib.sha256(owner).digest() == h("owner_verifier")
    # The reference implementation agrees.
    assert answer_proof(h("request_id"), h("public_key")) == answer
    assert owner_proof(h("request_id"), h("private_key")) == owner
    assert verifier(owner) == h("owner_verifier")


def test_the_sealed_answer_is_a_sealed_box_of_the_ephemeral_key() -> None:
    """How crypto_box_seal computes it, so that a writer can reproduce it byte for byte."""
    sealed = h("sealed")
    ephemeral_public = crypto_scalarmult_base(h("ephemeral_private_key"))
    assert sealed[:32] == ephemeral_public
    nonce = hashlib.blake2b(ephemeral_public + h("public_key"), digest_size=24).digest()
    secret = VECTOR["secret"]
    message = bytes.fromhex(secret["id"]) + bytes.fromhex(secret["key"])
    assert crypto_box(message, nonce, h("public_key"), h("ephemeral_private_key")) == sealed[32:]


def test_a_reader_goes_from_the_private_key_and_sealed_to_the_plaintext() -> None:
    secret = VECTOR["secret"]
    secret_id, secret_key = spec_open(h("sealed"), h("private_key"))
    assert (secret_id.hex(), secret_key.hex()) == (secret["id"], secret["key"])
    assert open_answer(h("sealed"), h("private_key")) == (secret_id, secret_key)
    link = f"{REQUESTS['server']}/s/{base64.urlsafe_b64encode(secret_id).rstrip(b'=').decode()}"
    link += "#" + base64.urlsafe_b64encode(secret_key).rstrip(b"=").decode()
    assert link == secret["link"]
    opened = open_blob(bytes.fromhex(secret["blob"]), link, None)
    assert opened["body"] == secret["body"]["utf8"].encode()
    assert opened["kind"] == secret["meta"]["kind"]
    assert bytes.fromhex(secret["blob"])[5] == secret["suite"]


@pytest.mark.parametrize("case", REQUESTS["links"], ids=lambda c: c.get("why") or c["text"][:50])
def test_request_links(case: dict[str, Any]) -> None:
    if case["error"] is None:
        parsed = parse_request_link(case["text"])
        assert (parsed.server, parsed.id.hex(), parsed.public_key.hex()) == (
            case["server"],
            case["request_id"],
            case["public_key"],
        )
        return
    assert case["error"] == "BadLink"
    with pytest.raises(errors.BadLink):
        parse_request_link(case["text"])


def test_low_order_keys_are_what_libsodium_refuses() -> None:
    for case in REQUESTS["links"]:
        if "point" not in str(case.get("why")) and "top bit" not in str(case.get("why")):
            continue
        public_key = b64url(case["text"].split("#")[1])
        with pytest.raises(CryptoError):
            crypto_scalarmult(bytes(range(32)), public_key)


@pytest.mark.parametrize("case", REQUESTS["sealed"], ids=lambda c: c["name"])
def test_malformed_sealed_answers(case: dict[str, Any]) -> None:
    assert case["error"] == "TamperedAnswer"
    sealed, private_key = bytes.fromhex(case["sealed"]), bytes.fromhex(case["private_key"])
    with pytest.raises(Tampered):
        spec_open(sealed, private_key)
    with pytest.raises(errors.TamperedAnswer):
        open_answer(sealed, private_key)
