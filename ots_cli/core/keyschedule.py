"""The key schedule: from a link key (and passphrase) to the payload key, proofs and verifiers.

::

    salt             = "ots/v1/salt" || id
    link_proof       = HKDF-SHA256(key,      salt, "ots/v1 link-proof")
    P                = Argon2id(NFC(passphrase), kdf.salt, kdf.opslimit, kdf.memlimit)  [if any]
    payload_key      = HKDF-SHA256(key [|| P], salt, "ots/v1 payload-key")
    passphrase_proof = HKDF-SHA256(key || P,   salt, "ots/v1 passphrase-proof")           [if any]
    verifier         = SHA-256(proof)   (what the server stores)

Invariants:

- The link proof depends only on the id and the key, never on the passphrase, so a reader can
  peek at a secret before being asked for its passphrase.
- Argon2id parameters are checked against the bounds *before* Argon2id runs; the Argon2id
  function is injected so tests can prove it.
- :func:`kdf_is_weak` is the reader's floor (FORMAT.md, "reader rule"): less work than the
  default writer cost, measured as passes x memory. Readers apply it before Argon2id runs.
- Keys and proofs are excluded from every ``repr``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

from nacl.bindings import (
    crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE,
    crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE,
)

from ots_cli.core.format import SALT_BYTES, Header, KdfParams, Record
from ots_cli.core.links import ID_BYTES, KEY_BYTES
from ots_cli.errors import KdfParamsRefused

__all__ = [
    "DEFAULT_MEMLIMIT",
    "DEFAULT_OPSLIMIT",
    "HKDF_SALT_PREFIX",
    "LINK_PROOF_INFO",
    "MAX_MEMLIMIT",
    "MAX_OPSLIMIT",
    "MIN_MEMLIMIT",
    "MIN_OPSLIMIT",
    "PASSPHRASE_PROOF_INFO",
    "PAYLOAD_KEY_INFO",
    "Argon2",
    "Keys",
    "argon2id_kdf",
    "check_kdf_params",
    "derive_keys",
    "hkdf_sha256",
    "kdf_is_weak",
    "link_proof",
    "normalize_passphrase",
]

#: The signature of ``nacl.pwhash.argon2id.kdf(size, password, salt, opslimit, memlimit)``.
Argon2 = Callable[[int, bytes, bytes, int, int], bytes]

HKDF_SALT_PREFIX = b"ots/v1/salt"
LINK_PROOF_INFO = b"ots/v1 link-proof"
PAYLOAD_KEY_INFO = b"ots/v1 payload-key"
PASSPHRASE_PROOF_INFO = b"ots/v1 passphrase-proof"

#: Accepted Argon2id bounds: libsodium's INTERACTIVE as the floor, 10 passes / 1 GiB as the cap.
MIN_OPSLIMIT: int = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE
MAX_OPSLIMIT = 10
MIN_MEMLIMIT: int = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE
MAX_MEMLIMIT = 1 << 30
#: Default cost: about 0.6 s on the reference machine (measurement in docs/FORMAT.md).
DEFAULT_OPSLIMIT = 6
DEFAULT_MEMLIMIT = 256 << 20


def kdf_is_weak(params: KdfParams) -> bool:
    """Less Argon2id work (passes x memory) than the default writer cost.

    The header is not authenticated until the secret is decrypted, so its parameters are the
    server's word: a hostile one can lower them (and choose the salt) to make the passphrase
    proof the reader sends cheaper to attack. ``sensitive`` (4 x 1 GiB) passes; libsodium's
    ``interactive`` (2 x 64 MiB, 12 times less work) does not.
    """
    return params.opslimit * params.memlimit < DEFAULT_OPSLIMIT * DEFAULT_MEMLIMIT


def argon2id_kdf(size: int, password: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    """Argon2id13 by PyNaCl's ``nacl.pwhash.argon2id.kdf``: the default :data:`Argon2`.

    Imported on first use: most runs of the CLI never derive a passphrase key, and
    ``nacl.pwhash`` loads all of PyNaCl's password hashes.
    """
    import nacl.pwhash.argon2id

    derived: bytes = nacl.pwhash.argon2id.kdf(size, password, salt, opslimit, memlimit)
    return derived


def hkdf_sha256(ikm: bytes, *, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 (RFC 5869): extract with ``salt``, expand with ``info`` to ``length`` bytes."""
    if not 0 < length <= 255 * 32:
        raise ValueError("HKDF-SHA256 output must be 1 to 8160 bytes")
    prk = hmac.digest(salt or bytes(32), ikm, "sha256")
    blocks: list[bytes] = []
    block = b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.digest(prk, block + info + bytes((counter,)), "sha256")
        blocks.append(block)
    return b"".join(blocks)[:length]


def _salt(id: bytes) -> bytes:
    if len(id) != ID_BYTES:
        raise ValueError("the id must be 16 bytes")
    return HKDF_SALT_PREFIX + id


def link_proof(id: bytes, key: bytes) -> bytes:
    """The proof that the caller holds the link key; never depends on a passphrase."""
    if len(key) != KEY_BYTES:
        raise ValueError("the key must be 32 bytes")
    return hkdf_sha256(key, salt=_salt(id), info=LINK_PROOF_INFO)


def check_kdf_params(params: KdfParams) -> None:
    """Raise KdfParamsRefused unless the Argon2id parameters are within the accepted bounds."""
    hint = (
        f"accepted: {MIN_OPSLIMIT} to {MAX_OPSLIMIT} passes and "
        f"{MIN_MEMLIMIT >> 20} MiB to {MAX_MEMLIMIT >> 20} MiB of memory",
    )
    if not MIN_OPSLIMIT <= params.opslimit <= MAX_OPSLIMIT:
        raise KdfParamsRefused(
            f"the passphrase's Argon2id opslimit {params.opslimit} is outside the accepted bounds",
            hints=hint,
        )
    if not MIN_MEMLIMIT <= params.memlimit <= MAX_MEMLIMIT or params.memlimit % 1024:
        raise KdfParamsRefused(
            "the passphrase's Argon2id memlimit is outside the accepted bounds",
            hints=(*hint, "the memlimit must also be a whole number of KiB"),
        )
    if len(params.salt) != SALT_BYTES:
        raise KdfParamsRefused("the passphrase's Argon2id salt must be 16 bytes")


class Keys(Record):
    """Everything derived from the link key (and passphrase) for one secret."""

    __slots__ = ("link_proof", "passphrase_proof", "payload_key")
    _hidden = frozenset(__slots__)
    payload_key: bytes
    link_proof: bytes
    passphrase_proof: bytes | None

    def __init__(
        self, payload_key: bytes, link_proof: bytes, passphrase_proof: bytes | None
    ) -> None:
        self._set(payload_key=payload_key, link_proof=link_proof, passphrase_proof=passphrase_proof)

    @property
    def link_verifier(self) -> bytes:
        """SHA-256 of the link proof: what the server stores."""
        return hashlib.sha256(self.link_proof).digest()

    @property
    def passphrase_verifier(self) -> bytes | None:
        """SHA-256 of the passphrase proof, or None without a passphrase."""
        if self.passphrase_proof is None:
            return None
        return hashlib.sha256(self.passphrase_proof).digest()


def normalize_passphrase(passphrase: str) -> bytes:
    """The Argon2id password: the passphrase in Unicode NFC, as UTF-8."""
    import unicodedata  # only passphrase-protected secrets need it

    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def derive_keys(
    header: Header,
    key: bytes,
    passphrase: str | None,
    *,
    argon2: Argon2 = argon2id_kdf,
) -> Keys:
    """Derive the payload key and proofs for ``header`` from the link key and passphrase.

    ValueError if the header needs a passphrase and none (or an empty one) is given, or the
    reverse (callers check ``header.needs_passphrase`` first). KdfParamsRefused, before Argon2id
    runs, if the header's parameters are out of bounds.
    """
    salt = _salt(header.id)
    proof = link_proof(header.id, key)
    if header.kdf is None:
        if passphrase is not None:
            raise ValueError("this secret has no passphrase")
        payload_key = hkdf_sha256(key, salt=salt, info=PAYLOAD_KEY_INFO)
        return Keys(payload_key=payload_key, link_proof=proof, passphrase_proof=None)
    if passphrase is None:
        raise ValueError("this secret needs a passphrase")
    if not passphrase:
        # FORMAT.md: an empty passphrase means "no passphrase"; the writer refuses it, and so
        # does the reader, before spending an Argon2id run on it.
        raise ValueError("an empty passphrase is no passphrase")
    check_kdf_params(header.kdf)
    stretched = argon2(
        32,
        normalize_passphrase(passphrase),
        header.kdf.salt,
        header.kdf.opslimit,
        header.kdf.memlimit,
    )
    if len(stretched) != 32:
        raise ValueError("the Argon2id function returned the wrong number of bytes")
    ikm = key + stretched
    return Keys(
        payload_key=hkdf_sha256(ikm, salt=salt, info=PAYLOAD_KEY_INFO),
        link_proof=proof,
        passphrase_proof=hkdf_sha256(ikm, salt=salt, info=PASSPHRASE_PROOF_INFO),
    )
