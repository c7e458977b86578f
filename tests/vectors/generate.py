"""Generate the ots v1 test vectors in this directory (run once; the files are then frozen).

    python tests/vectors/generate.py   # writes v1-blobs.json, v1-malformed.json, v1-requests.json

Tests never regenerate: they replay each vector's random bytes into ``seal`` and compare the
result byte for byte, so a change to the format (or to this script) shows up as a failing
test, not as silently updated vectors. Regenerating is a format change and needs a new format
version, except for adding new vectors.

All "random" values are derived deterministically from the vector's name (SHAKE-256), so the
script is reproducible; an implementation under test must treat them as opaque inputs.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import unicodedata
from pathlib import Path
from typing import Any

import nacl.pwhash.argon2id
from nacl.bindings import (
    crypto_secretstream_xchacha20poly1305_init_pull,
    crypto_secretstream_xchacha20poly1305_push,
    crypto_secretstream_xchacha20poly1305_state,
    crypto_secretstream_xchacha20poly1305_TAG_FINAL,
    crypto_secretstream_xchacha20poly1305_TAG_MESSAGE,
)

from ots_cli.core import aead, b64
from ots_cli.core.crypto import derive_keys, seal
from ots_cli.core.envelope import Meta, encode_envelope
from ots_cli.core.format import CHUNK_SIZE, Header, Suite, decode_header, padded_length
from ots_cli.core.links import build_link
from ots_cli.core.request_crypto import (
    answer_proof,
    owner_proof,
    request_salt,
    verifier,
)
from ots_cli.core.request_links import build_request_link

HERE = Path(__file__).resolve().parent
SERVER = "https://ots.example.com"
INTERACTIVE = (nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE, nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE)
#: Full blobs up to this size are written out in hex; larger ones to a file of their own
#: (BLOB_DIR/<name>.bin, named by the vector's ``blob_file``).
INLINE_LIMIT = 4096
BLOB_DIR = "v1-blobs"


def det(label: str, size: int) -> bytes:
    """Deterministic stand-in for random bytes."""
    return hashlib.shake_256(b"ots/v1 test vectors/" + label.encode()).digest(size)


def pattern(length: int) -> bytes:
    """The body of the large vectors: byte i is i mod 251."""
    return bytes(i % 251 for i in range(length))


# name, description, suite, meta, body spec, passphrase
CASES: list[tuple[str, str, Suite, Meta, dict[str, Any], str | None]] = [
    (
        "sealed-text",
        "suite 1, a short text secret, no passphrase",
        Suite.SEALED,
        Meta(),
        {"utf8": "correct horse battery staple"},
        None,
    ),
    (
        "sealed-empty",
        "suite 1, an empty text secret",
        Suite.SEALED,
        Meta(),
        {"utf8": ""},
        None,
    ),
    (
        "sealed-text-1590",
        "suite 1, the largest text that still pads to 1600 bytes (10 + 1590)",
        Suite.SEALED,
        Meta(),
        {"pattern": 1590},
        None,
    ),
    (
        "sealed-text-1591",
        "suite 1, one byte more: the next Padme bucket (1664)",
        Suite.SEALED,
        Meta(),
        {"pattern": 1591},
        None,
    ),
    (
        "sealed-file-1024-longest-envelope",
        "suite 1, a 1 KiB file with a 255-byte name and media type (521-byte envelope): 1600",
        Suite.SEALED,
        Meta(kind="file", name="\u00e9" * 127 + "x", media_type="application/" + "x" * 243),
        {"pattern": 1024},
        None,
    ),
    (
        "sealed-text-passphrase",
        "suite 1 with a passphrase given in NFD form (NFC-normalised before Argon2id)",
        Suite.SEALED,
        Meta(media_type="text/plain; charset=utf-8"),
        {"utf8": "the vault code is 4711"},
        "Cafe\u0301 \u2615 pass phrase",
    ),
    (
        "sealed-file",
        "suite 1, a small file with a name and a media type",
        Suite.SEALED,
        Meta(kind="file", name="id_ed25519.pub", media_type="text/plain"),
        {"utf8": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample user@example\n"},
        None,
    ),
    (
        "stream-text",
        "suite 2, a one-chunk stream",
        Suite.STREAM,
        Meta(),
        {"utf8": "streamed, but short"},
        None,
    ),
    (
        "stream-file",
        "suite 2, a 150000-byte file: three chunks, the last one padded",
        Suite.STREAM,
        Meta(kind="file", name="r\u00e9sum\u00e9.bin", media_type="application/octet-stream"),
        {"pattern": 150000},
        None,
    ),
    (
        "stream-exact-chunks",
        "suite 2, envelope + body exactly 131072 bytes: two full chunks, no padding",
        Suite.STREAM,
        Meta(),
        {"pattern": 131072 - 10},
        None,
    ),
    (
        "stream-file-passphrase",
        "suite 2 with a passphrase, 70000 bytes: two chunks",
        Suite.STREAM,
        Meta(kind="file", name="backup.tar"),
        {"pattern": 70000},
        "correct horse battery staple",
    ),
    (
        "sealed-text-bound-github",
        "suite 1, bound to a GitHub Actions identity (flag bit 1; the binding follows the nonce)",
        Suite.SEALED,
        Meta(),
        {"utf8": "deploy key for production"},
        None,
    ),
    (
        "stream-text-bound-gitlab-passphrase",
        "suite 2 with a passphrase, bound to a GitLab CI identity",
        Suite.STREAM,
        Meta(),
        {"utf8": "registry token"},
        "correct horse battery staple",
    ),
]

#: The binding of each bound vector (docs/FORMAT.md, "Binding"); the others have none.
BINDINGS = {
    "sealed-text-bound-github": "github:octo-org/deploy@refs/heads/main:production",
    "stream-text-bound-gitlab-passphrase": "gitlab:group/sub/project@main",
}


def body_of(spec: dict[str, Any]) -> bytes:
    if "utf8" in spec:
        return str(spec["utf8"]).encode("utf-8")
    return pattern(int(spec["pattern"]))


def blob_fields(name: str, blob: bytes, files: dict[str, bytes]) -> dict[str, Any]:
    fields: dict[str, Any] = {"blob_length": len(blob), "blob_sha256": sha256(blob)}
    if len(blob) <= INLINE_LIMIT:
        fields["blob"] = blob.hex()
    else:
        fields["blob_file"] = f"{BLOB_DIR}/{name}.bin"
        files[fields["blob_file"]] = blob
    return fields


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def golden(files: dict[str, bytes]) -> list[dict[str, Any]]:
    """The golden vectors; the blobs too large to inline are added to ``files``."""
    vectors = []
    for name, description, suite, meta, spec, passphrase in CASES:
        id_, key = det(name + "/id", 16), det(name + "/key", 32)
        salt = det(name + "/salt", 16) if passphrase else b""
        nonce = det(name + "/nonce", 24)
        stream = io.BytesIO(salt + nonce)
        body = body_of(spec)
        ops, mem = INTERACTIVE
        sealed = seal(
            body,
            id=id_,
            key=key,
            meta=meta,
            passphrase=passphrase,
            opslimit=ops,
            memlimit=mem,
            suite=suite,
            random=stream.read,
            binding=BINDINGS.get(name),
        )
        assert stream.read() == b""
        header, header_length = decode_header(sealed.blob)
        stretched = None
        if passphrase:
            password = unicodedata.normalize("NFC", passphrase).encode()
            stretched = nacl.pwhash.argon2id.kdf(32, password, salt, ops, mem)
        keys = sealed.keys
        vectors.append(
            {
                "name": name,
                "description": description,
                "suite": int(suite),
                "id": id_.hex(),
                "key": key.hex(),
                "link": build_link(SERVER, id_, key),
                "passphrase": passphrase,
                "passphrase_nfc_utf8": (
                    unicodedata.normalize("NFC", passphrase).encode().hex() if passphrase else None
                ),
                "kdf": (
                    {"opslimit": ops, "memlimit": mem, "salt": salt.hex()} if passphrase else None
                ),
                "nonce": nonce.hex(),
                "binding": BINDINGS.get(name),
                "random": (salt + nonce).hex(),
                "meta": {"kind": meta.kind, "name": meta.name, "media_type": meta.media_type},
                "body": spec if "utf8" in spec else {"pattern_i_mod_251": spec["pattern"]},
                "body_sha256": sha256(body),
                "expected": {
                    "header": sealed.header_bytes.hex(),
                    "header_length": header_length,
                    "envelope": encode_envelope(meta, len(body)).hex(),
                    "padded_length": header.padded_length,
                    "argon2id_output": stretched.hex() if stretched else None,
                    "payload_key": keys.payload_key.hex(),
                    "link_proof": keys.link_proof.hex(),
                    "link_verifier": keys.link_verifier.hex(),
                    "passphrase_proof": (
                        keys.passphrase_proof.hex() if keys.passphrase_proof else None
                    ),
                    "passphrase_verifier": (
                        keys.passphrase_verifier.hex() if keys.passphrase_verifier else None
                    ),
                    **blob_fields(name, sealed.blob, files),
                },
            }
        )
    return vectors


# --- malformed cases --------------------------------------------------------------------------


def forged_sealed(name: str, plaintext: bytes, padded: int) -> dict[str, Any]:
    """A suite-1 blob whose authenticated plaintext is malformed (a malicious sender)."""
    id_, key = det(name + "/id", 16), det(name + "/key", 32)
    header = Header(
        suite=Suite.SEALED, id=id_, padded_length=padded, nonce=det(name + "/nonce", 24), kdf=None
    )
    header_bytes = header.encode()
    keys = derive_keys(header, key, None)
    blob = aead.seal_after_header(
        header_bytes, (plaintext,), padded, header.nonce, keys.payload_key
    )
    return {"id": id_.hex(), "key": key.hex(), "blob": blob.hex()}


def forged_stream(name: str, chunks: list[tuple[bytes, int]], padded: int) -> dict[str, Any]:
    """A suite-2 blob with caller-chosen plaintext chunks and tags."""
    id_, key = det(name + "/id", 16), det(name + "/key", 32)
    header = Header(
        suite=Suite.STREAM, id=id_, padded_length=padded, nonce=det(name + "/nonce", 24), kdf=None
    )
    header_bytes = header.encode()
    keys = derive_keys(header, key, None)
    state = crypto_secretstream_xchacha20poly1305_state()
    crypto_secretstream_xchacha20poly1305_init_pull(state, header.nonce, keys.payload_key)
    parts = [header_bytes]
    for plaintext, tag in chunks:
        parts.append(
            crypto_secretstream_xchacha20poly1305_push(state, plaintext, header_bytes, tag)
        )
    return {"id": id_.hex(), "key": key.hex(), "blob": b"".join(parts).hex()}


def envelope(kind: int, body_length: int, *rest: bytes) -> bytes:
    return struct.pack(">BQ", kind, body_length) + b"".join(rest)


def header_hex(**changes: Any) -> str:
    fields: dict[str, Any] = {
        "magic": b"\x89OTS",
        "version": 1,
        "suite": 1,
        "flags": 0,
        "id": bytes(16),
        "padded": 1600,
        "kdf": b"",
        "nonce": bytes(24),
        "binding": b"",
    }
    fields.update(changes)
    fixed = struct.pack(
        ">4sBBB16sQ",
        fields["magic"],
        fields["version"],
        fields["suite"],
        fields["flags"],
        fields["id"],
        fields["padded"],
    )
    encoded: bytes = fixed + fields["kdf"] + fields["nonce"] + fields["binding"]
    return encoded.hex()


def malformed(vectors: list[dict[str, Any]]) -> dict[str, Any]:
    by_name = {v["name"]: v for v in vectors}
    text_file = bytes.fromhex(by_name["sealed-file"]["expected"]["blob"])
    mutations = [
        ("magic", "sealed-text", {"op": "xor", "offset": 0, "mask": 1}, "FormatError"),
        ("version 2", "sealed-text", {"op": "set", "offset": 4, "hex": "02"}, "UnsupportedVersion"),
        ("version 0", "sealed-text", {"op": "set", "offset": 4, "hex": "00"}, "UnsupportedVersion"),
        ("suite 0", "sealed-text", {"op": "set", "offset": 5, "hex": "00"}, "UnsupportedVersion"),
        ("suite 3", "sealed-text", {"op": "set", "offset": 5, "hex": "03"}, "UnsupportedVersion"),
        (
            "suite 1 relabelled as 2",
            "sealed-text",
            {"op": "set", "offset": 5, "hex": "02"},
            "DecryptionFailed",
        ),
        (
            "unknown flag",
            "sealed-text",
            {"op": "set", "offset": 6, "hex": "04"},
            "UnsupportedVersion",
        ),
        # A server that changes the binding, or clears its flag, breaks the authentication
        # (the binding is in the header, the associated data); one that sets the flag on an
        # unbound blob makes the first ciphertext byte a length: a format error or a failure.
        (
            "binding changed (main to mail)",
            "sealed-text-bound-github",
            {
                "op": "xor",
                "offset": 55 + 1 + len("github:octo-org/deploy@refs/heads/mai"),
                "mask": 2,
            },
            "DecryptionFailed",
        ),
        (
            "binding flag cleared",
            "sealed-text-bound-github",
            {"op": "set", "offset": 6, "hex": "00"},
            "DecryptionFailed",
        ),
        (
            "binding length cut to a prefix",
            "sealed-text-bound-github",
            {"op": "set", "offset": 55, "hex": "16"},
            "DecryptionFailed",
        ),
        ("id changed", "sealed-text", {"op": "xor", "offset": 7, "mask": 1}, "DecryptionFailed"),
        (
            "padded length not a bucket",
            "sealed-text",
            {"op": "set", "offset": 23, "hex": "0000000000000641"},
            "FormatError",
        ),
        (
            "padded length another bucket",
            "sealed-text",
            {"op": "set", "offset": 23, "hex": "0000000000000680"},
            "DecryptionFailed",
        ),
        (
            "suite-1 padded length above 128 MiB",
            "sealed-text",
            {"op": "set", "offset": 23, "hex": "0000000008400000"},
            "FormatError",
        ),
        ("nonce bit", "sealed-text", {"op": "xor", "offset": 31, "mask": 128}, "DecryptionFailed"),
        (
            "ciphertext bit",
            "sealed-text",
            {"op": "xor", "offset": 60, "mask": 4},
            "DecryptionFailed",
        ),
        ("tag bit", "sealed-text", {"op": "xor", "offset": -1, "mask": 1}, "DecryptionFailed"),
        ("truncated by one", "sealed-text", {"op": "truncate", "length": -1}, "DecryptionFailed"),
        ("truncated header", "sealed-text", {"op": "truncate", "length": 30}, "FormatError"),
        ("empty", "sealed-text", {"op": "truncate", "length": 0}, "FormatError"),
        ("one byte appended", "sealed-text", {"op": "append", "hex": "00"}, "DecryptionFailed"),
        (
            "header of another secret",
            "sealed-text",
            {"op": "set", "offset": 0, "hex": text_file[:55].hex()},
            "DecryptionFailed",
        ),
        (
            "opslimit 1 (below INTERACTIVE)",
            "sealed-text-passphrase",
            {"op": "set", "offset": 31, "hex": "00000001"},
            "KdfParamsRefused",
        ),
        (
            "opslimit 11",
            "sealed-text-passphrase",
            {"op": "set", "offset": 31, "hex": "0000000b"},
            "KdfParamsRefused",
        ),
        (
            "memlimit 32 MiB",
            "sealed-text-passphrase",
            {"op": "set", "offset": 35, "hex": "02000000"},
            "KdfParamsRefused",
        ),
        (
            "memlimit 1 GiB + 1 KiB",
            "sealed-text-passphrase",
            {"op": "set", "offset": 35, "hex": "40000400"},
            "KdfParamsRefused",
        ),
        (
            "memlimit not a whole KiB",
            "sealed-text-passphrase",
            {"op": "set", "offset": 35, "hex": "04000001"},
            "KdfParamsRefused",
        ),
        (
            "opslimit 3 (accepted, but not what was sealed)",
            "sealed-text-passphrase",
            {"op": "set", "offset": 31, "hex": "00000003"},
            "DecryptionFailed",
        ),
        (
            "salt changed",
            "sealed-text-passphrase",
            {"op": "xor", "offset": 39, "mask": 1},
            "DecryptionFailed",
        ),
        (
            "passphrase flag cleared",
            "sealed-text-passphrase",
            {"op": "set", "offset": 6, "hex": "00"},
            "DecryptionFailed",
        ),
        (
            "chunks swapped",
            "stream-file",
            {"op": "swap_chunks", "a": 0, "b": 1},
            "DecryptionFailed",
        ),
        ("chunk dropped", "stream-file", {"op": "drop_chunk", "index": 1}, "DecryptionFailed"),
        ("last chunk dropped", "stream-file", {"op": "drop_chunk", "index": 2}, "DecryptionFailed"),
        ("chunk repeated", "stream-file", {"op": "repeat_chunk", "index": 0}, "DecryptionFailed"),
        (
            "stream bit",
            "stream-file",
            {"op": "xor", "offset": 70000, "mask": 16},
            "DecryptionFailed",
        ),
        ("stream extended", "stream-file", {"op": "append", "hex": "00"}, "DecryptionFailed"),
        (
            "stream truncated inside the last chunk",
            "stream-file",
            {"op": "truncate", "length": -5},
            "DecryptionFailed",
        ),
    ]
    blob_cases = [{"name": n, "vector": v, "mutation": m, "error": e} for n, v, m, e in mutations]
    blob_cases.append(
        {
            "name": "wrong passphrase",
            "vector": "sealed-text-passphrase",
            "mutation": None,
            "passphrase": "Cafe\u0301 \u2615 pass phrase!",
            "error": "DecryptionFailed",
        }
    )
    blob_cases.append(
        {
            "name": "wrong key",
            "vector": "sealed-text",
            "mutation": None,
            "key": bytes(32).hex(),
            "error": "DecryptionFailed",
        }
    )

    # Authentic blobs with malformed plaintext: a sender that does not follow the format.
    file_kind, text_kind = 2, 1
    forged = [
        ("unknown kind", forged_sealed("f1", envelope(3, 0, b"\x00"), 1600)),
        ("envelope of zeros", forged_sealed("f2", b"", 1600)),
        ("body longer than padded", forged_sealed("f3", envelope(text_kind, 2000, b"\x00"), 1600)),
        ("body too short for bucket", forged_sealed("f4", envelope(text_kind, 0, b"\x00"), 1664)),
        (
            "non-zero padding",
            forged_sealed(
                "f5", envelope(text_kind, 1, b"\x00", b"x", b"\x00" * 100, b"\x01"), 1600
            ),
        ),
        (
            "file name not UTF-8",
            forged_sealed("f6", envelope(file_kind, 0, b"\x02\xc3\x28", b"\x00"), 1600),
        ),
        (
            "file name with slash",
            forged_sealed("f7", envelope(file_kind, 0, b"\x03a/b", b"\x00"), 1600),
        ),
        ("file name '..'", forged_sealed("f8", envelope(file_kind, 0, b"\x02..", b"\x00"), 1600)),
        (
            "media type not ASCII",
            forged_sealed("f9", envelope(text_kind, 0, b"\x02\xc3\xa9"), 1600),
        ),
        ("media type of NUL bytes", forged_sealed("f10", envelope(text_kind, 0) + b"\xff", 1600)),
    ]
    second = padded_length(CHUNK_SIZE + 100)
    env = envelope(text_kind, second - 10, b"\x00")
    full = env + pattern(second - len(env))
    forged_streams = [
        (
            "final tag on the first of two chunks",
            forged_stream(
                "s1",
                [
                    (full[:CHUNK_SIZE], crypto_secretstream_xchacha20poly1305_TAG_FINAL),
                    (full[CHUNK_SIZE:], crypto_secretstream_xchacha20poly1305_TAG_FINAL),
                ],
                second,
            ),
            "DecryptionFailed",
        ),
        (
            "no final tag on the last chunk",
            forged_stream(
                "s2",
                [
                    (full[:CHUNK_SIZE], crypto_secretstream_xchacha20poly1305_TAG_MESSAGE),
                    (full[CHUNK_SIZE:], crypto_secretstream_xchacha20poly1305_TAG_MESSAGE),
                ],
                second,
            ),
            "DecryptionFailed",
        ),
        (
            "non-zero padding in the last chunk",
            forged_stream(
                "s3",
                [
                    (
                        envelope(text_kind, 5, b"\x00") + b"hello" + b"\x00" * 1584 + b"\x07",
                        crypto_secretstream_xchacha20poly1305_TAG_FINAL,
                    )
                ],
                1600,
            ),
            "FormatError",
        ),
    ]
    plaintext_cases = [{"name": n, **blob, "error": "FormatError"} for n, blob in forged] + [
        {"name": n, **blob, "error": e} for n, blob, e in forged_streams
    ]

    kdf = struct.pack(">II16s", 2, 64 << 20, bytes(16))
    # name, header bytes, error or None, and for a valid header its length
    headers: list[tuple[str, str, str | None, int | None]] = [
        ("empty", "", "FormatError", None),
        ("magic prefix only", "894f54", "FormatError", None),
        ("wrong magic", header_hex(magic=b"OTS\x89"), "FormatError", None),
        ("version 2", header_hex(version=2), "UnsupportedVersion", None),
        ("version 255", header_hex(version=255), "UnsupportedVersion", None),
        ("suite 0", header_hex(suite=0), "UnsupportedVersion", None),
        ("suite 3", header_hex(suite=3), "UnsupportedVersion", None),
        ("flag bit 2", header_hex(flags=4), "UnsupportedVersion", None),
        # Flag bit 1: a binding follows the nonce (u8 length, then canonical ASCII).
        ("binding flag, no binding", header_hex(flags=2), "FormatError", None),
        ("binding of length 0", header_hex(flags=2, binding=b"\x00"), "FormatError", None),
        ("binding cut short", header_hex(flags=2, binding=b"\x10gitlab:g/p"), "FormatError", None),
        (
            "binding not canonical",
            header_hex(flags=2, binding=b"\x09github:a/"),
            "FormatError",
            None,
        ),
        (
            "binding with a bare ref",
            header_hex(flags=2, binding=b"\x0fgithub:a/b@main"),
            "FormatError",
            None,
        ),
        (
            "binding with a .. segment",
            header_hex(flags=2, binding=b"\x0bgitlab:g/.."),
            "FormatError",
            None,
        ),
        ("binding, GitHub", header_hex(flags=2, binding=b"\x0agithub:a/b"), None, 66),
        (
            "binding and passphrase, GitLab",
            header_hex(flags=3, kdf=kdf, binding=b"\x0fgitlab:g/p@main"),
            None,
            79 + 16,
        ),
        ("flag bit 7", header_hex(flags=0x80), "UnsupportedVersion", None),
        # Version, suite and flags are checked as soon as their byte is present.
        ("version 2, cut after the version", "894f545302", "UnsupportedVersion", None),
        ("unknown suite, cut after the suite", "894f54530109", "UnsupportedVersion", None),
        ("unknown suite, cut after the flags", "894f5453010900", "UnsupportedVersion", None),
        ("unknown flag, cut after the flags", "894f5453010180", "UnsupportedVersion", None),
        ("version 1, cut after the version", "894f545301", "FormatError", None),
        ("valid start, cut after the flags", "894f5453010100", "FormatError", None),
        ("truncated fixed part", header_hex()[: 2 * 20], "FormatError", None),
        ("truncated nonce", header_hex()[: 2 * 54], "FormatError", None),
        ("passphrase flag, truncated parameters", header_hex(flags=1), "FormatError", None),
        ("padded length 0", header_hex(padded=0), "FormatError", None),
        ("padded length 1536 (below the floor)", header_hex(padded=1536), "FormatError", None),
        ("padded length 1599", header_hex(padded=1599), "FormatError", None),
        ("padded length 1601", header_hex(padded=1601), "FormatError", None),
        ("suite 1, padded length 132 MiB", header_hex(padded=132 << 20), "FormatError", None),
        (
            "padded length 2^40 + 2^34",
            header_hex(suite=2, padded=(1 << 40) + (1 << 34)),
            "FormatError",
            None,
        ),
        ("padded length 2^64 - 1", header_hex(padded=(1 << 64) - 1), "FormatError", None),
        ("valid, no passphrase", header_hex(), None, 55),
        ("valid, trailing ciphertext ignored", header_hex() + "ff" * 10, None, 55),
        ("valid, passphrase", header_hex(flags=1, kdf=kdf), None, 79),
        ("valid, suite 1, 128 MiB", header_hex(padded=128 << 20), None, 55),
        ("valid, suite 2, 132 MiB", header_hex(suite=2, padded=132 << 20), None, 55),
        ("valid, suite 2, 2^40", header_hex(suite=2, padded=1 << 40), None, 55),
    ]
    header_cases = [
        {"name": n, "header": h, "error": e, **({"length": length} if e is None else {})}
        for n, h, e, length in headers
    ]

    link_id, link_key = b64.encode(det("link/id", 16)), b64.encode(det("link/key", 32))
    good = f"{SERVER}/s/{link_id}#{link_key}"
    # Accepted texts carry what they parse to: the server's base URL (None for a bare id#key),
    # the id and the key.
    accepted = [
        (good, SERVER),
        (f"  {good}\n", SERVER),
        (f"{link_id}#{link_key}", None),
        (
            f"https://ots.example.com:8443/base/path/s/{link_id}#{link_key}",
            "https://ots.example.com:8443/base/path",
        ),
        (f"http://127.0.0.1:8000/s/{link_id}#{link_key}", "http://127.0.0.1:8000"),
        (f"http://localhost/s/{link_id}#{link_key}", "http://localhost"),
        (f"http://[::1]:9/s/{link_id}#{link_key}", "http://[::1]:9"),
    ]
    expected = {"id": det("link/id", 16).hex(), "key": det("link/key", 32).hex()}
    links = [
        ("", "BadLink"),
        (f"{SERVER}/s/{link_id}", "BadLink"),
        (f"{SERVER}/s/{link_id}#", "BadLink"),
        (f"http://ots.example.com/s/{link_id}#{link_key}", "BadLink"),
        (f"ftp://ots.example.com/s/{link_id}#{link_key}", "BadLink"),
        (f"{SERVER}/s/{link_id}?x=1#{link_key}", "BadLink"),
        (f"https://user@ots.example.com/s/{link_id}#{link_key}", "BadLink"),
        (f"{SERVER}/s/{link_id}#{link_key}=", "BadLink"),
        (f"{SERVER}/s/{link_id}==#{link_key}", "BadLink"),
        (f"{SERVER}/s/{link_id}#{link_key}.", "BadLink"),
        (f"{SERVER}/s/{link_id}#{link_key[:-1]}", "BadLink"),
        (f"{SERVER}/s/{link_id[:-1]}#{link_key}", "BadLink"),
        (f"{SERVER}/s/{link_id}#{link_key[:-1]}B", "BadLink"),
        (f"{SERVER}/s/{link_id}#{link_key}#{link_key}", "BadLink"),
        (f"{SERVER}/x/{link_id}#{link_key}", "BadLink"),
        (f"{SERVER}/s/{link_id}/#{link_key}", "BadLink"),
        (f"ots.example.com/s/{link_id}#{link_key}", "BadLink"),
        ("otsr_" + link_key, "BadLink"),
        (f"{SERVER}/s/{link_id}#{link_key[:20]} {link_key[20:]}", "BadLink"),
    ]
    link_cases = [
        {"text": t, "error": None, "server": server, **expected} for t, server in accepted
    ] + [{"text": t, "error": e} for t, e in links]

    base64_cases = [
        {"text": "", "length": None, "hex": ""},
        {"text": "AA", "length": 1, "hex": "00"},
        {"text": "AAE", "length": None, "hex": "0001"},
        {"text": "-_8", "length": None, "hex": "fbff"},
        {"text": "AB", "length": 1, "error": "FormatError", "why": "non-zero trailing bits"},
        {"text": "AA==", "length": None, "error": "FormatError", "why": "padding"},
        {"text": "A", "length": None, "error": "FormatError", "why": "impossible length"},
        {"text": "+/8", "length": None, "error": "FormatError", "why": "standard alphabet"},
        {"text": "AA AA", "length": None, "error": "FormatError", "why": "whitespace"},
        {"text": "AAA", "length": 1, "error": "FormatError", "why": "wrong length"},
    ]
    return {
        "blob_mutations": blob_cases,
        "forged_plaintext": plaintext_cases,
        "headers": header_cases,
        "links": link_cases,
        "base64url": base64_cases,
    }


# --- requests (docs/FORMAT.md, Requests) -----------------------------------------------------


def x25519_public(private_key: bytes) -> bytes:
    from nacl.bindings import crypto_scalarmult_base

    public: bytes = crypto_scalarmult_base(private_key)
    return public


def sealed_box(message: bytes, public_key: bytes, ephemeral_private_key: bytes) -> bytes:
    """``crypto_box_seal`` with a chosen ephemeral key (libsodium draws it at random):
    ``epk || crypto_box_easy(message, BLAKE2b-192(epk || pk), pk, esk)``."""
    from nacl.bindings import crypto_box

    epk = x25519_public(ephemeral_private_key)
    nonce = hashlib.blake2b(epk + public_key, digest_size=24).digest()
    boxed: bytes = crypto_box(message, nonce, public_key, ephemeral_private_key)
    return epk + boxed


def requests() -> dict[str, Any]:
    """The request vector (a request, its proofs, one answer and the secret it names), the
    request links a parser accepts or refuses, and sealed answers an opener refuses."""
    from nacl.bindings import crypto_box_seal_open

    request_id = det("request/id", 16)
    private_key = det("request/private-key", 32)
    public_key = x25519_public(private_key)
    ephemeral = det("request/ephemeral-private-key", 32)
    secret_id, secret_key = det("request/secret/id", 16), det("request/secret/key", 32)
    nonce = det("request/secret/nonce", 24)
    body = "the answer: correct horse battery staple"
    sealed_secret = seal(
        body.encode(),
        id=secret_id,
        key=secret_key,
        meta=Meta(),
        passphrase=None,
        opslimit=INTERACTIVE[0],
        memlimit=INTERACTIVE[1],
        suite=Suite.SEALED,
        random=io.BytesIO(nonce).read,
    )
    sealed = sealed_box(secret_id + secret_key, public_key, ephemeral)
    assert crypto_box_seal_open(sealed, public_key, private_key) == secret_id + secret_key
    answer, owner = answer_proof(request_id, public_key), owner_proof(request_id, private_key)
    vector = {
        "name": "request",
        "description": "a request, its proofs, its sealed answer and the suite-1 secret it names",
        "request_id": request_id.hex(),
        "private_key": private_key.hex(),
        "public_key": public_key.hex(),
        "link": build_request_link(SERVER, request_id, public_key),
        "rsalt": request_salt(request_id).hex(),
        "answer_proof": answer.hex(),
        "answer_verifier": verifier(answer).hex(),
        "owner_proof": owner.hex(),
        "owner_verifier": verifier(owner).hex(),
        "ephemeral_private_key": ephemeral.hex(),
        "sealed": sealed.hex(),
        "secret": {
            "id": secret_id.hex(),
            "key": secret_key.hex(),
            "link": build_link(SERVER, secret_id, secret_key),
            "suite": 1,
            "meta": {"kind": "text", "name": None, "media_type": None},
            "body": {"utf8": body},
            "random": nonce.hex(),
            "blob": sealed_secret.blob.hex(),
        },
    }

    id_text, pk_text = b64.encode(request_id), b64.encode(public_key)
    good = f"{SERVER}/r/{id_text}#{pk_text}"
    accepted = [
        (good, SERVER),
        (f" <{good}>\n", SERVER),
        (f"{id_text}#{pk_text}", None),
        (
            f"https://ots.example.com:8443/base/r/{id_text}#{pk_text}",
            "https://ots.example.com:8443/base",
        ),
        (f"http://127.0.0.1:8000/r/{id_text}#{pk_text}", "http://127.0.0.1:8000"),
    ]

    def with_key(public: bytes) -> str:
        return f"{SERVER}/r/{id_text}#{b64.encode(public)}"

    p = (1 << 255) - 19
    rejected = [
        (with_key(bytes(32)), "public key 0: a low-order point"),
        (with_key(bytes([1]) + bytes(31)), "public key 1: a low-order point"),
        (
            with_key(
                bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
            ),
            "a point of order 8",
        ),
        (with_key((p - 1).to_bytes(32, "little")), "p - 1: a low-order point"),
        (with_key(p.to_bytes(32, "little")), "p, which is 0: a low-order point"),
        (with_key(bytes(31) + b"\x80"), "0 with the top bit set (X25519 ignores that bit)"),
        (good[:-1], "public key cut short (42 characters)"),
        (good.split("#")[0], "no fragment"),
        (good.split("#")[0] + "#", "empty fragment"),
        (good + "=", "padding"),
        (good.replace(id_text, id_text[:-1]), "request id cut short"),
        (good.replace("/r/", "/s/"), "a secret link, not a request link"),
        (good.replace("/r/", "/x/"), "another path segment"),
        (good.replace("https://", "http://"), "http to a host that is not loopback"),
        (good.replace("/r/", "/r/?a=b&"), "a query string"),
    ]
    links = [
        {
            "text": text,
            "error": None,
            "server": server,
            "request_id": request_id.hex(),
            "public_key": public_key.hex(),
        }
        for text, server in accepted
    ] + [{"text": text, "error": "BadLink", "why": why} for text, why in rejected]

    other_private = det("request/other-private-key", 32)
    other_public = x25519_public(other_private)

    def flipped(offset: int, mask: int) -> bytes:
        data = bytearray(sealed)
        data[offset] ^= mask
        return bytes(data)

    bad_sealed = [
        ("empty", b"", private_key),
        ("truncated by one", sealed[:-1], private_key),
        ("one byte appended", sealed + b"\x00", private_key),
        ("ephemeral public key bit", flipped(0, 1), private_key),
        ("tag bit", flipped(32, 0x80), private_key),
        ("ciphertext bit", flipped(95, 1), private_key),
        ("opened with another private key", sealed, other_private),
        (
            "sealed to another public key",
            sealed_box(secret_id + secret_key, other_public, ephemeral),
            private_key,
        ),
        (
            "authentic, but 47 bytes of plaintext",
            sealed_box(secret_id + secret_key[:-1], public_key, ephemeral),
            private_key,
        ),
        (
            "authentic, but 49 bytes of plaintext",
            sealed_box(secret_id + secret_key + b"\x00", public_key, ephemeral),
            private_key,
        ),
    ]
    sealed_cases = [
        {"name": name, "sealed": data.hex(), "private_key": key.hex(), "error": "TamperedAnswer"}
        for name, data, key in bad_sealed
    ]
    return {
        "format": "ots v1 requests: vectors and inputs that MUST be rejected "
        "(docs/FORMAT.md, Requests and Test vectors)",
        "server": SERVER,
        "vectors": [vector],
        "links": links,
        "sealed": sealed_cases,
    }


def main() -> None:
    files: dict[str, bytes] = {}
    vectors = golden(files)
    (HERE / BLOB_DIR).mkdir(exist_ok=True)
    for path, blob in files.items():
        (HERE / path).write_bytes(blob)
    write(
        "v1-blobs.json",
        {
            "format": "ots secret format v1: golden vectors (docs/FORMAT.md, Test vectors)",
            "server": SERVER,
            "vectors": vectors,
        },
    )
    write(
        "v1-malformed.json",
        {"format": "ots secret format v1: inputs that MUST be rejected", **malformed(vectors)},
    )
    write("v1-requests.json", requests())


def write(name: str, data: dict[str, Any]) -> None:
    (HERE / name).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
