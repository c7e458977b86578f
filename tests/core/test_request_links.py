"""Request links: the secret-link rules with ``/r/``, the mirror hints, and unsealable keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.public import PublicKey, SealedBox

from ots_cli.core import b64
from ots_cli.core.links import parse_link
from ots_cli.core.request_crypto import is_sealable, new_key_pair
from ots_cli.core.request_links import RequestLink, build_request_link, parse_request_link
from ots_cli.errors import BadLink, InsecureHttp, OtsError

ID = bytes(range(16))
PUBLIC_KEY = new_key_pair(lambda size: bytes(range(7, 7 + size))).public_key
ID_TEXT = b64.encode(ID)
PK_TEXT = b64.encode(PUBLIC_KEY)
LINK = f"https://ots.example.com/r/{ID_TEXT}#{PK_TEXT}"

#: Points of small order (and their non-canonical encodings) libsodium refuses for X25519:
#: the list of its ``has_small_order``, also with the top bit set (which X25519 ignores).
LOW_ORDER = [
    bytes(32),
    bytes([1]) + bytes(31),
    bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),
    bytes.fromhex("5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157"),
    bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    bytes.fromhex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
]
LOW_ORDER += [point[:31] + bytes([point[31] | 0x80]) for point in LOW_ORDER]

servers = st.sampled_from(
    [
        "https://ots.example.com",
        "https://example.com/a/b-c",
        "http://127.0.0.1:8000",
        "http://[::1]:65535/p",
    ]
)


def _libsodium_seals_to(public_key: bytes) -> bool:
    try:
        SealedBox(PublicKey(public_key)).encrypt(b"x" * 48)
    except Exception:  # PyNaCl's RuntimeError
        return False
    return True


@given(servers, st.binary(min_size=16, max_size=16), st.sampled_from(["", " ", "\n"]))
def test_round_trip(server: str, id_: bytes, space: str) -> None:
    pair = new_key_pair()
    text = space + build_request_link(server, id_, pair.public_key) + space
    link = parse_request_link(text)
    assert link == RequestLink(server=server, id=id_, public_key=pair.public_key)
    assert link.id_text == b64.encode(id_)


def test_shape_quotes_and_bare_form() -> None:
    assert build_request_link("https://ots.example.com/", ID, PUBLIC_KEY) == LINK
    assert parse_request_link(f'"<{LINK}>"').server == "https://ots.example.com"
    bare = parse_request_link(f"{ID_TEXT}#{PK_TEXT}")
    assert (bare.server, bare.id, bare.public_key) == (None, ID, PUBLIC_KEY)
    with pytest.raises(ValueError, match="16-byte id"):
        build_request_link("https://h.example", ID[:15], PUBLIC_KEY)


def test_repr_hides_id_and_public_key() -> None:
    text = repr(parse_request_link(LINK))
    assert PK_TEXT not in text
    assert repr(PUBLIC_KEY) not in text
    assert repr(ID) not in text
    assert "ots.example.com" in text


def test_each_kind_of_link_names_the_command_that_takes_it() -> None:
    with pytest.raises(BadLink, match=r"this is a request link: answer it with `ots respond`"):
        parse_link(LINK)
    with pytest.raises(BadLink, match=r"secret link, not a request: read it with `ots get`"):
        parse_request_link(LINK.replace("/r/", "/s/"))


@pytest.mark.parametrize("point", LOW_ORDER, ids=lambda p: p.hex()[:12])
def test_low_order_public_keys_are_damaged_links(point: bytes) -> None:
    assert not _libsodium_seals_to(point)
    assert not is_sealable(point)
    with pytest.raises(BadLink, match="the link is damaged") as info:
        parse_request_link(f"https://ots.example.com/r/{ID_TEXT}#{b64.encode(point)}")
    assert info.value.exit_code == 2


@given(st.binary(min_size=32, max_size=32))
def test_the_parser_refuses_exactly_what_libsodium_refuses(public_key: bytes) -> None:
    assert is_sealable(public_key) == _libsodium_seals_to(public_key)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (LINK.split("#")[0], "the link has no public key; it was probably cut off"),
        (LINK.split("#")[0] + "#", "the link has no public key"),
        (LINK[:-1], "public key in the link has 42 characters, expected 43"),
        (LINK[:-20], "public key in the link has 23 characters"),
        (LINK.replace(ID_TEXT, ID_TEXT[:-1]), "request id in the link has 21 characters"),
        (LINK + "=", "public key in the link has padding"),
        (LINK.replace("/r/", "/x/"), "does not point to a request"),
        (LINK.replace("/r/", "/r/r/x/"), "does not point to a request"),
        (LINK.replace("https", "http"), "refusing plain http://"),
        (LINK.replace("/r/", "/r/?q&"), "query string"),
        (LINK.replace("ots.example", "u@ots.example"), "user name"),
        (LINK + "#" + PK_TEXT, "more than one '#'"),
        (f"#{PK_TEXT}", "the link has no request id"),
        ("otsr_" + PK_TEXT, "this is a receipt"),
        (LINK[:30] + "\n" + LINK[30:], "whitespace"),
    ],
)
def test_rejections_follow_the_secret_link_rules(text: str, message: str) -> None:
    with pytest.raises(BadLink) as info:
        parse_request_link(text)
    assert message in info.value.message
    for part in (PK_TEXT, PK_TEXT[:10], PK_TEXT[-10:]):
        assert part not in info.value.message
        assert all(part not in hint for hint in info.value.hints)


@given(st.text(max_size=120))
def test_fuzz_the_same_rules_as_secret_links(text: str) -> None:
    """Any text is refused by both parsers alike, once its path segment is swapped."""
    secret_error: OtsError | None = None
    request_error: OtsError | None = None
    try:
        parse_link(text)
    except OtsError as exc:
        secret_error = exc
    try:
        link = parse_request_link(text.replace("/s/", "/r/"))
    except OtsError as exc:
        request_error = exc
    if request_error is None:
        assert is_sealable(link.public_key)
    else:
        assert type(request_error) in (BadLink, InsecureHttp)
    if secret_error is None and "/s/" in text:
        assert request_error is None or "damaged" in request_error.message
