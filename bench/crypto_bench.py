"""Benchmark: sealing and opening with ots vs the raw libsodium AEAD on the same bytes.

For each size, the same random body is encrypted and decrypted by
``crypto_aead_xchacha20poly1305_ietf_encrypt/decrypt`` (the baseline, no padding, no framing)
and by ots (``seal``/``open_blob`` for both suites, and ``seal_stream``/``open_stream`` for
suite 2 fed in 64 KiB pieces). Each measurement is repeated; the table shows medians and the
ratio of ots to the baseline of the same direction. The target is a ratio of at most 1.5.

Run from the repository root::

    python -m bench.crypto_bench            # 1 MiB and 64 MiB, the documented figures
    python -m bench.crypto_bench --quick    # smaller sizes, a few seconds
    python -m bench.crypto_bench --json     # machine-readable results
    python -m bench.crypto_bench --argon2   # Argon2id cost of the candidate parameters
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import nacl.pwhash.argon2id
from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
)

from ots_cli.core.crypto import Opened, Sealed, open_blob, open_stream, seal, seal_stream
from ots_cli.core.format import HEADER_LENGTH, Suite
from ots_cli.core.links import new_id_and_key

MIB = 1 << 20
PIECE = 64 * 1024


@dataclass(frozen=True)
class Row:
    size: int
    path: str
    direction: str
    median_s: float
    baseline_s: float

    @property
    def ratio(self) -> float:
        return self.median_s / self.baseline_s

    @property
    def mib_per_s(self) -> float:
        return self.size / MIB / self.median_s


def _median_time(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pieces(blob: bytes) -> Iterator[bytes]:
    view = memoryview(blob)
    for offset in range(0, len(blob), PIECE):
        yield view[offset : offset + PIECE].tobytes()


def _drain(chunks: Iterator[bytes]) -> int:
    return sum(len(chunk) for chunk in chunks)


def _measure_size(size: int, repeat: int) -> list[Row]:
    body = os.urandom(size)
    id_, key = new_id_and_key()
    nonce, ad = os.urandom(24), os.urandom(HEADER_LENGTH)
    raw_ct = crypto_aead_xchacha20poly1305_ietf_encrypt(body, ad, nonce, key)

    def raw_encrypt() -> bytes:
        return crypto_aead_xchacha20poly1305_ietf_encrypt(body, ad, nonce, key)

    def raw_decrypt() -> bytes:
        return crypto_aead_xchacha20poly1305_ietf_decrypt(raw_ct, ad, nonce, key)

    raw_seal, raw_open = _median_time(raw_encrypt, repeat), _median_time(raw_decrypt, repeat)
    rows: list[Row] = []
    for suite in (Suite.SEALED, Suite.STREAM):
        sealed = seal(body, id=id_, key=key, suite=suite)
        assert open_blob(sealed.blob, id=id_, keys=sealed.keys).body == body

        def seal_once(suite: Suite = suite) -> Sealed:
            return seal(body, id=id_, key=key, suite=suite)

        def open_once(sealed: Sealed = sealed) -> Opened:
            return open_blob(sealed.blob, id=id_, keys=sealed.keys)

        name = f"seal/open_blob suite {int(suite)}"
        rows += [
            Row(size, name, "seal", _median_time(seal_once, repeat), raw_seal),
            Row(size, name, "open", _median_time(open_once, repeat), raw_open),
        ]
    streamed = seal(body, id=id_, key=key, suite=Suite.STREAM)

    def stream_seal() -> int:
        return _drain(seal_stream(io.BytesIO(body), size, id=id_, key=key).chunks)

    def stream_open() -> int:
        return _drain(open_stream(_pieces(streamed.blob), id=id_, keys=streamed.keys).chunks)

    assert stream_open() == size
    name = "seal_stream/open_stream (64 KiB pieces)"
    rows += [
        Row(size, name, "seal", _median_time(stream_seal, repeat), raw_seal),
        Row(size, name, "open", _median_time(stream_open, repeat), raw_open),
    ]
    return rows


def run(sizes: list[int], repeat: int) -> list[Row]:
    """Measure every path for each size; rows in a stable order."""
    return [row for size in sizes for row in _measure_size(size, repeat)]


#: Argon2id parameters measured for the default-cost decision (opslimit, memlimit in MiB).
ARGON2_CANDIDATES = [
    (2, 64),
    (3, 64),
    (4, 64),
    (3, 256),
    (5, 256),
    (6, 256),
    (8, 256),
    (2, 512),
    (4, 512),
]


def argon2_table(repeat: int) -> str:
    """Median wall time of one Argon2id derivation for each candidate (1 thread, as libsodium)."""
    lines = ["| opslimit | memlimit | median |", "| ---: | ---: | ---: |"]
    for opslimit, mib in ARGON2_CANDIDATES:

        def derive(opslimit: int = opslimit, mib: int = mib) -> bytes:
            result: bytes = nacl.pwhash.argon2id.kdf(32, b"pw", bytes(16), opslimit, mib * MIB)
            return result

        lines.append(f"| {opslimit} | {mib} MiB | {_median_time(derive, repeat):.2f} s |")
    return "\n".join(lines)


def table(rows: list[Row]) -> str:
    lines = [
        "| size | path | direction | ots median | raw AEAD median | ratio | ots MiB/s |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        size = f"{row.size // MIB} MiB" if row.size >= MIB else f"{row.size // 1024} KiB"
        lines.append(
            f"| {size} | {row.path} | {row.direction} | {row.median_s * 1000:.1f} ms "
            f"| {row.baseline_s * 1000:.1f} ms | {row.ratio:.2f} | {row.mib_per_s:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="256 KiB and 4 MiB, fewer repeats")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions per measurement")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--argon2", action="store_true", help="measure Argon2id costs instead")
    args = parser.parse_args(argv)
    if args.argon2:
        print(argon2_table(args.repeat or 3))
        return 0
    sizes = [256 * 1024, 4 * MIB] if args.quick else [MIB, 64 * MIB]
    repeat = args.repeat or (5 if args.quick else 7)
    rows = run(sizes, repeat)
    if args.json:
        print(json.dumps([{**asdict(r), "ratio": r.ratio} for r in rows], indent=2))
    else:
        print(table(rows))
        print(f"\n{repeat} repetitions each; Python {sys.version.split()[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
