"""Streams: seal_stream from a file-like source, open_stream from pieces of any size."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ots_cli.core.crypto import Keys, derive_keys, open_blob, open_stream, seal, seal_stream
from ots_cli.core.envelope import Meta
from ots_cli.core.format import CHUNK_SIZE, Header, Suite, decode_header
from ots_cli.core.stream import Pieces, ciphertext_chunk_sizes
from ots_cli.errors import DecryptionFailed, FormatError, UnsupportedVersion

from .conftest import body_of, drain, fast_argon2, split

ID = bytes(range(16))
KEY = bytes(range(32, 64))
REJECTIONS = (FormatError, UnsupportedVersion, DecryptionFailed)


class Trickle(io.RawIOBase):
    """A raw source that returns at most ``step`` bytes per read, like a pipe."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step, self._offset = data, step, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self._step, len(self._data) - self._offset)
        buffer[:size] = self._data[self._offset : self._offset + size]
        self._offset += size
        return size


def _sealed_stream(body: bytes, passphrase: str | None = None, meta: Meta | None = None) -> bytes:
    sealed = seal_stream(
        io.BytesIO(body),
        len(body),
        id=ID,
        key=KEY,
        meta=meta or Meta(),
        passphrase=passphrase,
        opslimit=2,
        memlimit=64 << 20,
        argon2=fast_argon2,
    )
    blob = b"".join(sealed.chunks)
    assert len(blob) == sealed.length
    return blob


def _keys(blob: bytes, passphrase: str | None = None) -> Keys:
    header, _ = decode_header(blob)
    return derive_keys(header, KEY, passphrase, argon2=fast_argon2)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, 256 * 1024),
    st.lists(st.integers(1, 100_000), min_size=1, max_size=5),
    st.none() | st.just("pw"),
)
def test_stream_round_trip_with_any_piece_sizes(
    size: int, piece_sizes: list[int], passphrase: str | None
) -> None:
    body = body_of(size, seed=size)
    blob = _sealed_stream(body, passphrase, Meta("file", "x.bin"))
    keys = _keys(blob, passphrase)
    opened = open_stream(split(blob, piece_sizes), id=ID, keys=keys)
    assert opened.meta == Meta("file", "x.bin")
    assert opened.body_length == size
    chunks = list(opened.chunks)
    assert b"".join(chunks) == body
    assert all(chunks)
    assert all(len(c) <= CHUNK_SIZE for c in chunks)
    assert open_blob(blob, id=ID, keys=keys).body == body


def test_seal_stream_equals_seal_with_the_same_randomness() -> None:
    body = body_of(150_000)
    randomness = bytes(range(24))
    streamed = seal_stream(io.BytesIO(body), len(body), id=ID, key=KEY, random=lambda n: randomness)
    whole = seal(body, id=ID, key=KEY, suite=Suite.STREAM, random=lambda n: randomness)
    assert b"".join(streamed.chunks) == whole.blob
    assert streamed.header == whole.header
    assert streamed.header_bytes == whole.header_bytes
    assert streamed.keys == whole.keys


def test_seal_stream_is_lazy_and_reads_in_chunks() -> None:
    source = io.BytesIO(body_of(3 * CHUNK_SIZE))
    sealed = seal_stream(source, 3 * CHUNK_SIZE, id=ID, key=KEY)
    assert source.tell() == 0
    chunks = iter(sealed.chunks)
    assert next(chunks) == sealed.header_bytes
    assert source.tell() == 0
    first = next(chunks)
    assert len(first) == CHUNK_SIZE + 17
    assert source.tell() == CHUNK_SIZE - 10  # the envelope fills the rest of the first chunk
    assert sum(map(len, chunks)) + len(first) + len(sealed.header_bytes) == sealed.length


def test_seal_stream_handles_short_reads() -> None:
    body = body_of(200_000)
    sealed = seal_stream(Trickle(body, 999), len(body), id=ID, key=KEY)  # type: ignore[arg-type]
    blob = b"".join(sealed.chunks)
    assert open_blob(blob, id=ID, keys=sealed.keys).body == body


@pytest.mark.parametrize(
    ("announced", "actual"),
    [
        (100, 99),
        (100, 101),
        (0, 1),
        (200_000, 150_000),
        (200_000, 200_001),
        (131_062, 131_063),  # envelope + body fill two chunks exactly: no padding to hide behind
        (131_062, 131_061),
        (65_526, 65_527),  # exactly one chunk
    ],
)
def test_seal_stream_refuses_a_changing_input(announced: int, actual: int) -> None:
    sealed = seal_stream(io.BytesIO(body_of(actual)), announced, id=ID, key=KEY)
    emitted: list[bytes] = []
    with pytest.raises(FormatError, match="the input changed while it was read"):
        emitted.extend(sealed.chunks)
    assert emitted  # the header and any complete chunks before the change
    # The final (tagged) chunk is never emitted, so no complete stream can be stored.
    assert sum(map(len, emitted)) < sealed.length


def _three_chunk_blob() -> tuple[bytes, bytes, list[bytes]]:
    body = body_of(2 * CHUNK_SIZE + 5000, seed=3)
    blob = _sealed_stream(body)
    header_length = len(decode_header(blob)[0].encode())
    chunks, offset = [], header_length
    for size in ciphertext_chunk_sizes(decode_header(blob)[0].padded_length):
        chunks.append(blob[offset : offset + size])
        offset += size
    assert offset == len(blob)
    assert len(chunks) == 3
    return body, blob[:header_length], chunks


@pytest.mark.parametrize(
    "order",
    [[1, 0, 2], [0, 2, 1], [0, 2], [0, 1], [1, 2], [0, 0, 1, 2], [0, 1, 1, 2], [0, 1, 2, 2], [2]],
)
def test_reordered_dropped_and_repeated_chunks(order: list[int]) -> None:
    body, header, chunks = _three_chunk_blob()
    keys = _keys(header + b"".join(chunks))
    blob = header + b"".join(chunks[i] for i in order)
    collected, error = drain(split(blob, [4096]), id=ID, keys=keys)
    assert isinstance(error, DecryptionFailed)
    assert body.startswith(collected)
    assert len(collected) < len(body)
    with pytest.raises(DecryptionFailed):
        open_blob(blob, id=ID, keys=keys)


@pytest.mark.parametrize("extra", [b"\x00", b"x" * 17, b"y" * (CHUNK_SIZE + 17)])
def test_trailing_bytes_withhold_the_last_piece(extra: bytes) -> None:
    body, header, chunks = _three_chunk_blob()
    blob = header + b"".join(chunks)
    keys = _keys(blob)
    collected, error = drain(split(blob + extra, [CHUNK_SIZE]), id=ID, keys=keys)
    assert isinstance(error, DecryptionFailed)
    assert "extra bytes" in str(error)
    assert body.startswith(collected)
    assert len(collected) < len(body)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_bit_flip_or_truncation_of_a_stream(data: st.DataObject) -> None:
    body, header, chunks = _three_chunk_blob()
    blob = header + b"".join(chunks)
    keys = _keys(blob)
    if data.draw(st.booleans()):
        bit = data.draw(st.integers(0, len(blob) * 8 - 1))
        mutated = bytearray(blob)
        mutated[bit // 8] ^= 1 << (bit % 8)
        candidate = bytes(mutated)
    else:
        candidate = blob[: data.draw(st.integers(0, len(blob) - 1))]
    pieces = data.draw(st.lists(st.integers(1, 70_000), min_size=1, max_size=4))
    collected, error = drain(split(candidate, pieces), id=ID, keys=keys)
    assert isinstance(error, REJECTIONS)
    assert body.startswith(collected)
    assert len(collected) < len(body)


def test_meta_is_known_before_the_body_is_read() -> None:
    body, header, chunks = _three_chunk_blob()
    pulled: list[int] = []

    def source() -> Iterator[bytes]:
        yield header
        for index, chunk in enumerate(chunks):
            pulled.append(index)
            yield chunk

    opened = open_stream(source(), id=ID, keys=_keys(header + b"".join(chunks)))
    assert pulled == [0]
    assert opened.meta == Meta()
    assert opened.body_length == len(body)
    assert b"".join(opened.chunks) == body
    assert pulled == [0, 1, 2]


def test_each_piece_is_released_after_the_next_chunk_authenticates() -> None:
    body, header, chunks = _three_chunk_blob()
    pulled: list[int] = []

    def source() -> Iterator[bytes]:
        yield header
        for index, chunk in enumerate(chunks):
            pulled.append(index)
            yield chunk

    opened = open_stream(source(), id=ID, keys=_keys(header + b"".join(chunks)))
    iterator = iter(opened.chunks)
    first = next(iterator)
    assert pulled == [0, 1]
    assert body.startswith(first)
    second = next(iterator)
    assert pulled == [0, 1, 2]
    last = next(iterator)
    assert first + second + last == body
    assert next(iterator, None) is None


def test_open_stream_reads_suite_1_blobs_whole() -> None:
    body = body_of(150_000)
    sealed = seal(body, id=ID, key=KEY, meta=Meta("file", "a"))
    opened = open_stream(split(sealed.blob, [1000]), id=ID, keys=sealed.keys)
    assert opened.meta == Meta("file", "a")
    assert opened.body_length == len(body)
    chunks = list(opened.chunks)
    assert b"".join(chunks) == body
    assert max(map(len, chunks)) == CHUNK_SIZE
    empty = seal(b"", id=ID, key=KEY)
    assert list(open_stream([empty.blob], id=ID, keys=empty.keys).chunks) == []
    with pytest.raises(DecryptionFailed, match="truncated"):
        open_stream([sealed.blob[:-1]], id=ID, keys=sealed.keys)
    with pytest.raises(DecryptionFailed, match="extra bytes"):
        open_stream([sealed.blob, b"\x00"], id=ID, keys=sealed.keys)


def _hostile(header: bytes, pulled: list[int], limit: int = 4 << 20) -> Iterator[bytes]:
    """A server that sends ``header`` and then zeros without end, counting what it sent.

    Reading the header may look one piece ahead (a 55-byte header is shorter than the longest
    one); anything more means the reader is buffering what the header announces.
    """
    yield header
    while True:
        assert sum(pulled) < limit, "open_stream buffered far past the header"
        pulled.append(1 << 20)
        yield bytes(1 << 20)


@pytest.mark.parametrize("padded", [1 << 40, (1 << 27) + (1 << 22)])
def test_open_stream_refuses_a_huge_suite_1_header_before_buffering(padded: int) -> None:
    # Suite 1 can only be authenticated whole; a hostile header must not make the reader
    # buffer up to what it announces (up to 1 TiB). Larger than 128 MiB is a format error.
    header = Header(suite=Suite.SEALED, id=ID, padded_length=1600, nonce=bytes(24), kdf=None)
    forged = header.encode()[:23] + padded.to_bytes(8, "big") + header.encode()[31:]
    pulled: list[int] = []
    with pytest.raises(FormatError, match="suite-1 secret larger"):
        open_stream(_hostile(forged, pulled), id=ID, keys=_keys(header.encode()))
    assert len(pulled) <= 1


@pytest.mark.parametrize("suite", list(Suite))
def test_open_stream_max_size_is_checked_before_the_body_is_read(suite: Suite) -> None:
    sealed = seal(body_of(70_000), id=ID, key=KEY, suite=suite)
    size = len(sealed.blob)
    opened = open_stream(split(sealed.blob, [4096]), id=ID, keys=sealed.keys, max_size=size)
    assert b"".join(opened.chunks) == body_of(70_000)
    pulled: list[int] = []
    with pytest.raises(FormatError, match="more data than expected"):
        open_stream(
            _hostile(sealed.header_bytes, pulled), id=ID, keys=sealed.keys, max_size=size - 1
        )
    assert len(pulled) <= 1
    # A hostile suite-1 header within the format's 128 MiB bound is refused the same way.
    largest = Header(suite=Suite.SEALED, id=ID, padded_length=1 << 27, nonce=bytes(24), kdf=None)
    pulled.clear()
    with pytest.raises(FormatError, match="more data than expected"):
        open_stream(_hostile(largest.encode(), pulled), id=ID, keys=sealed.keys, max_size=1 << 20)
    assert len(pulled) <= 1
    with pytest.raises(ValueError, match="negative"):
        open_stream([sealed.blob], id=ID, keys=sealed.keys, max_size=-1)


def test_open_stream_ignores_empty_pieces_and_accepts_bytes_likes() -> None:
    blob = _sealed_stream(b"hello")
    pieces = [b"", bytearray(blob[:3]), b"", memoryview(blob[3:100]), blob[100:], b""]
    opened = open_stream(pieces, id=ID, keys=_keys(blob))  # type: ignore[arg-type]
    assert b"".join(opened.chunks) == b"hello"


def test_open_stream_header_errors() -> None:
    blob = _sealed_stream(b"hello")
    keys = _keys(blob)
    with pytest.raises(FormatError, match="truncated"):
        open_stream([], id=ID, keys=keys)
    with pytest.raises(FormatError, match="truncated"):
        open_stream([blob[:40]], id=ID, keys=keys)
    with pytest.raises(UnsupportedVersion):
        open_stream([blob[:4], b"\x09", blob[5:]], id=ID, keys=keys)
    with pytest.raises(DecryptionFailed, match="another id"):
        open_stream([blob], id=bytes(16), keys=keys)
    with pytest.raises(DecryptionFailed, match="truncated"):
        open_stream([blob[:60]], id=ID, keys=keys)


def test_pieces_regroups() -> None:
    pieces = Pieces(iter([b"ab", b"", b"cdef", b"g"]))
    assert pieces.peek(3) == b"abc"
    assert pieces.take(1) == b"a"
    assert pieces.take(4) == b"bcde"
    assert not pieces.at_end()
    assert pieces.take(5) == b"fg"
    assert pieces.at_end()
    assert pieces.take(3) == b""
