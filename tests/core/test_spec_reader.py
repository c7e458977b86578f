"""A second, independent reader written from docs/FORMAT.md alone, run on the golden vectors.

It uses only the standard library, the ciphers of :mod:`spec_secretstream` (both suites,
written from FORMAT.md too) and PyNaCl's Argon2id, none of ots_cli's code and no libsodium
cipher, so it checks that the document (not just the reference implementation) is enough to
decrypt a blob given its link and passphrase.

It follows "Opening a blob" step by step, in that order, against a simulated server that
records whether a reveal was asked for: a header refused at the peek (another id, an unknown
version, refused Argon2id parameters) never spends a view. Every error is one of FORMAT.md's
classes, so the malformed vectors are checked for the exact error they list.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
import struct
import unicodedata
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import nacl.pwhash.argon2id
import pytest

from . import spec_secretstream as cipher
from .test_vectors import BY_NAME, GOLDEN, MALFORMED, body_of, mutate, stored_blob

Argon2 = Callable[[bytes, bytes, int, int], bytes]


class SpecError(Exception):
    """A rejection; the subclass's name is the class FORMAT.md's Errors table gives."""


class FormatError(SpecError):
    pass


class UnsupportedVersion(SpecError):
    pass


class KdfParamsRefused(SpecError):
    pass


class DecryptionFailed(SpecError):
    pass


class NotThisLink(SpecError):
    """Step 2: the peek's header belongs to another id; stopped before the reveal."""


def b64url(text: str) -> bytes:
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    assert base64.urlsafe_b64encode(data).rstrip(b"=").decode() == text
    return data


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int = 32) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def padme(n: int) -> int:
    e = math.floor(math.log2(n))
    s = math.floor(math.log2(e)) + 1
    mask = (1 << (e - s)) - 1
    return (n + mask) & ~mask


def padded(n: int) -> int:
    return 1600 if n <= 1600 else padme(n)


def argon2id(password: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    result: bytes = nacl.pwhash.argon2id.kdf(32, password, salt, opslimit, memlimit)
    return result


class Header(NamedTuple):
    raw: bytes
    suite: int
    id: bytes
    padded_length: int
    kdf: tuple[int, int, bytes] | None
    nonce: bytes
    binding: str | None = None


# FORMAT.md, Binding, as one regular expression over the bytes (".." and "." segments are
# refused separately).
BINDING = re.compile(
    rb"github:[A-Za-z0-9-]{1,39}/[A-Za-z0-9._-]{1,100}(@refs/[\x21-\x39\x3b-\x7e]+)?"
    rb"(:[A-Za-z0-9._-]+)?"
    rb"|gitlab:[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)+(@[\x21-\x39\x3b-\x7e]+)?"
)


def parse_link(link: str) -> tuple[bytes, bytes]:
    """``…/s/<id>#<key>`` (the golden vectors' links are full https links)."""
    path, fragment = link.split("#")
    link_id, key = b64url(path.rsplit("/s/", 1)[1]), b64url(fragment)
    assert (len(link_id), len(key)) == (16, 32)
    return link_id, key


def parse_header(data: bytes) -> Header:
    """FORMAT.md, Header: the checks in their order, each as soon as its bytes are there."""
    if data[:4] != b"\x89OTS"[: len(data[:4])] or len(data) < 5:
        raise FormatError("magic, or truncated before the version")
    if data[4] != 1:
        raise UnsupportedVersion("version")
    if len(data) > 5 and data[5] not in (1, 2):
        raise UnsupportedVersion("suite")
    if len(data) > 6 and data[6] & 0xFC:
        raise UnsupportedVersion("flags")
    if len(data) < 7 or len(data) < (79 if data[6] & 1 else 55):
        raise FormatError("truncated")
    suite, flags = data[5], data[6]
    (padded_length,) = struct.unpack(">Q", data[23:31])
    if not 1600 <= padded_length <= 1 << 40 or padded(padded_length) != padded_length:
        raise FormatError("padded length")
    if suite == 1 and padded_length > 1 << 27:
        raise FormatError("suite 1 above 128 MiB")
    kdf, offset = None, 31
    if flags & 1:
        kdf, offset = struct.unpack(">II16s", data[31:55]), 55
    end = offset + 24
    binding = None
    if flags & 2:  # FORMAT.md, Binding: u8 length (1..255) || canonical ASCII, after the nonce
        if len(data) <= end or data[end] == 0 or len(data) < end + 1 + data[end]:
            raise FormatError("binding truncated or empty")
        text = data[end + 1 : end + 1 + data[end]]
        if not BINDING.fullmatch(text) or b"/./" in text + b"/" or b"/../" in text + b"/":
            raise FormatError("binding not canonical")
        binding, end = text.decode("ascii"), end + 1 + data[end]
    header = Header(data[:end], suite, data[7:23], padded_length, kdf, data[offset:][:24])
    return header._replace(binding=binding)


def link_proof(link_id: bytes, key: bytes) -> bytes:
    """What a peek carries: it needs only the link (FORMAT.md, Key schedule)."""
    return hkdf(key, b"ots/v1/salt" + link_id, b"ots/v1 link-proof")


def derive(header: Header, key: bytes, passphrase: str | None, argon2: Argon2) -> dict[str, bytes]:
    """FORMAT.md, Key schedule, with the Argon2id bounds checked before Argon2id runs."""
    salt = b"ots/v1/salt" + header.id
    keys = {"link_proof": hkdf(key, salt, b"ots/v1 link-proof")}
    ikm = key
    if header.kdf is not None:
        opslimit, memlimit, kdf_salt = header.kdf
        if not (2 <= opslimit <= 10 and 64 << 20 <= memlimit <= 1 << 30 and memlimit % 1024 == 0):
            raise KdfParamsRefused("Argon2id parameters out of bounds")
        assert passphrase
        password = unicodedata.normalize("NFC", passphrase).encode("utf-8")
        ikm = key + argon2(password, kdf_salt, opslimit, memlimit)
        keys["passphrase_proof"] = hkdf(ikm, salt, b"ots/v1 passphrase-proof")
    keys["payload_key"] = hkdf(ikm, salt, b"ots/v1 payload-key")
    return keys


def decrypt(header: Header, blob: bytes, payload_key: bytes) -> bytes:
    """Steps 5 and 6: the blob's length, then the suite's authenticated decryption."""
    ciphertext = blob[len(header.raw) :]
    if header.suite == 1:
        if len(ciphertext) != header.padded_length + 16:
            raise DecryptionFailed("blob length")
        try:
            return cipher.xchacha20poly1305_decrypt(
                ciphertext, header.raw, header.nonce, payload_key
            )
        except cipher.AuthenticationFailed as exc:
            raise DecryptionFailed("suite 1 tag") from exc
    count = max(1, -(-header.padded_length // 65536))
    if len(ciphertext) != header.padded_length + 17 * count:
        raise DecryptionFailed("blob length")
    state = cipher.init(payload_key, header.nonce)
    parts, position = [], 0
    for index in range(count):
        size = min(65536, header.padded_length - index * 65536) + 17
        try:
            part, tag = cipher.pull(state, ciphertext[position : position + size], header.raw)
        except cipher.AuthenticationFailed as exc:
            raise DecryptionFailed(f"chunk {index}") from exc
        if tag != (cipher.TAG_FINAL if index == count - 1 else cipher.TAG_MESSAGE):
            raise DecryptionFailed(f"chunk {index} has tag {tag}")
        parts.append(part)
        position += size
    return b"".join(parts)


def parse_plaintext(plaintext: bytes, padded_length: int) -> dict[str, Any]:
    """Step 7: envelope, body length, padding."""
    try:
        kind, body_length = struct.unpack(">BQ", plaintext[:9])
        if kind not in (1, 2):
            raise FormatError("kind")
        position = 9
        name = None
        if kind == 2:
            name_length = plaintext[position]
            raw = plaintext[position + 1 : position + 1 + name_length]
            name = raw.decode("utf-8") or None
            position += 1 + name_length
        media_length = plaintext[position]
        raw_media = plaintext[position + 1 : position + 1 + media_length]
        position += 1 + media_length
    except (IndexError, UnicodeDecodeError) as exc:
        raise FormatError("envelope") from exc
    if name is not None and (
        name in (".", "..")
        or "/" in name
        or "\\" in name
        or any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in name)
    ):
        raise FormatError("file name")
    if not all(0x20 <= b <= 0x7E for b in raw_media):
        raise FormatError("media type")
    if position + body_length > padded_length or padded(position + body_length) != padded_length:
        raise FormatError("body length")
    end = position + body_length
    if plaintext[end:] != bytes(padded_length - end):
        raise FormatError("padding")
    return {
        "kind": {1: "text", 2: "file"}[kind],
        "name": name,
        "media_type": raw_media.decode("ascii") or None,
        "body": plaintext[position:end],
    }


class Api(Protocol):
    """What the reader needs from a server (docs/API.md): the peek's answer and a reveal."""

    peek_header: bytes
    size: int
    passphrase: bool
    binding: str | None

    def reveal(self, proofs: dict[str, bytes]) -> bytes: ...


class Server:
    """A simulated server: answers the peek with ``peek_header``, ``size`` (the whole blob's
    length), ``passphrase`` and ``binding`` (docs/API.md), and the reveal with ``blob``."""

    def __init__(
        self, peek_header: bytes, blob: bytes, passphrase: bool, binding: str | None = None
    ) -> None:
        self.peek_header, self.blob, self.passphrase = peek_header, blob, passphrase
        self.binding = binding
        self.size = len(blob)
        self.reveals: list[dict[str, bytes]] = []

    def reveal(self, proofs: dict[str, bytes]) -> bytes:
        self.reveals.append(proofs)
        return self.blob


def blob_length(header: Header) -> int:
    if header.suite == 1:
        return len(header.raw) + header.padded_length + 16
    return len(header.raw) + header.padded_length + 17 * max(1, -(-header.padded_length // 65536))


def open_link(
    link: str,
    server: Api,
    passphrase: str | None,
    argon2: Argon2 = argon2id,
    *,
    strict: bool = True,
) -> dict[str, Any]:
    """FORMAT.md, Opening a blob, steps 1 to 8 in order, through the API.

    ``strict``: also make step 2's SHOULD checks of the peek answer, as the reference client.
    """
    link_id, key = parse_link(link)  # 1
    peeked = parse_header(server.peek_header)  # 2
    if strict and len(peeked.raw) != len(server.peek_header):
        raise FormatError("the peek's header has bytes after the header")
    if not hmac.compare_digest(peeked.id, link_id):
        raise NotThisLink("the peek's header belongs to another id: no reveal")
    if strict and (peeked.kdf is not None) != server.passphrase:
        raise FormatError("the peek's passphrase flag contradicts the header")
    if strict and server.size != blob_length(peeked):
        raise FormatError("the peek's size contradicts the header")
    if strict and peeked.binding != server.binding:
        raise FormatError("the peek's binding contradicts the header (a server dropped it?)")
    keys = derive(peeked, key, passphrase, argon2)  # 3
    proofs = {k: v for k, v in keys.items() if k != "payload_key"}
    blob = server.reveal(proofs)  # 4: a view is spent from here on
    if not hmac.compare_digest(blob[: len(peeked.raw)], peeked.raw):  # 5
        raise DecryptionFailed("the blob does not start with the peek's header")
    return {**_open(blob, link_id, keys), **proofs}


def open_blob(blob: bytes, link: str, passphrase: str | None) -> dict[str, Any]:
    """The same steps for a reader that has the blob itself: the header is its first bytes."""
    link_id, key = parse_link(link)  # 1
    header = parse_header(blob)  # 2
    if not hmac.compare_digest(header.id, link_id):
        raise DecryptionFailed("the blob's header belongs to another id")
    keys = derive(header, key, passphrase, argon2id)  # 3 (4: the blob is already here)
    return _open(blob, link_id, keys)


def _open(blob: bytes, link_id: bytes, keys: dict[str, bytes]) -> dict[str, Any]:
    header = parse_header(blob)  # 5
    if not hmac.compare_digest(header.id, link_id):
        raise DecryptionFailed("the blob's header belongs to another id")
    plaintext = decrypt(header, blob, keys["payload_key"])  # 5 (length), 6
    return parse_plaintext(plaintext, header.padded_length)  # 7, 8


@pytest.mark.parametrize("vector", GOLDEN, ids=[v["name"] for v in GOLDEN])
def test_independent_reader_opens_every_golden_vector(vector: dict[str, Any]) -> None:
    blob = stored_blob(vector)
    assert hashlib.sha256(blob).hexdigest() == vector["expected"]["blob_sha256"]
    header = blob[: vector["expected"]["header_length"]]
    server = Server(header, blob, bool(vector["passphrase"]), vector["binding"])
    result = open_link(vector["link"], server, vector["passphrase"])
    assert len(server.reveals) == 1
    assert result["body"] == body_of(vector)
    assert (result["kind"], result["name"], result["media_type"]) == (
        vector["meta"]["kind"],
        vector["meta"]["name"],
        vector["meta"]["media_type"],
    )
    expected = vector["expected"]
    assert result["link_proof"].hex() == expected["link_proof"]
    assert hashlib.sha256(result["link_proof"]).hexdigest() == expected["link_verifier"]
    if vector["passphrase"] is not None:
        assert result["passphrase_proof"].hex() == expected["passphrase_proof"]
        assert (
            hashlib.sha256(result["passphrase_proof"]).hexdigest()
            == expected["passphrase_verifier"]
        )


def _refused_at_the_peek(error: type[SpecError]) -> bool:
    return error in (FormatError, UnsupportedVersion, KdfParamsRefused, NotThisLink)


@pytest.mark.parametrize(
    "case", MALFORMED["blob_mutations"], ids=[c["name"] for c in MALFORMED["blob_mutations"]]
)
def test_independent_reader_rejects_every_blob_mutation(case: dict[str, Any]) -> None:
    """A hostile server: the mutated blob's header at the peek, the mutated blob at the reveal.

    The vector's error is what a reader that has the blob itself gets (step 5 checks the id);
    through the API, a header of another id is stopped at step 2 instead, before the reveal,
    and every error found in the peek's header spends no view.
    """
    vector = BY_NAME[case["vector"]]
    blob = mutate(stored_blob(vector), case["mutation"])
    link = vector["link"]
    if "key" in case:
        link = (
            link.split("#")[0]
            + "#"
            + base64.urlsafe_b64encode(bytes.fromhex(case["key"])).rstrip(b"=").decode()
        )
    passphrase = case.get("passphrase") or vector["passphrase"]
    ran: list[bool] = []

    def argon2(password: bytes, salt: bytes, opslimit: int, memlimit: int) -> bytes:
        ran.append(True)
        return argon2id(password, salt, opslimit, memlimit)

    expected = case["error"]
    with pytest.raises(SpecError) as from_blob:
        open_blob(blob, link, passphrase)
    assert type(from_blob.value).__name__ == expected

    peek_header = blob[: vector["expected"]["header_length"]]
    errors = {}
    for strict in (False, True):
        ran.clear()
        server = Server(peek_header, blob, vector["passphrase"] is not None, vector["binding"])
        with pytest.raises(SpecError) as through_api:
            open_link(link, server, passphrase, argon2, strict=strict)
        error = errors[strict] = type(through_api.value)
        assert not (ran and error is KdfParamsRefused)
        assert bool(server.reveals) != _refused_at_the_peek(error)
    if len(blob) >= 23 and bytes.fromhex(vector["id"]) != blob[7:23]:
        assert errors[False] is NotThisLink
    else:
        assert errors[False].__name__ == expected
    # FORMAT.md, Test vectors: the SHOULD checks of the peek answer stop these at step 2.
    if case["name"] in _STOPPED_BY_THE_PEEK_ANSWER:
        assert errors[True] is FormatError
    else:
        assert errors[True] is errors[False]


_STOPPED_BY_THE_PEEK_ANSWER = {
    "passphrase flag cleared",
    "one byte appended",
    "truncated by one",
    "stream extended",
    "stream truncated inside the last chunk",
    "chunk dropped",
    "last chunk dropped",
    "chunk repeated",
    "padded length another bucket",
    "suite 1 relabelled as 2",
    "binding changed (main to mail)",
    "binding flag cleared",
    "binding length cut to a prefix",
}


@pytest.mark.parametrize(
    "case", MALFORMED["forged_plaintext"], ids=[c["name"] for c in MALFORMED["forged_plaintext"]]
)
def test_independent_reader_rejects_forged_plaintext(case: dict[str, Any]) -> None:
    blob = bytes.fromhex(case["blob"])
    link = (
        "https://ots.example.com/s/"
        + base64.urlsafe_b64encode(bytes.fromhex(case["id"])).rstrip(b"=").decode()
        + "#"
        + base64.urlsafe_b64encode(bytes.fromhex(case["key"])).rstrip(b"=").decode()
    )
    with pytest.raises(SpecError) as rejected:
        open_blob(blob, link, None)
    assert type(rejected.value).__name__ == case["error"]


@pytest.mark.parametrize(
    "case", MALFORMED["headers"], ids=[c["name"] for c in MALFORMED["headers"]]
)
def test_independent_reader_parses_headers_like_the_vectors(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["header"])
    if case["error"] is None:
        assert len(parse_header(data).raw) == case["length"]
    else:
        with pytest.raises(SpecError) as rejected:
            parse_header(data)
        assert type(rejected.value).__name__ == case["error"]


def test_a_peek_header_of_another_secret_is_refused_before_the_reveal() -> None:
    """Step 2 (issue 14, item 29): the view is not spent, no proof for another id is sent."""
    mine, theirs = BY_NAME["sealed-text"], BY_NAME["sealed-file"]
    blob = stored_blob(mine)
    foreign_header = stored_blob(theirs)[: theirs["expected"]["header_length"]]
    server = Server(foreign_header, blob, False)
    with pytest.raises(NotThisLink):
        open_link(mine["link"], server, None)
    assert server.reveals == []
    # The same blob with its own header at the peek opens.
    assert open_link(mine["link"], Server(blob[:55], blob, False), None)["body"] == body_of(mine)


BOUND = [v for v in GOLDEN if v["binding"] is not None]


@pytest.mark.parametrize("vector", BOUND, ids=[v["name"] for v in BOUND])
def test_a_server_that_drops_the_binding_is_caught(vector: dict[str, Any]) -> None:
    """FORMAT.md, Binding: a server that forgets the binding in its policy is caught at the
    peek (no view spent); one that also strips it from the header and blob fails decryption."""
    blob = stored_blob(vector)
    header = blob[: vector["expected"]["header_length"]]
    passphrase = bool(vector["passphrase"])
    forgetful = Server(header, blob, passphrase, None)
    with pytest.raises(FormatError):
        open_link(vector["link"], forgetful, vector["passphrase"])
    assert forgetful.reveals == []
    # Strip the binding: clear flag bit 1 and cut the length byte and text after the nonce.
    base = len(header) - 1 - len(vector["binding"])
    stripped = bytearray(blob[:base]) + blob[len(header) :]
    stripped[6] &= ~2
    server = Server(bytes(stripped[:base]), bytes(stripped), passphrase, None)
    with pytest.raises(DecryptionFailed):
        open_link(vector["link"], server, vector["passphrase"])
    assert len(server.reveals) == 1
