"""Helpers shared by the core tests: a fast Argon2id stand-in and stream consumers."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator

from ots_cli.core.crypto import Keys, open_stream
from ots_cli.errors import OtsError


def fast_argon2(size: int, password: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    """A fast stand-in for Argon2id: same inputs, distinct outputs, no cost."""
    material = b"|".join([password, salt, str(opslimit).encode(), str(memlimit).encode()])
    return hashlib.sha256(material).digest()[:size]


def body_of(length: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(length)


def split(data: bytes, sizes: Iterable[int]) -> Iterator[bytes]:
    """Cut ``data`` into pieces of the given sizes (cycled), like an HTTP response body."""
    sizes = list(sizes) or [len(data) or 1]
    offset, index = 0, 0
    while offset < len(data):
        size = max(1, sizes[index % len(sizes)])
        yield data[offset : offset + size]
        offset += size
        index += 1


def drain(blob_pieces: Iterable[bytes], *, id: bytes, keys: Keys) -> tuple[bytes, OtsError | None]:
    """Open a stream and collect what it yields until it ends or raises."""
    collected: list[bytes] = []
    try:
        opened = open_stream(blob_pieces, id=id, keys=keys)
        for chunk in opened.chunks:
            collected.append(chunk)
    except OtsError as error:
        return b"".join(collected), error
    return b"".join(collected), None
