"""Key schedule: HKDF known answers, labels, domain separation, and Argon2id bounds."""

from __future__ import annotations

import hashlib
import hmac

import nacl.pwhash.argon2id
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ots_cli.core import crypto
from ots_cli.core.format import Header, KdfParams, Suite
from ots_cli.core.keyschedule import (
    MAX_MEMLIMIT,
    MAX_OPSLIMIT,
    MIN_MEMLIMIT,
    MIN_OPSLIMIT,
    Keys,
    check_kdf_params,
    derive_keys,
    hkdf_sha256,
    kdf_is_weak,
    link_proof,
    normalize_passphrase,
)
from ots_cli.errors import KdfParamsRefused

MIB = 1 << 20
ID = bytes(range(16))
KEY = bytes(range(32, 64))
SALT = b"s" * 16
INTERACTIVE = KdfParams(opslimit=2, memlimit=64 * MIB, salt=SALT)


def fake_argon2(size: int, password: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    """A fast stand-in with the same inputs: distinct inputs give distinct outputs."""
    material = b"|".join([password, salt, str(opslimit).encode(), str(memlimit).encode()])
    return hashlib.sha256(material).digest()[:size]


def refuse_argon2(size: int, password: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    pytest.fail("Argon2id ran for parameters that must be refused first")


def header(kdf: KdfParams | None = None, id_: bytes = ID) -> Header:
    return Header(suite=Suite.SEALED, id=id_, padded_length=1600, nonce=bytes(24), kdf=kdf)


# --- HKDF -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ikm", "salt", "info", "length", "okm"),
    [
        # RFC 5869 A.1 (test case 1)
        (
            "0b" * 22,
            "000102030405060708090a0b0c",
            "f0f1f2f3f4f5f6f7f8f9",
            42,
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
        ),
        # RFC 5869 A.2 (test case 2: longer inputs, 82 bytes of output)
        (
            bytes(range(0x00, 0x50)).hex(),
            bytes(range(0x60, 0xB0)).hex(),
            bytes(range(0xB0, 0x100)).hex(),
            82,
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
            "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
            "cc30c58179ec3e87c14c01d5c1f3434f1d87",
        ),
        # RFC 5869 A.3 (test case 3: empty salt and info)
        (
            "0b" * 22,
            "",
            "",
            42,
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
        ),
    ],
)
def test_hkdf_rfc5869(ikm: str, salt: str, info: str, length: int, okm: str) -> None:
    result = hkdf_sha256(
        bytes.fromhex(ikm), salt=bytes.fromhex(salt), info=bytes.fromhex(info), length=length
    )
    assert result.hex() == okm


def test_hkdf_rfc5869_a1_prk() -> None:
    # The extract step alone, as RFC 5869 A.1 prints it.
    prk = hmac.digest(bytes.fromhex("000102030405060708090a0b0c"), b"\x0b" * 22, "sha256")
    assert prk.hex() == "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"


def test_hkdf_length_bounds() -> None:
    assert len(hkdf_sha256(b"k", salt=b"s", info=b"i", length=255 * 32)) == 8160
    for length in (0, 255 * 32 + 1):
        with pytest.raises(ValueError, match="8160"):
            hkdf_sha256(b"k", salt=b"s", info=b"i", length=length)


# --- schedule -------------------------------------------------------------------------------


def test_schedule_matches_the_documented_formulas() -> None:
    salt = b"ots/v1/salt" + ID

    def expand(ikm: bytes, info: bytes) -> bytes:
        prk = hmac.digest(salt, ikm, "sha256")
        return hmac.digest(prk, info + b"\x01", "sha256")

    plain = derive_keys(header(), KEY, None)
    assert plain.link_proof == expand(KEY, b"ots/v1 link-proof") == link_proof(ID, KEY)
    assert plain.payload_key == expand(KEY, b"ots/v1 payload-key")
    assert plain.passphrase_proof is None
    assert plain.passphrase_verifier is None
    assert plain.link_verifier == hashlib.sha256(plain.link_proof).digest()

    keys = derive_keys(header(INTERACTIVE), KEY, "pw", argon2=fake_argon2)
    stretched = fake_argon2(32, b"pw", SALT, 2, 64 * MIB)
    assert keys.link_proof == plain.link_proof
    assert keys.payload_key == expand(KEY + stretched, b"ots/v1 payload-key")
    assert keys.passphrase_proof == expand(KEY + stretched, b"ots/v1 passphrase-proof")
    assert keys.passphrase_verifier == hashlib.sha256(keys.passphrase_proof or b"").digest()


def test_all_derived_values_are_distinct() -> None:
    keys = derive_keys(header(INTERACTIVE), KEY, "pw", argon2=fake_argon2)
    plain = derive_keys(header(), KEY, None)
    values = [
        keys.payload_key,
        keys.link_proof,
        keys.passphrase_proof,
        keys.link_verifier,
        keys.passphrase_verifier,
        plain.payload_key,
        KEY,
    ]
    assert len(set(values)) == len(values)


@settings(max_examples=50)
@given(st.text(min_size=1, max_size=30), st.text(min_size=1, max_size=30))
def test_domain_separation_between_passphrases(first: str, second: str) -> None:
    a = derive_keys(header(INTERACTIVE), KEY, first, argon2=fake_argon2)
    b = derive_keys(header(INTERACTIVE), KEY, second, argon2=fake_argon2)
    assert a.link_proof == b.link_proof == link_proof(ID, KEY)
    same = normalize_passphrase(first) == normalize_passphrase(second)
    assert (a.payload_key == b.payload_key) == same
    assert (a.passphrase_proof == b.passphrase_proof) == same
    assert a.payload_key != derive_keys(header(), KEY, None).payload_key


def test_domain_separation_with_real_argon2id() -> None:
    a = derive_keys(header(INTERACTIVE), KEY, "correct horse")
    b = derive_keys(header(INTERACTIVE), KEY, "correct horse!")
    assert a.link_proof == b.link_proof == link_proof(ID, KEY)
    assert a.payload_key != b.payload_key
    assert a.passphrase_proof != b.passphrase_proof
    assert a.passphrase_verifier != b.passphrase_verifier


@given(st.binary(min_size=16, max_size=16), st.binary(min_size=32, max_size=32))
def test_id_and_key_both_matter(other_id: bytes, other_key: bytes) -> None:
    base = derive_keys(header(), KEY, None)
    if other_id != ID:
        changed = derive_keys(header(id_=other_id), KEY, None)
        assert changed.link_proof != base.link_proof
        assert changed.payload_key != base.payload_key
    if other_key != KEY:
        changed = derive_keys(header(), other_key, None)
        assert changed.link_proof != base.link_proof
        assert changed.payload_key != base.payload_key


def test_kdf_parameters_and_salt_change_the_keys() -> None:
    base = derive_keys(header(INTERACTIVE), KEY, "pw", argon2=fake_argon2)
    for kdf in (
        KdfParams(3, 64 * MIB, SALT),
        KdfParams(2, 65 * MIB, SALT),
        KdfParams(2, 64 * MIB, b"t" * 16),
    ):
        other = derive_keys(header(kdf), KEY, "pw", argon2=fake_argon2)
        assert other.payload_key != base.payload_key
        assert other.passphrase_proof != base.passphrase_proof
        assert other.link_proof == base.link_proof


def test_passphrase_is_nfc_normalised() -> None:
    seen: list[bytes] = []

    def spy(size: int, password: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
        seen.append(password)
        return fake_argon2(size, password, salt, opslimit, memlimit)

    composed = derive_keys(header(INTERACTIVE), KEY, "Caf\u00e9", argon2=spy)
    decomposed = derive_keys(header(INTERACTIVE), KEY, "Cafe\u0301", argon2=spy)
    assert seen == ["Caf\u00e9".encode()] * 2
    assert composed == decomposed
    assert normalize_passphrase("\u212b") == "\u00c5".encode()  # ANGSTROM SIGN -> A with ring


def test_argon2_receives_the_header_parameters() -> None:
    calls: list[tuple[int, bytes, bytes, int, int]] = []

    def spy(size: int, password: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
        calls.append((size, password, salt, opslimit, memlimit))
        return bytes(32)

    derive_keys(header(KdfParams(7, 128 * MIB, SALT)), KEY, "pw", argon2=spy)
    assert calls == [(32, b"pw", SALT, 7, 128 * MIB)]


def test_real_argon2id_is_the_default() -> None:
    keys = derive_keys(header(INTERACTIVE), KEY, "pw")
    stretched = nacl.pwhash.argon2id.kdf(32, b"pw", SALT, opslimit=2, memlimit=64 * MIB)
    expected = hkdf_sha256(KEY + stretched, salt=b"ots/v1/salt" + ID, info=b"ots/v1 payload-key")
    assert keys.payload_key == expected


@pytest.mark.parametrize(
    ("opslimit", "memlimit", "salt"),
    [
        (MIN_OPSLIMIT - 1, MIN_MEMLIMIT, SALT),
        (0, MIN_MEMLIMIT, SALT),
        (MAX_OPSLIMIT + 1, MIN_MEMLIMIT, SALT),
        (2**32 - 1, MIN_MEMLIMIT, SALT),
        (MIN_OPSLIMIT, MIN_MEMLIMIT - 1024, SALT),
        (MIN_OPSLIMIT, 0, SALT),
        (MIN_OPSLIMIT, MAX_MEMLIMIT + 1024, SALT),
        (MIN_OPSLIMIT, 2**32 - 1024, SALT),
        (MIN_OPSLIMIT, MIN_MEMLIMIT + 1, SALT),
        (MIN_OPSLIMIT, MIN_MEMLIMIT, b"short"),
    ],
)
def test_out_of_bounds_parameters_are_refused_before_argon2(
    opslimit: int, memlimit: int, salt: bytes
) -> None:
    params = KdfParams(opslimit, memlimit, salt)
    with pytest.raises(KdfParamsRefused) as info:
        derive_keys(header(params), KEY, "pw", argon2=refuse_argon2)
    assert info.value.exit_code == 8
    with pytest.raises(KdfParamsRefused):
        check_kdf_params(params)
    if len(salt) == 16:  # seal draws its own salt; it must refuse the same bounds
        with pytest.raises(KdfParamsRefused):
            crypto.seal(
                b"x",
                id=ID,
                key=KEY,
                passphrase="pw",
                opslimit=opslimit,
                memlimit=memlimit,
                argon2=refuse_argon2,
            )


def test_refusal_hint_names_the_bounds() -> None:
    with pytest.raises(KdfParamsRefused) as info:
        check_kdf_params(KdfParams(1, 64 * MIB, SALT))
    assert "2 to 10 passes" in " ".join(info.value.hints)
    assert "64 MiB to 1024 MiB" in " ".join(info.value.hints)


@pytest.mark.parametrize(
    ("opslimit", "memlimit"),
    [(MIN_OPSLIMIT, MIN_MEMLIMIT), (MAX_OPSLIMIT, MAX_MEMLIMIT), (5, 300 * MIB)],
)
def test_boundary_parameters_are_accepted(opslimit: int, memlimit: int) -> None:
    called: list[int] = []

    def counting(size: int, password: bytes, salt: bytes, ops: int, mem: int) -> bytes:
        called.append(ops)
        return fake_argon2(size, password, salt, ops, mem)

    derive_keys(header(KdfParams(opslimit, memlimit, SALT)), KEY, "pw", argon2=counting)
    assert called == [opslimit]


def test_default_cost_is_within_bounds() -> None:
    check_kdf_params(KdfParams(crypto.DEFAULT_OPSLIMIT, crypto.DEFAULT_MEMLIMIT, SALT))
    assert (crypto.DEFAULT_OPSLIMIT, crypto.DEFAULT_MEMLIMIT) == (6, 256 * MIB)


@pytest.mark.parametrize(
    ("kdf", "passphrase", "message"),
    [(INTERACTIVE, None, "needs a passphrase"), (None, "pw", "has no passphrase")],
)
def test_passphrase_presence_must_match_the_header(
    kdf: KdfParams | None, passphrase: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        derive_keys(header(kdf), KEY, passphrase, argon2=refuse_argon2)


def test_an_empty_passphrase_is_refused_before_argon2() -> None:
    # FORMAT.md: an empty passphrase MUST NOT be used with the passphrase flag; the reader
    # refuses it as the writer does, without running Argon2id on it.
    with pytest.raises(ValueError, match="empty passphrase"):
        derive_keys(header(INTERACTIVE), KEY, "", argon2=refuse_argon2)
    with pytest.raises(ValueError, match="empty passphrase"):
        crypto.seal(b"x", id=ID, key=KEY, passphrase="", argon2=refuse_argon2)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        derive_keys(header(), KEY[:31], None)
    with pytest.raises(ValueError, match="16 bytes"):
        link_proof(ID[:15], KEY)

    def short(size: int, password: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
        return b"x"

    with pytest.raises(ValueError, match="wrong number of bytes"):
        derive_keys(header(INTERACTIVE), KEY, "pw", argon2=short)


def test_keys_repr_hides_secrets() -> None:
    keys = derive_keys(header(INTERACTIVE), KEY, "pw", argon2=fake_argon2)
    text = repr(keys)
    assert text == "Keys()"
    assert isinstance(keys, Keys)


@pytest.mark.parametrize(
    ("opslimit", "memlimit", "weak"),
    [
        (2, 64 * MIB, True),  # libsodium interactive: what a hostile server would pick
        (5, 256 * MIB, True),
        (6, 255 * MIB, True),
        (6, 256 * MIB, False),  # the default writer cost
        (4, 1024 * MIB, False),  # sensitive: fewer passes, far more memory
        (10, 160 * MIB, False),
    ],
)
def test_the_reader_floor_is_the_default_work(opslimit: int, memlimit: int, weak: bool) -> None:
    assert kdf_is_weak(KdfParams(opslimit, memlimit, SALT)) is weak
