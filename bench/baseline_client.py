"""The start-up baseline: a minimal argparse + httpx + PyNaCl client doing what ots does.

``share`` reads a file, seals it the way ots does (HKDF-SHA256 subkeys, padding to 1600 bytes,
XChaCha20-Poly1305 with the public header as associated data) and POSTs the create frame;
``get`` peeks, reveals and decrypts. No config, no receipts, no error mapping, no checks
beyond what the requests need: the cheapest program that does the same network and crypto
work, to measure ots's own overhead against (bench/startup.py).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import struct
import sys

if sys.argv[1:2] == ["--lean"]:
    # The "lean" baseline skips httpx's own command-line module, as the ots console script
    # does, so the comparison shows ots's overhead with that saving on both sides.
    del sys.argv[1]
    sys.modules["httpx._main"] = None  # type: ignore[assignment]

import httpx
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)


def b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hkdf(key: bytes, salt: bytes, info: bytes) -> bytes:
    prk = hmac.digest(salt, key, "sha256")
    return hmac.digest(prk, info + b"\x01", "sha256")


def subkeys(id_: bytes, key: bytes) -> tuple[bytes, bytes]:
    salt = b"ots/v1/salt" + id_
    return hkdf(key, salt, b"ots/v1 payload-key"), hkdf(key, salt, b"ots/v1 link-proof")


def share(server: str, path: str) -> None:
    with open(path, "rb") as source:
        body = source.read()
    id_, key, nonce = os.urandom(16), os.urandom(32), os.urandom(24)
    payload_key, proof = subkeys(id_, key)
    header = struct.pack(">4sBBB16sQ", b"\x89OTS", 1, 1, 0, id_, 1600) + nonce
    envelope = struct.pack(">BQ", 1, len(body)) + b"\x00"
    plaintext = envelope + body + bytes(1600 - len(envelope) - len(body))
    blob = header + crypto_aead_xchacha20poly1305_ietf_encrypt(
        plaintext, header, nonce, payload_key
    )
    meta = json.dumps(
        {
            "id": b64e(id_),
            "header_length": len(header),
            "link_verifier": b64e(hashlib.sha256(proof).digest()),
        }
    ).encode()
    response = httpx.post(
        f"{server}/api/v1/secrets",
        content=struct.pack(">I", len(meta)) + meta + blob,
        headers={"Content-Type": "application/vnd.ots.secret"},
    )
    response.raise_for_status()
    print(f"{server}/s/{b64e(id_)}#{b64e(key)}")


def get(link: str) -> None:
    rest, _, key_text = link.partition("#")
    server, _, id_text = rest.rpartition("/s/")
    id_, key = b64d(id_text), b64d(key_text)
    payload_key, proof = subkeys(id_, key)
    with httpx.Client() as client:
        peek = client.post(f"{server}/api/v1/secrets/{id_text}/peek", json={"proof": b64e(proof)})
        peek.raise_for_status()
        header = b64d(peek.json()["header"])
        reveal = client.post(
            f"{server}/api/v1/secrets/{id_text}/reveal", json={"proof": b64e(proof)}
        )
        reveal.raise_for_status()
    blob = reveal.content
    nonce = header[-24:]
    plaintext = crypto_aead_xchacha20poly1305_ietf_decrypt(
        blob[len(header) :], header, nonce, payload_key
    )
    (length,) = struct.unpack(">Q", plaintext[1:9])
    sys.stdout.buffer.write(plaintext[10 : 10 + length])


def main() -> None:
    parser = argparse.ArgumentParser(prog="baseline")
    commands = parser.add_subparsers(dest="command", required=True)
    share_parser = commands.add_parser("share")
    share_parser.add_argument("--server", required=True)
    share_parser.add_argument("file")
    get_parser = commands.add_parser("get")
    get_parser.add_argument("link")
    args = parser.parse_args()
    if args.command == "share":
        share(args.server, args.file)
    else:
        get(args.link)


if __name__ == "__main__":
    main()
