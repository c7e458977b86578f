"""Requests' cryptography: the requester's key pair, the request key schedule, the sealed answer.

::

    rsalt           = "ots/v1/request-salt" || request_id                      (35 bytes)
    answer_proof    = HKDF-SHA256(public_key,  rsalt, "ots/v1 request-answer-proof")
    owner_proof     = HKDF-SHA256(private_key, rsalt, "ots/v1 request-owner-proof")
    answer_verifier = SHA-256(answer_proof)       owner_verifier = SHA-256(owner_proof)
    sealed          = crypto_box_seal(secret_id || secret_key, public_key)     (96 bytes)

The answer proof lets whoever holds the link (its public key) peek at and answer the request;
the owner proof lets only the requester (its private key) read the answer and close the
request. The sealed answer names an ordinary v1 secret (docs/FORMAT.md, "Requests").

Invariants:

- Pure: no I/O; randomness is injected (``random``) for the key pair. Sealing draws
  libsodium's own ephemeral key, so a sealed box is never reproducible (vectors fix one).
- :func:`is_sealable` is exactly libsodium's refusal: a public key ``crypto_box_seal`` would
  refuse (a low-order point) is refused by the link parser, never sealed to.
- :func:`open_answer` returns a secret id and key only from a box that authenticates under
  the private key and holds exactly 48 bytes; anything else is
  :class:`~ots_cli.errors.TamperedAnswer`. No nacl exception escapes.
- Private keys and proofs are excluded from every ``repr``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from ots_cli.core.format import ID_BYTES, Record
from ots_cli.core.keyschedule import hkdf_sha256
from ots_cli.errors import BadLink, TamperedAnswer

__all__ = [
    "ANSWER_PROOF_INFO",
    "OWNER_PROOF_INFO",
    "REQUEST_SALT_PREFIX",
    "SEALED_BYTES",
    "KeyPair",
    "answer_proof",
    "is_sealable",
    "new_key_pair",
    "open_answer",
    "owner_proof",
    "request_salt",
    "seal_answer",
    "verifier",
]

REQUEST_SALT_PREFIX = b"ots/v1/request-salt"
ANSWER_PROOF_INFO = b"ots/v1 request-answer-proof"
OWNER_PROOF_INFO = b"ots/v1 request-owner-proof"
KEY_BYTES = 32
#: A secret's id and key: what a sealed answer holds.
ANSWER_PLAINTEXT_BYTES = ID_BYTES + KEY_BYTES
#: crypto_box_SEALBYTES (an ephemeral public key and a Poly1305 tag) plus the plaintext.
SEALED_BYTES = 48 + ANSWER_PLAINTEXT_BYTES
#: Any scalar shows whether libsodium's X25519 refuses a point: it refuses low-order points
#: (and any point whose product is all zeros) whatever the scalar, after clamping.
_PROBE_SCALAR = hashlib.sha256(b"ots/v1 sealable probe").digest()

Random = Callable[[int], bytes]


class KeyPair(Record):
    """A requester's X25519 key pair."""

    __slots__ = ("private_key", "public_key")
    _hidden = frozenset({"private_key"})
    private_key: bytes
    public_key: bytes

    def __init__(self, private_key: bytes, public_key: bytes) -> None:
        self._set(private_key=private_key, public_key=public_key)

    @classmethod
    def from_private_key(cls, private_key: bytes) -> KeyPair:
        """The pair of a stored private key (ValueError unless it is 32 bytes)."""
        from nacl.bindings import crypto_scalarmult_base

        if len(private_key) != KEY_BYTES:
            raise ValueError("an X25519 private key is 32 bytes")
        return cls(private_key, crypto_scalarmult_base(private_key))


def new_key_pair(random: Random = os.urandom) -> KeyPair:
    """A fresh key pair: 32 random bytes as the private key (as PyNaCl's
    ``PrivateKey.generate``), its public key by X25519 from the base point."""
    private_key = random(KEY_BYTES)
    if len(private_key) != KEY_BYTES:
        raise ValueError("the random source returned the wrong number of bytes")
    return KeyPair.from_private_key(private_key)


def is_sealable(public_key: bytes) -> bool:
    """Whether libsodium seals to ``public_key``: 32 bytes that are not a low-order point."""
    from nacl.bindings import crypto_scalarmult
    from nacl.exceptions import CryptoError

    if len(public_key) != KEY_BYTES:
        return False
    try:
        crypto_scalarmult(_PROBE_SCALAR, public_key)
    except CryptoError:  # nacl's RuntimeError: libsodium refused the point
        return False
    return True


def request_salt(request_id: bytes) -> bytes:
    """``"ots/v1/request-salt" || request_id``: the HKDF salt of both proofs."""
    if len(request_id) != ID_BYTES:
        raise ValueError("a request id is 16 bytes")
    return REQUEST_SALT_PREFIX + request_id


def answer_proof(request_id: bytes, public_key: bytes) -> bytes:
    """The proof that the caller holds the request link (peek, answer)."""
    if len(public_key) != KEY_BYTES:
        raise ValueError("an X25519 public key is 32 bytes")
    return hkdf_sha256(public_key, salt=request_salt(request_id), info=ANSWER_PROOF_INFO)


def owner_proof(request_id: bytes, private_key: bytes) -> bytes:
    """The proof that the caller is the requester (status, close)."""
    if len(private_key) != KEY_BYTES:
        raise ValueError("an X25519 private key is 32 bytes")
    return hkdf_sha256(private_key, salt=request_salt(request_id), info=OWNER_PROOF_INFO)


def verifier(proof: bytes) -> bytes:
    """SHA-256 of a proof: what the server stores and compares with."""
    return hashlib.sha256(proof).digest()


def seal_answer(secret_id: bytes, secret_key: bytes, public_key: bytes) -> bytes:
    """``crypto_box_seal(secret_id || secret_key, public_key)``: 96 bytes only the private
    key opens. BadLink for a public key libsodium refuses (the parser refuses it first)."""
    from nacl.bindings import crypto_box_seal
    from nacl.exceptions import CryptoError

    if len(secret_id) != ID_BYTES or len(secret_key) != KEY_BYTES:
        raise ValueError("an answer holds a 16-byte secret id and a 32-byte key")
    if len(public_key) != KEY_BYTES:
        raise ValueError("an X25519 public key is 32 bytes")
    try:
        sealed: bytes = crypto_box_seal(secret_id + secret_key, public_key)
    except CryptoError as exc:
        raise BadLink("the link is damaged: its public key cannot be sealed to") from exc
    return sealed


def open_answer(sealed: bytes, private_key: bytes) -> tuple[bytes, bytes]:
    """The secret id and key a sealed answer holds; TamperedAnswer when it does not open
    under ``private_key`` or does not hold exactly 48 bytes."""
    from nacl.bindings import crypto_box_seal_open
    from nacl.exceptions import CryptoError

    pair = KeyPair.from_private_key(private_key)
    if len(sealed) != SEALED_BYTES:
        raise _tampered(f"it has {len(sealed)} bytes instead of {SEALED_BYTES}")
    try:
        plaintext: bytes = crypto_box_seal_open(sealed, pair.public_key, pair.private_key)
    except CryptoError:
        raise _tampered("it does not open with this request's private key") from None
    if len(plaintext) != ANSWER_PLAINTEXT_BYTES:  # pragma: no cover - implied by the length
        raise _tampered("it does not hold a secret's id and key")
    return plaintext[:ID_BYTES], plaintext[ID_BYTES:]


def _tampered(why: str) -> TamperedAnswer:
    return TamperedAnswer(
        f"the request's answer was tampered with: {why}",
        hints=(
            "nothing was read or deleted: the request and its private key are kept",
            "ask the responder to answer a new request; `ots request cancel ID` closes this one",
        ),
    )
