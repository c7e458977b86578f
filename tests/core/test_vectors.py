"""The frozen v1 test vectors in tests/vectors: re-encrypt byte for byte, open, and reject.

The vectors were generated once by tests/vectors/generate.py; these tests never regenerate
them. A failure here means the format changed: that needs a new format version, not new
vectors.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import nacl.pwhash.argon2id
import pytest

from ots_cli import errors
from ots_cli.core import b64
from ots_cli.core.crypto import derive_keys, open_blob, open_stream, seal, seal_stream
from ots_cli.core.envelope import Meta
from ots_cli.core.format import Suite, decode_header
from ots_cli.core.links import parse_link
from ots_cli.core.stream import ciphertext_chunk_sizes

from .conftest import split

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
GOLDEN: list[dict[str, Any]] = json.loads((VECTORS / "v1-blobs.json").read_text())["vectors"]
MALFORMED: dict[str, Any] = json.loads((VECTORS / "v1-malformed.json").read_text())
BY_NAME = {vector["name"]: vector for vector in GOLDEN}


def body_of(vector: dict[str, Any]) -> bytes:
    spec = vector["body"]
    if "utf8" in spec:
        return str(spec["utf8"]).encode("utf-8")
    return bytes(i % 251 for i in range(spec["pattern_i_mod_251"]))


def replay(hex_bytes: str) -> Any:
    """A random source that returns the vector's recorded bytes, in order, and nothing more."""
    source = io.BytesIO(bytes.fromhex(hex_bytes))

    def random(size: int) -> bytes:
        data = source.read(size)
        assert len(data) == size, "the implementation drew more randomness than recorded"
        return data

    random.source = source  # type: ignore[attr-defined]
    return random


def meta_of(vector: dict[str, Any]) -> Meta:
    return Meta(**vector["meta"])


def test_vectors_cover_the_format() -> None:
    kinds = {(v["suite"], v["passphrase"] is not None) for v in GOLDEN}
    assert kinds == {(1, False), (1, True), (2, False), (2, True)}
    assert any(v["expected"]["blob_length"] > 2 * 65536 for v in GOLDEN)
    assert {v["meta"]["kind"] for v in GOLDEN} == {"text", "file"}
    # The padding floor: a 1 KiB body with the longest envelope still pads to 1600 bytes.
    assert any(
        len(v["expected"]["envelope"]) == 2 * 521
        and v["expected"]["padded_length"] == 1600
        and v["body"] == {"pattern_i_mod_251": 1024}
        for v in GOLDEN
    )


@pytest.mark.parametrize("vector", GOLDEN, ids=[v["name"] for v in GOLDEN])
def test_golden_vector_reencrypts_byte_for_byte(vector: dict[str, Any]) -> None:
    expected = vector["expected"]
    kdf = vector["kdf"] or {"opslimit": 2, "memlimit": 64 << 20}
    random = replay(vector["random"])
    sealed = seal(
        body_of(vector),
        id=bytes.fromhex(vector["id"]),
        key=bytes.fromhex(vector["key"]),
        meta=meta_of(vector),
        passphrase=vector["passphrase"],
        opslimit=kdf["opslimit"],
        memlimit=kdf["memlimit"],
        suite=Suite(vector["suite"]),
        binding=vector["binding"],
        random=random,
    )
    assert random.source.read() == b""
    assert sealed.header_bytes.hex() == expected["header"]
    assert len(sealed.header_bytes) == expected["header_length"]
    assert sealed.header.padded_length == expected["padded_length"]
    assert len(sealed.blob) == expected["blob_length"]
    assert hashlib.sha256(sealed.blob).hexdigest() == expected["blob_sha256"]
    assert sealed.blob == stored_blob(vector)
    keys = sealed.keys
    assert keys.payload_key.hex() == expected["payload_key"]
    assert keys.link_proof.hex() == expected["link_proof"]
    assert keys.link_verifier.hex() == expected["link_verifier"]
    assert (keys.passphrase_proof or b"").hex() == (expected["passphrase_proof"] or "")
    assert (keys.passphrase_verifier or b"").hex() == (expected["passphrase_verifier"] or "")
    assert hashlib.sha256(body_of(vector)).hexdigest() == vector["body_sha256"]


@pytest.mark.parametrize(
    "vector", [v for v in GOLDEN if v["suite"] == 2], ids=lambda v: str(v["name"])
)
def test_golden_stream_vector_through_seal_stream(vector: dict[str, Any]) -> None:
    body = body_of(vector)
    kdf = vector["kdf"] or {"opslimit": 2, "memlimit": 64 << 20}
    sealed = seal_stream(
        io.BytesIO(body),
        len(body),
        id=bytes.fromhex(vector["id"]),
        key=bytes.fromhex(vector["key"]),
        meta=meta_of(vector),
        passphrase=vector["passphrase"],
        opslimit=kdf["opslimit"],
        memlimit=kdf["memlimit"],
        random=replay(vector["random"]),
        binding=vector["binding"],
    )
    digest = hashlib.sha256()
    for chunk in sealed.chunks:
        digest.update(chunk)
    assert digest.hexdigest() == vector["expected"]["blob_sha256"]
    assert sealed.length == vector["expected"]["blob_length"]


def stored_blob(vector: dict[str, Any]) -> bytes:
    """The vector's blob as the files hold it: inline hex, or the file named by ``blob_file``."""
    expected = vector["expected"]
    if "blob" in expected:
        return bytes.fromhex(expected["blob"])
    return (VECTORS / str(expected["blob_file"])).read_bytes()


@pytest.mark.parametrize("vector", GOLDEN, ids=[v["name"] for v in GOLDEN])
def test_every_golden_blob_is_in_the_files(vector: dict[str, Any]) -> None:
    """Inline up to 4096 bytes, else in tests/vectors/v1-blobs/: a reader needs no writer."""
    expected = vector["expected"]
    assert ("blob" in expected) == (expected["blob_length"] <= 4096)
    assert ("blob_file" in expected) == (expected["blob_length"] > 4096)
    blob = stored_blob(vector)
    assert len(blob) == expected["blob_length"]
    assert hashlib.sha256(blob).hexdigest() == expected["blob_sha256"]
    assert blob[: expected["header_length"]].hex() == expected["header"]


def _rebuild_blob(vector: dict[str, Any]) -> bytes:
    if "blob" in vector["expected"]:
        return bytes.fromhex(vector["expected"]["blob"])
    kdf = vector["kdf"] or {"opslimit": 2, "memlimit": 64 << 20}
    return seal(
        body_of(vector),
        id=bytes.fromhex(vector["id"]),
        key=bytes.fromhex(vector["key"]),
        meta=meta_of(vector),
        passphrase=vector["passphrase"],
        opslimit=kdf["opslimit"],
        memlimit=kdf["memlimit"],
        suite=Suite(vector["suite"]),
        binding=vector["binding"],
        random=replay(vector["random"]),
    ).blob


@pytest.mark.parametrize("vector", GOLDEN, ids=[v["name"] for v in GOLDEN])
def test_golden_vector_opens_from_its_link(vector: dict[str, Any]) -> None:
    link = parse_link(vector["link"])
    assert link.id.hex() == vector["id"]
    assert link.key.hex() == vector["key"]
    blob = _rebuild_blob(vector)
    assert hashlib.sha256(blob).hexdigest() == vector["expected"]["blob_sha256"]
    header, _ = decode_header(blob)
    assert header.needs_passphrase == (vector["passphrase"] is not None)
    if vector["passphrase"] is not None:
        password = bytes.fromhex(vector["passphrase_nfc_utf8"])
        kdf = vector["kdf"]
        stretched = nacl.pwhash.argon2id.kdf(
            32, password, bytes.fromhex(kdf["salt"]), kdf["opslimit"], kdf["memlimit"]
        )
        assert stretched.hex() == vector["expected"]["argon2id_output"]
    keys = derive_keys(header, link.key, vector["passphrase"])
    assert keys.link_verifier.hex() == vector["expected"]["link_verifier"]
    opened = open_blob(blob, id=link.id, keys=keys)
    assert opened.body == body_of(vector)
    assert opened.meta == meta_of(vector)
    streamed = open_stream(split(blob, [1000, 70_000]), id=link.id, keys=keys)
    assert streamed.meta == meta_of(vector)
    assert b"".join(streamed.chunks) == body_of(vector)


# --- malformed ------------------------------------------------------------------------------


def _chunks(blob: bytes) -> tuple[bytes, list[bytes]]:
    header, length = decode_header(blob)
    chunks, offset = [], length
    for size in ciphertext_chunk_sizes(header.padded_length):
        chunks.append(blob[offset : offset + size])
        offset += size
    return blob[:length], chunks


def mutate(blob: bytes, mutation: dict[str, Any] | None) -> bytes:
    if mutation is None:
        return blob
    op = mutation["op"]
    data = bytearray(blob)
    if op == "xor":
        data[mutation["offset"]] ^= mutation["mask"]
    elif op == "set":
        value = bytes.fromhex(mutation["hex"])
        offset = mutation["offset"]
        data[offset : offset + len(value)] = value
    elif op == "truncate":
        data = data[: mutation["length"]]  # a negative length counts from the end
    elif op == "append":
        data += bytes.fromhex(mutation["hex"])
    else:
        header, chunks = _chunks(blob)
        if op == "swap_chunks":
            a, b = mutation["a"], mutation["b"]
            chunks[a], chunks[b] = chunks[b], chunks[a]
        elif op == "drop_chunk":
            del chunks[mutation["index"]]
        elif op == "repeat_chunk":
            chunks.insert(mutation["index"], chunks[mutation["index"]])
        else:  # pragma: no cover - a vector file this test does not understand
            pytest.fail(f"unknown mutation {op}")
        return header + b"".join(chunks)
    return bytes(data)


def _error_class(name: str) -> type[errors.OtsError]:
    error: type[errors.OtsError] = getattr(errors, name)
    assert issubclass(error, errors.CryptoError)
    return error


def _open_like_a_reader(
    blob: bytes, id_: bytes, key: bytes, passphrase: str | None, *, streaming: bool, argon2: Any
) -> bytes:
    """Parse the header, derive keys from it, then open: the steps FORMAT.md prescribes."""
    header, _ = decode_header(blob)
    keys = derive_keys(header, key, passphrase if header.needs_passphrase else None, argon2=argon2)
    if streaming:
        return b"".join(open_stream(split(blob, [777]), id=id_, keys=keys).chunks)
    return open_blob(blob, id=id_, keys=keys).body


@pytest.mark.parametrize("streaming", [False, True], ids=["open_blob", "open_stream"])
@pytest.mark.parametrize(
    "case", MALFORMED["blob_mutations"], ids=[c["name"] for c in MALFORMED["blob_mutations"]]
)
def test_blob_mutations_are_rejected(case: dict[str, Any], streaming: bool) -> None:
    vector = BY_NAME[case["vector"]]
    blob = mutate(_rebuild_blob(vector), case["mutation"])
    error = _error_class(case["error"])
    key = bytes.fromhex(case.get("key") or vector["key"])
    passphrase = case.get("passphrase") or vector["passphrase"]

    def argon2(size: int, password: bytes, salt: bytes, ops: int, mem: int) -> bytes:
        assert error is not errors.KdfParamsRefused, "Argon2id ran for refused parameters"
        result: bytes = nacl.pwhash.argon2id.kdf(size, password, salt, ops, mem)
        return result

    with pytest.raises(error):
        _open_like_a_reader(
            blob, bytes.fromhex(vector["id"]), key, passphrase, streaming=streaming, argon2=argon2
        )


@pytest.mark.parametrize(
    "case", MALFORMED["forged_plaintext"], ids=[c["name"] for c in MALFORMED["forged_plaintext"]]
)
def test_authentic_but_malformed_plaintext_is_rejected(case: dict[str, Any]) -> None:
    blob, id_ = bytes.fromhex(case["blob"]), bytes.fromhex(case["id"])
    header, _ = decode_header(blob)
    keys = derive_keys(header, bytes.fromhex(case["key"]), None)
    error = _error_class(case["error"])
    with pytest.raises(error):
        open_blob(blob, id=id_, keys=keys)
    with pytest.raises(error):
        b"".join(open_stream(split(blob, [4096]), id=id_, keys=keys).chunks)


@pytest.mark.parametrize(
    "case", MALFORMED["headers"], ids=[c["name"] for c in MALFORMED["headers"]]
)
def test_header_cases(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["header"])
    if case["error"] is None:
        header, length = decode_header(data)
        assert length == case["length"]
        assert header.encode() == data[:length]
    else:
        with pytest.raises(_error_class(case["error"])):
            decode_header(data)


@pytest.mark.parametrize("case", MALFORMED["links"], ids=lambda c: repr(c["text"])[:60])
def test_link_cases(case: dict[str, Any]) -> None:
    if case["error"] is None:
        link = parse_link(case["text"])
        assert (link.server, link.id.hex(), link.key.hex()) == (
            case["server"],
            case["id"],
            case["key"],
        )
    else:
        with pytest.raises(errors.BadLink):
            parse_link(case["text"])


@pytest.mark.parametrize("case", MALFORMED["base64url"], ids=lambda c: repr(c["text"]))
def test_base64url_cases(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(errors.FormatError):
            b64.decode(case["text"], case["length"])
    else:
        assert b64.decode(case["text"], case["length"]).hex() == case["hex"]


def _field_names(value: Any) -> set[str]:
    """Every object key in ``value``, and every mutation ``op``, recursively."""
    names: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            names.add(key)
            if key == "op":
                names.add(item)
            names |= _field_names(item)
    elif isinstance(value, list):
        for item in value:
            names |= _field_names(item)
    return names


def test_format_md_describes_every_field_of_the_vector_files() -> None:
    """docs/FORMAT.md's "Test vectors" section names every field (and mutation) the files use."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "FORMAT.md").read_text()
    section = text[text.index("## Test vectors") : text.index("## Performance")]
    files = [
        json.loads((VECTORS / "v1-blobs.json").read_text()),
        MALFORMED,
        json.loads((VECTORS / "v1-requests.json").read_text()),
    ]
    missing = {
        name
        for name in _field_names(files)
        if not re.search(rf"[`\".]{re.escape(name)}[`\"]", section)
    }
    assert not missing, f"FORMAT.md, Test vectors, does not describe {sorted(missing)}"
