"""The request key schedule and the sealed answer, checked against independent computations."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.bindings import crypto_box_seal
from nacl.public import PrivateKey, SealedBox

from ots_cli.core.request_crypto import (
    SEALED_BYTES,
    KeyPair,
    answer_proof,
    new_key_pair,
    open_answer,
    owner_proof,
    request_salt,
    seal_answer,
    verifier,
)
from ots_cli.errors import BadLink, TamperedAnswer

REQUEST_ID = bytes(range(16))
SECRET_ID = bytes(range(100, 116))
SECRET_KEY = bytes(range(200, 232))


def _hkdf(ikm: bytes, salt: bytes, info: bytes) -> bytes:
    """RFC 5869 with one output block, written out again."""
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def test_key_pair_is_pynacls() -> None:
    pair = new_key_pair(lambda size: bytes(range(size)))
    assert pair.private_key == bytes(range(32))
    assert pair.public_key == bytes(PrivateKey(bytes(range(32))).public_key)
    assert KeyPair.from_private_key(pair.private_key) == pair
    assert repr(pair.private_key) not in repr(pair)
    with pytest.raises(ValueError, match="wrong number"):
        new_key_pair(lambda size: b"short")


def test_proofs_follow_the_schedule() -> None:
    pair = new_key_pair()
    salt = b"ots/v1/request-salt" + REQUEST_ID
    assert request_salt(REQUEST_ID) == salt
    assert len(salt) == 35
    answer = _hkdf(pair.public_key, salt, b"ots/v1 request-answer-proof")
    owner = _hkdf(pair.private_key, salt, b"ots/v1 request-owner-proof")
    assert answer_proof(REQUEST_ID, pair.public_key) == answer
    assert owner_proof(REQUEST_ID, pair.private_key) == owner
    assert verifier(answer) == hashlib.sha256(answer).digest()
    assert answer != owner
    # Another request id, another proof: a proof cannot be moved between requests.
    assert answer_proof(bytes(16), pair.public_key) != answer
    with pytest.raises(ValueError, match="16 bytes"):
        request_salt(REQUEST_ID[:15])
    with pytest.raises(ValueError, match="32 bytes"):
        answer_proof(REQUEST_ID, pair.public_key[:31])
    with pytest.raises(ValueError, match="32 bytes"):
        owner_proof(REQUEST_ID, pair.private_key + b"x")


def test_seal_and_open() -> None:
    pair = new_key_pair()
    sealed = seal_answer(SECRET_ID, SECRET_KEY, pair.public_key)
    assert len(sealed) == SEALED_BYTES == 96
    assert open_answer(sealed, pair.private_key) == (SECRET_ID, SECRET_KEY)
    # It is libsodium's sealed box: PyNaCl's SealedBox opens it too.
    assert SealedBox(PrivateKey(pair.private_key)).decrypt(sealed) == SECRET_ID + SECRET_KEY
    # Fresh ephemeral key every time.
    assert seal_answer(SECRET_ID, SECRET_KEY, pair.public_key) != sealed


def test_another_private_key_does_not_open() -> None:
    sealed = seal_answer(SECRET_ID, SECRET_KEY, new_key_pair().public_key)
    with pytest.raises(TamperedAnswer, match="does not open") as info:
        open_answer(sealed, new_key_pair().private_key)
    assert info.value.exit_code == 8
    assert "nothing was read or deleted" in " ".join(info.value.hints)


@settings(max_examples=200)
@given(st.integers(0, SEALED_BYTES - 1), st.integers(0, 7))
def test_every_bit_is_authenticated(position: int, bit: int) -> None:
    pair = new_key_pair(lambda size: bytes([3]) * size)
    sealed = bytearray(seal_answer(SECRET_ID, SECRET_KEY, pair.public_key))
    sealed[position] ^= 1 << bit
    with pytest.raises(TamperedAnswer):
        open_answer(bytes(sealed), pair.private_key)


@pytest.mark.parametrize("length", [0, 1, 48, 95, 97, 192])
def test_wrong_lengths_are_tampered(length: int) -> None:
    pair = new_key_pair()
    sealed = seal_answer(SECRET_ID, SECRET_KEY, pair.public_key)
    data = (sealed * 2)[:length]
    with pytest.raises(TamperedAnswer, match=f"it has {length} bytes instead of 96"):
        open_answer(data, pair.private_key)


def test_an_authentic_box_of_another_size_is_tampered() -> None:
    """A box that opens, but holds 47 or 49 bytes: not a secret's id and key."""
    pair = new_key_pair()
    for size in (47, 49):
        with pytest.raises(TamperedAnswer):
            open_answer(crypto_box_seal(bytes(size), pair.public_key), pair.private_key)


def test_sealing_to_an_unsealable_key_is_a_damaged_link() -> None:
    with pytest.raises(BadLink, match="damaged"):
        seal_answer(SECRET_ID, SECRET_KEY, bytes(32))
    with pytest.raises(ValueError, match="16-byte secret id"):
        seal_answer(SECRET_ID[:15], SECRET_KEY, new_key_pair().public_key)
