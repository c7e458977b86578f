"""The core's value types (format.Record): equality, hashing, immutability, hidden fields.

They replaced frozen dataclasses to save start-up time, so these are the dataclass guarantees
the rest of ots relies on, checked for every type.
"""

from __future__ import annotations

import copy
import pickle

import pytest

from ots_cli.core.crypto import Opened, OpenedStream, Sealed, SealedStream, seal
from ots_cli.core.envelope import Meta
from ots_cli.core.format import Header, KdfParams, Record, Suite
from ots_cli.core.keyschedule import Keys
from ots_cli.core.links import Link

SECRET = b"\x8e" * 16 + b"TOP-SECRET-VALUE"  # in every hidden field below
KDF = KdfParams(2, 64 << 20, bytes(16))
HEADER = Header(Suite.STREAM, SECRET[:16], 1664, bytes(24), None)
KEYS = Keys(payload_key=SECRET, link_proof=SECRET + b"l", passphrase_proof=SECRET + b"p")


def _kdf(changed: bool) -> Record:
    return KdfParams(3 if changed else 2, 64 << 20, b"s" * 16)


def _header(changed: bool) -> Record:
    return Header(Suite.STREAM, SECRET[:16], 1664, bytes(24), None if changed else KDF)


def _meta(changed: bool) -> Record:
    return Meta("file", "b.txt" if changed else "a.txt")


def _link(changed: bool) -> Record:
    return Link(None if changed else "https://x.example", SECRET[:16], SECRET * 2)


def _keys(changed: bool) -> Record:
    return Keys(SECRET, SECRET + b"l", None if changed else SECRET + b"p")


def _sealed(changed: bool) -> Record:
    return Sealed(HEADER, b"h", KEYS, b"" if changed else SECRET)


def _opened(changed: bool) -> Record:
    return Opened(HEADER, Meta("file" if changed else "text"), SECRET)


# (a value, the same values built again, one field changed, fields repr must not show)
CASES: list[tuple[Record, Record, Record, set[str]]] = [
    (make(False), make(False), make(True), hidden)
    for make, hidden in [
        (_kdf, set()),
        (_header, {"id"}),
        (_meta, set()),
        (_link, {"id", "key"}),
        (_keys, {"payload_key", "link_proof", "passphrase_proof"}),
        (_sealed, {"blob"}),
        (_opened, {"body"}),
    ]
]
IDS = [type(case[0]).__name__ for case in CASES]


@pytest.mark.parametrize(("value", "same", "other", "hidden"), CASES, ids=IDS)
def test_equality_and_hash_follow_the_fields(
    value: Record, same: Record, other: Record, hidden: set[str]
) -> None:
    assert value == same
    assert hash(value) == hash(same)
    assert value != other
    assert len({value, same, other}) == 2
    assert value != tuple(getattr(value, name) for name in type(value).__slots__)
    assert value != object()


@pytest.mark.parametrize(("value", "same", "other", "hidden"), CASES, ids=IDS)
def test_values_are_immutable(value: Record, same: Record, other: Record, hidden: set[str]) -> None:
    field = type(value).__slots__[0]
    with pytest.raises(AttributeError, match="immutable"):
        setattr(value, field, None)
    with pytest.raises(AttributeError, match="immutable"):
        delattr(value, field)
    with pytest.raises(AttributeError):
        value.extra = 1
    assert value == same


@pytest.mark.parametrize(("value", "same", "other", "hidden"), CASES, ids=IDS)
def test_repr_shows_only_public_fields(
    value: Record, same: Record, other: Record, hidden: set[str]
) -> None:
    text = repr(value)
    assert text.startswith(type(value).__name__ + "(")
    for name in type(value).__slots__:
        assert (f"{name}=" in text) == (name not in hidden)
    assert "TOP-SECRET" not in text
    assert SECRET[:16].hex() not in text
    assert repr(SECRET[:16]) not in text


@pytest.mark.parametrize(("value", "same", "other", "hidden"), CASES, ids=IDS)
def test_copy_and_pickle_round_trip(
    value: Record, same: Record, other: Record, hidden: set[str]
) -> None:
    assert copy.copy(value) == value
    assert copy.deepcopy(value) == value
    assert pickle.loads(pickle.dumps(value)) == value


def test_stream_results_keep_their_iterators() -> None:
    sealed = seal(b"x", id=bytes(16), key=bytes(32))
    chunks = iter([b"a"])
    opened = OpenedStream(sealed.header, Meta(), 1, chunks)
    assert opened.chunks is chunks
    assert opened == OpenedStream(sealed.header, Meta(), 1, chunks)
    assert opened != OpenedStream(sealed.header, Meta(), 1, iter([b"a"]))
    assert "chunks" not in repr(opened)
    streamed = SealedStream(sealed.header, sealed.header_bytes, sealed.keys, 5, chunks)
    assert copy.copy(streamed).chunks is chunks
    assert "chunks" not in repr(streamed)
