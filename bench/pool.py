"""Pre-built ots requests for the load generator: real secrets, sealed before the clock starts.

Every secret is sealed with the real ``ots_cli.core.crypto.seal`` under a fresh id and key, exactly
as ``ots share`` does for a 32-character secret (suite 1, padded to 1600 bytes), and its create
frame and reveal body are built the way ``ots_cli.api.client`` builds them: the meta carries the id,
the header length and ``sha256(link proof)``; the reveal body carries the link proof itself.

The pool file holds fixed-size records (``id | create frame | reveal body``) so a wrk thread
can seek to its own slice and read one record per request (bench/lua/ots.lua). Invariant: all
records of a pool have the same size; building one that would not raises.
"""

from __future__ import annotations

import json
import os
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ots_cli.core import b64
from ots_cli.core.crypto import seal
from ots_cli.core.links import new_id_and_key

#: Plaintext size of every benchmark secret (SnapPass gets passwords of the same size).
SECRET_CHARS = 32


@dataclass(frozen=True, slots=True)
class Prebuilt:
    """One sealed secret and the two requests that store and reveal it."""

    id: bytes
    header_length: int
    link_verifier: bytes
    blob: bytes
    create_frame: bytes
    reveal_body: bytes

    @property
    def id_text(self) -> str:
        return b64.encode(self.id)


@dataclass(frozen=True, slots=True)
class Pool:
    """A pool file and the layout bench/lua/ots.lua needs to read it."""

    path: Path
    count: int
    rec_size: int
    id_len: int
    create_len: int
    reveal_len: int
    blob_len: int

    def lua_args(self, mode: str, start: int, total: int, threads: int) -> list[str]:
        """The script arguments for ``total`` records from ``start``, split over threads."""
        if start + total > self.count:
            raise ValueError(f"the pool holds {self.count} secrets, {start + total} needed")
        layout = (self.rec_size, self.id_len, self.create_len, self.reveal_len)
        return [mode, str(self.path), *map(str, layout), str(start), str(total), str(threads)]


def prebuild() -> Prebuilt:
    """Seal one random secret and build its create frame and reveal body."""
    id, key = new_id_and_key()
    plaintext = secrets.token_urlsafe(SECRET_CHARS)[:SECRET_CHARS].encode()
    sealed = seal(plaintext, id=id, key=key)
    meta = {
        "id": b64.encode(id),
        "header_length": len(sealed.header_bytes),
        "link_verifier": b64.encode(sealed.keys.link_verifier),
    }
    meta_bytes = json.dumps(meta, separators=(",", ":")).encode()
    reveal = json.dumps({"proof": b64.encode(sealed.keys.link_proof)}, separators=(",", ":"))
    return Prebuilt(
        id=id,
        header_length=len(sealed.header_bytes),
        link_verifier=sealed.keys.link_verifier,
        blob=sealed.blob,
        create_frame=struct.pack(">I", len(meta_bytes)) + meta_bytes + sealed.blob,
        reveal_body=reveal.encode(),
    )


def prebuilt(count: int) -> Iterator[Prebuilt]:
    for _ in range(count):
        yield prebuild()


def write_pool(path: Path, secrets_: Iterator[Prebuilt] | list[Prebuilt], count: int) -> Pool:
    """Write ``count`` records; every record must have the layout of the first."""
    layout: tuple[int, int, int, int] | None = None
    written = 0
    with open(path, "wb", buffering=1 << 20) as out:
        for secret in secrets_:
            id_text = secret.id_text.encode()
            sizes = (len(id_text), len(secret.create_frame), len(secret.reveal_body))
            if layout is None:
                layout = (*sizes, len(secret.blob))
            elif sizes != layout[:3]:
                raise ValueError("pool records must all have the same size")
            out.write(id_text + secret.create_frame + secret.reveal_body)
            written += 1
            if written == count:
                break
    if layout is None or written != count:
        raise ValueError("not enough secrets for the pool")
    id_len, create_len, reveal_len, blob_len = layout
    return Pool(
        path=path,
        count=count,
        rec_size=id_len + create_len + reveal_len,
        id_len=id_len,
        create_len=create_len,
        reveal_len=reveal_len,
        blob_len=blob_len,
    )


def build_pool(path: Path, count: int) -> Pool:
    """A pool of ``count`` fresh secrets at ``path``."""
    return write_pool(path, prebuilt(count), count)


if __name__ == "__main__":  # a quick look: python -m bench.pool
    import time

    started = time.perf_counter()
    pool = build_pool(Path(os.devnull), 10_000)
    elapsed = time.perf_counter() - started
    print(f"{pool.count} secrets in {elapsed:.2f} s; record {pool.rec_size} bytes")
