"""Strict decoding of what clients send: base64url values, ids, receipts and small JSON bodies.

Everything here is pure and raises :class:`~ots_server.errors.ApiError` (400) for anything
that is not exactly the documented form: non-canonical base64url (padding, wrong length,
non-zero trailing bits), duplicate JSON keys, NaN, unknown fields, booleans where an integer
is expected. Nothing is trimmed, clamped or guessed. Error details name the field but never
echo the value.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import re
import threading
from typing import Any

from ots_server.errors import ApiError, bad_request

ID_BYTES = 16
PROOF_BYTES = 32
RECEIPT_PREFIX = "otsr_"
MAX_JSON_BYTES = 4096
#: Receipt tokens one batch status request may carry, and the most bytes its body may take
#: (100 tokens of 48 characters, quoted and comma-separated, with room for whitespace).
MAX_BATCH_RECEIPTS = 100
MAX_BATCH_JSON_BYTES = 8192

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


# binascii directly, not base64.urlsafe_*: the same codec without three Python-level wrappers
# per call (ids, proofs and receipts are coded several times per request).
_TO_URL = bytes.maketrans(b"+/", b"-_")
_FROM_URL = bytes.maketrans(b"-_", b"+/")


def b64encode(raw: bytes) -> str:
    return binascii.b2a_base64(raw, newline=False).translate(_TO_URL).rstrip(b"=").decode("ascii")


def b64decode(text: str, size: int) -> bytes | None:
    """Decode canonical unpadded base64url of exactly ``size`` bytes, else ``None``."""
    if len(text) != (size * 4 + 2) // 3 or _B64URL.fullmatch(text) is None:
        return None
    try:
        raw = binascii.a2b_base64(
            (text + "=" * (-len(text) % 4)).encode("ascii").translate(_FROM_URL)
        )
    except (binascii.Error, ValueError):
        return None
    if len(raw) != size or b64encode(raw) != text:
        return None
    return raw


def path_id(text: str) -> bytes | None:
    """The id from a URL path, or ``None`` (answered with the plain 404, store untouched)."""
    return b64decode(text, ID_BYTES)


def field_bytes(body: dict[str, Any], name: str, size: int) -> bytes:
    value = body.get(name)
    raw = b64decode(value, size) if isinstance(value, str) else None
    if raw is None:
        raise bad_request(f"{name}: expected {size} bytes as unpadded base64url")
    return raw


def optional_bytes(body: dict[str, Any], name: str, size: int) -> bytes | None:
    return None if body.get(name) is None else field_bytes(body, name, size)


def field_int(body: dict[str, Any], name: str) -> int | None:
    """An optional JSON integer (``true``/``false`` and floats are not integers)."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_request(f"{name}: expected an integer")
    return value


def proof_check(body: dict[str, Any], name: str) -> bytes:
    """``sha256(proof)``: the only form in which a proof goes further than this function."""
    return hashlib.sha256(field_bytes(body, name, PROOF_BYTES)).digest()


class RandomPool:
    """Bytes from ``os.urandom`` drawn :data:`POOL_BYTES` at a time, handed out once each.

    Why: ``os.urandom`` releases the GIL around its ``getrandom`` call, so one call per create
    hands the GIL to the SQLite writer thread (which wants it after every statement) and the
    event loop then waits for it back: a futex round trip per create, about a tenth of a pair's
    CPU in profiles (docs/request-path.md). The bytes are the kernel's CSPRNG output all the
    same; each is handed out once and zeroed in the pool as it goes, so the pool only ever
    holds the tokens of the next creates, never of past ones. A forked child starts with an
    empty pool (``os.register_at_fork``), so two processes never share bytes."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._pool = bytearray()
        self._at = 0
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._pool, self._at = bytearray(), 0
        self._lock = threading.Lock()

    def take(self, count: int) -> bytes:
        with self._lock:
            if self._at + count > len(self._pool):
                self._pool[:] = os.urandom(max(self._size, count))
                self._at = 0
            start, self._at = self._at, self._at + count
            raw = bytes(self._pool[start : self._at])
            self._pool[start : self._at] = bytes(count)
            return raw


#: Receipts of the next 128 creates, at most (32 bytes each).
POOL_BYTES = 4096
_random = RandomPool(POOL_BYTES)


def new_receipt() -> tuple[str, bytes]:
    """A fresh receipt token and the hash the store keeps."""
    raw = _random.take(32)
    return RECEIPT_PREFIX + b64encode(raw), hashlib.sha256(raw).digest()


def receipt_hash(body: dict[str, Any]) -> bytes:
    hashed = _receipt_token_hash(body.get("receipt"))
    if hashed is None:
        raise bad_request("receipt: expected otsr_ followed by 43 base64url characters")
    return hashed


def receipt_hashes(body: dict[str, Any]) -> list[bytes]:
    """The hashes of a batch's ``receipts`` (1..:data:`MAX_BATCH_RECEIPTS` tokens, in order,
    repeats allowed); more tokens than that is 422 ``too_many_receipts``."""
    values = body.get("receipts")
    if not isinstance(values, list) or not values:
        raise bad_request("receipts: expected a non-empty array of receipt tokens")
    if len(values) > MAX_BATCH_RECEIPTS:
        raise ApiError(
            422,
            "too_many_receipts",
            f"at most {MAX_BATCH_RECEIPTS} receipts per request",
            min=1,
            max=MAX_BATCH_RECEIPTS,
        )
    hashes = [_receipt_token_hash(value) for value in values]
    if any(hashed is None for hashed in hashes):
        raise bad_request("receipts: expected otsr_ followed by 43 base64url characters each")
    return [hashed for hashed in hashes if hashed is not None]


def _receipt_token_hash(value: object) -> bytes | None:
    raw = None
    if isinstance(value, str) and value.startswith(RECEIPT_PREFIX):
        raw = b64decode(value[len(RECEIPT_PREFIX) :], 32)
    return None if raw is None else hashlib.sha256(raw).digest()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError("duplicate key")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError("non-finite number")


#: What ``json.loads(text, object_pairs_hook=..., parse_constant=...)`` builds on every call.
_decoder = json.JSONDecoder(object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def parse_object(
    raw: bytes | bytearray, allowed: frozenset[str], required: frozenset[str]
) -> dict[str, Any]:
    """A UTF-8 JSON object with only ``allowed`` keys and all ``required`` ones."""
    try:
        value = _decoder.decode(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise bad_request("expected a UTF-8 JSON object without duplicate keys") from None
    if not isinstance(value, dict):
        raise bad_request("expected a JSON object")
    if not set(value) <= allowed:
        raise bad_request("unknown field; allowed: " + ", ".join(sorted(allowed)))
    missing = required - set(value)
    if missing:
        raise bad_request("missing field: " + ", ".join(sorted(missing)))
    return value
