"""The start-up baseline: a minimal argparse + httpx + PyNaCl client doing what ots does.

``share FILE`` seals the file the way ``ots share FILE`` does (docs/FORMAT.md): a file
envelope (kind, length, the file's base name, the media type its extension suggests),
HKDF-SHA256 subkeys, Padme padding to at least 1600 bytes, and the writer's suite rule: suite 1
(XChaCha20-Poly1305 in one shot) up to 64 KiB padded, suite 2 (libsodium secretstream in
64 KiB chunks) above, the public header as associated data either way; then it POSTs the
create frame. ``get LINK`` peeks, reveals, decrypts either suite, reads the envelope and writes
the body to stdout, as ``ots get LINK`` does when stdout is not a terminal. So each side opens
what the other shares (tests/benchmarks/test_baseline_client.py).

No config, no receipts, no error mapping, no checks beyond what the requests need, whole
files in memory: the cheapest program that does the same network and crypto work, to measure
ots's own overhead against (bench/startup.py).
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
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_init_push,
    crypto_secretstream_xchacha20poly1305_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
)

CHUNK = 65536


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


def padded(n: int) -> int:
    if n <= 1600:
        return 1600
    exponent = n.bit_length() - 1
    mask = (1 << (exponent - exponent.bit_length())) - 1
    return (n + mask) & ~mask


def share(server: str, path: str) -> None:
    import mimetypes

    with open(path, "rb") as source:
        body = source.read()
    name = os.path.basename(path).encode()
    media = (mimetypes.guess_type(path, strict=False)[0] or "").encode()
    envelope = struct.pack(">BQB", 2, len(body), len(name)) + name + bytes((len(media),)) + media
    size = padded(len(envelope) + len(body))
    suite = 1 if size <= CHUNK else 2
    id_, key = os.urandom(16), os.urandom(32)
    payload_key, proof = subkeys(id_, key)
    plaintext = envelope + body + bytes(size - len(envelope) - len(body))
    if suite == 1:
        nonce = os.urandom(24)
        header = struct.pack(">4sBBB16sQ", b"\x89OTS", 1, 1, 0, id_, size) + nonce
        ciphertext = crypto_aead_xchacha20poly1305_ietf_encrypt(
            plaintext, header, nonce, payload_key
        )
    else:
        state = crypto_secretstream_xchacha20poly1305_state()
        nonce = crypto_secretstream_xchacha20poly1305_init_push(state, payload_key)
        header = struct.pack(">4sBBB16sQ", b"\x89OTS", 1, 2, 0, id_, size) + nonce
        chunks = [plaintext[at : at + CHUNK] for at in range(0, size, CHUNK)]
        ciphertext = b"".join(
            crypto_secretstream_xchacha20poly1305_push(
                state, chunk, header, 3 if index == len(chunks) - 1 else 0
            )
            for index, chunk in enumerate(chunks)
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
        content=struct.pack(">I", len(meta)) + meta + header + ciphertext,
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
    ciphertext, nonce = reveal.content[len(header) :], header[-24:]
    if header[5] == 1:
        plaintext = crypto_aead_xchacha20poly1305_ietf_decrypt(
            ciphertext, header, nonce, payload_key
        )
    else:
        state = crypto_secretstream_xchacha20poly1305_state()
        crypto_secretstream_xchacha20poly1305_init_pull(state, nonce, payload_key)
        step = CHUNK + 17
        pieces = [
            crypto_secretstream_xchacha20poly1305_pull(state, ciphertext[at : at + step], header)
            for at in range(0, len(ciphertext), step)
        ]
        if pieces[-1][1] != 3:  # the last chunk must carry TAG_FINAL, or the stream was cut
            raise SystemExit("baseline: truncated stream")
        plaintext = b"".join(piece for piece, _ in pieces)
    kind, length = struct.unpack_from(">BQ", plaintext)
    start = 9
    if kind == 2:  # a file: skip its name
        start += 1 + plaintext[start]
    start += 1 + plaintext[start]  # the media type
    sys.stdout.buffer.write(plaintext[start : start + length])


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
