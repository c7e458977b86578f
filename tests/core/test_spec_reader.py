"""A second, independent reader written from docs/FORMAT.md alone, run on the golden vectors.

It uses only the standard library and PyNaCl's public bindings, none of ots_cli's code, so it
checks that the document (not just the reference implementation) is enough to decrypt a blob
given its link and passphrase.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import struct
import unicodedata
from typing import Any

import nacl.pwhash.argon2id
import pytest
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_state,
)

from .test_vectors import GOLDEN, _rebuild_blob, body_of


def b64url(text: str) -> bytes:
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    assert base64.urlsafe_b64encode(data).rstrip(b"=").decode() == text
    return data


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def padme(n: int) -> int:
    e = math.floor(math.log2(n))
    s = math.floor(math.log2(e)) + 1
    mask = (1 << (e - s)) - 1
    return (n + mask) & ~mask


def padded(n: int) -> int:
    return 1600 if n <= 1600 else padme(n)


def read(link: str, blob: bytes, passphrase: str | None) -> dict[str, Any]:
    # Link: .../s/<id>#<key>
    path, fragment = link.split("#")
    link_id, key = b64url(path.rsplit("/s/", 1)[1]), b64url(fragment)
    assert (len(link_id), len(key)) == (16, 32)

    # Header
    assert blob[:4] == b"\x89OTS"
    version, suite, flags = blob[4], blob[5], blob[6]
    assert (version, suite in (1, 2), flags & ~1) == (1, True, 0)
    header_id = blob[7:23]
    (padded_length,) = struct.unpack(">Q", blob[23:31])
    offset = 31
    kdf = None
    if flags & 1:
        kdf = struct.unpack(">II16s", blob[31:55])
        offset = 55
    nonce = blob[offset : offset + 24]
    header = blob[: offset + 24]
    assert hmac.compare_digest(header_id, link_id)
    assert padded(padded_length) == padded_length
    assert suite == 2 or padded_length <= 1 << 27

    # Key schedule
    salt = b"ots/v1/salt" + link_id
    ikm = key
    result: dict[str, Any] = {"link_proof": hkdf(key, salt, b"ots/v1 link-proof")}
    if kdf is not None:
        opslimit, memlimit, kdf_salt = kdf
        assert 2 <= opslimit <= 10
        assert 64 << 20 <= memlimit <= 1 << 30
        assert memlimit % 1024 == 0
        assert passphrase
        password = unicodedata.normalize("NFC", passphrase).encode("utf-8")
        stretched = nacl.pwhash.argon2id.kdf(32, password, kdf_salt, opslimit, memlimit)
        ikm = key + stretched
        result["passphrase_proof"] = hkdf(ikm, salt, b"ots/v1 passphrase-proof")
    payload_key = hkdf(ikm, salt, b"ots/v1 payload-key")

    # Ciphertext
    ciphertext = blob[len(header) :]
    if suite == 1:
        assert len(ciphertext) == padded_length + 16
        plaintext = crypto_aead_xchacha20poly1305_ietf_decrypt(
            ciphertext, header, nonce, payload_key
        )
    else:
        count = max(1, -(-padded_length // 65536))
        assert len(ciphertext) == padded_length + 17 * count
        state = crypto_secretstream_xchacha20poly1305_state()
        crypto_secretstream_xchacha20poly1305_init_pull(state, nonce, payload_key)
        parts, position = [], 0
        for index in range(count):
            size = min(65536, padded_length - index * 65536) + 17
            part, tag = crypto_secretstream_xchacha20poly1305_pull(
                state, ciphertext[position : position + size], header
            )
            assert tag == (3 if index == count - 1 else 0)
            parts.append(part)
            position += size
        plaintext = b"".join(parts)
    assert len(plaintext) == padded_length

    # Envelope, body, padding
    kind, body_length = struct.unpack(">BQ", plaintext[:9])
    position = 9
    name = None
    if kind == 2:
        name_length = plaintext[position]
        name = plaintext[position + 1 : position + 1 + name_length].decode("utf-8") or None
        position += 1 + name_length
    media_length = plaintext[position]
    media_type = plaintext[position + 1 : position + 1 + media_length].decode("ascii") or None
    position += 1 + media_length
    assert kind in (1, 2)
    assert padded(position + body_length) == padded_length
    body = plaintext[position : position + body_length]
    assert plaintext[position + body_length :] == bytes(padded_length - position - body_length)
    result.update(kind={1: "text", 2: "file"}[kind], name=name, media_type=media_type, body=body)
    return result


@pytest.mark.parametrize("vector", GOLDEN, ids=[v["name"] for v in GOLDEN])
def test_independent_reader_opens_every_golden_vector(vector: dict[str, Any]) -> None:
    blob = _rebuild_blob(vector)
    assert hashlib.sha256(blob).hexdigest() == vector["expected"]["blob_sha256"]
    result = read(vector["link"], blob, vector["passphrase"])
    assert result["body"] == body_of(vector)
    assert (result["kind"], result["name"], result["media_type"]) == (
        vector["meta"]["kind"],
        vector["meta"]["name"],
        vector["meta"]["media_type"],
    )
    expected = vector["expected"]
    assert result["link_proof"].hex() == expected["link_proof"]
    assert hashlib.sha256(result["link_proof"]).hexdigest() == expected["link_verifier"]
    if vector["passphrase"] is not None:
        assert result["passphrase_proof"].hex() == expected["passphrase_proof"]
        assert (
            hashlib.sha256(result["passphrase_proof"]).hexdigest()
            == expected["passphrase_verifier"]
        )
