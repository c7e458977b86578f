"""Constant memory: a 256 MiB stream is sealed and opened in a subprocess under 64 MiB RSS."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

SIZE = 256 << 20
LIMIT = 64 << 20

# Peak RSS of this process image. ru_maxrss is not enough on Linux: exec() carries the
# parent's high-water mark over (vfork children inherit pytest's whole RSS), while VmHWM
# belongs to the new image alone.
PEAK_RSS = textwrap.dedent(
    """
    import resource

    def peak_rss():
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    """
)

SCRIPT = PEAK_RSS + textwrap.dedent(
    """
    import hashlib, io, json, sys

    from ots_cli.core.crypto import open_stream, seal_stream

    SIZE = int(sys.argv[1])
    BLOCK = hashlib.sha256(b"block").digest() * 2048  # 64 KiB of fixed, non-zero data


    class Generated(io.RawIOBase):
        # A source that produces SIZE bytes on demand, never holding more than one read.
        def __init__(self):
            self.left, self.digest = SIZE, hashlib.sha256()

        def readable(self):
            return True

        def readinto(self, buffer):
            size = min(len(buffer), self.left, len(BLOCK) - 7)
            data = BLOCK[:size]
            buffer[:size] = data
            self.digest.update(data)
            self.left -= size
            return size


    def odd_pieces(chunks):
        # Regroup the ciphertext into 50000-byte pieces, as an HTTP body might arrive.
        pending = b""
        for chunk in chunks:
            pending += chunk
            while len(pending) >= 50000:
                yield pending[:50000]
                pending = pending[50000:]
        if pending:
            yield pending


    source = Generated()
    key = bytes(range(32))
    sealed = seal_stream(source, SIZE, id=bytes(16), key=key)
    opened = open_stream(odd_pieces(sealed.chunks), id=bytes(16), keys=sealed.keys)
    received, digest = 0, hashlib.sha256()
    for chunk in opened.chunks:
        received += len(chunk)
        digest.update(chunk)
    print(json.dumps({
        "received": received,
        "same": digest.digest() == source.digest.digest(),
        "max_rss_bytes": peak_rss(),
    }))
    """
)


@pytest.mark.slow
def test_256_mib_stream_in_constant_memory() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(SIZE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout)
    assert report["received"] == SIZE
    assert report["same"] is True
    assert report["max_rss_bytes"] < LIMIT, report


@pytest.mark.slow
def test_the_measurement_can_fail() -> None:
    # Holding the whole body in memory must blow the same limit, or the test above proves nothing.
    hungry = PEAK_RSS + f"import os\ndata = os.urandom({SIZE // 2})\nprint(peak_rss())\n"
    result = subprocess.run(
        [sys.executable, "-c", hungry], capture_output=True, text=True, timeout=60, check=True
    )
    assert int(result.stdout) > LIMIT
