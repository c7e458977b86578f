"""Links: build/parse round trips, every rejected shape with its message, and no key leaks."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ots_cli.core import b64, links
from ots_cli.core.links import ID_BYTES, KEY_BYTES, Link, build_link, new_id_and_key, parse_link
from ots_cli.errors import BadLink, InsecureHttp, OtsError, UsageError

ID = bytes(range(16))
KEY = bytes(range(100, 132))
ID_TEXT = b64.encode(ID)
KEY_TEXT = b64.encode(KEY)
CUT_OFF = "the link has no key; it was probably cut off by the app it was pasted in"

ids = st.binary(min_size=ID_BYTES, max_size=ID_BYTES)
keys = st.binary(min_size=KEY_BYTES, max_size=KEY_BYTES)
#: Servers a link may name (the browser's link parser is checked against these tables too:
#: tests/web/test_links_in_browser.py).
SERVERS = [
    "https://ots.example.com",
    "https://ots.example.com:8443",
    "https://example.com/ots",
    "https://example.com/a/b-c/d_e.f~g",
    "http://127.0.0.1:8000",
    "http://127.9.8.7",
    "http://localhost:1",
    "http://[::1]:65535/p",
    "https://[2001:db8::1]",
]
servers = st.sampled_from(SERVERS)


@given(servers, ids, keys, st.sampled_from(["", " ", "\n", "\t \r\n"]))
def test_round_trip(server: str, id_: bytes, key: bytes, space: str) -> None:
    link = parse_link(space + build_link(server, id_, key) + space)
    assert link == Link(server=server, id=id_, key=key)
    assert link.url() == build_link(server, id_, key)
    assert link.id_text == b64.encode(id_)


@given(ids, keys)
def test_bare_id_and_key(id_: bytes, key: bytes) -> None:
    link = parse_link(f" {b64.encode(id_)}#{b64.encode(key)}\n")
    assert (link.server, link.id, link.key) == (None, id_, key)
    with pytest.raises(ValueError, match="no server"):
        link.url()


def test_build_link_shape_and_trailing_slash() -> None:
    assert build_link("https://h.example/", ID, KEY) == f"https://h.example/s/{ID_TEXT}#{KEY_TEXT}"
    with pytest.raises(ValueError, match="16-byte id"):
        build_link("https://h.example", ID[:15], KEY)
    with pytest.raises(ValueError, match="16-byte id"):
        build_link("https://h.example", ID, KEY + b"x")


def test_scheme_and_host_are_normalised_to_lower_case() -> None:
    link = parse_link(f"HTTPS://OTS.Example.COM/Pre/s/{ID_TEXT}#{KEY_TEXT}")
    assert link.server == "https://ots.example.com/Pre"


def test_new_id_and_key_uses_the_injected_random() -> None:
    calls: list[int] = []

    def random(size: int) -> bytes:
        calls.append(size)
        return bytes([len(calls)]) * size

    assert new_id_and_key(random) == (b"\x01" * 16, b"\x02" * 32)
    assert calls == [16, 32]
    with pytest.raises(ValueError, match="wrong number"):
        new_id_and_key(lambda size: b"short")


def test_repr_hides_id_and_key() -> None:
    text = repr(parse_link(f"https://h.example/s/{ID_TEXT}#{KEY_TEXT}"))
    assert KEY_TEXT not in text
    assert repr(KEY) not in text
    assert repr(ID) not in text
    assert "h.example" in text


LINK = f"https://ots.example.com/s/{ID_TEXT}#{KEY_TEXT}"


REJECTIONS = [
    ("", "the link is empty", None),
    ("   \n", "the link is empty", None),
    (LINK.split("#")[0], CUT_OFF, "including the part after '#'"),
    (LINK.split("#")[0] + "#", CUT_OFF, "including the part after '#'"),
    (ID_TEXT, CUT_OFF, None),
    (ID_TEXT + "#", CUT_OFF, None),
    ("otsr_" + KEY_TEXT, "this is a receipt, not a link", "ots status"),
    (LINK.replace("https", "ftp"), "unsupported link scheme", "loopback"),
    (LINK.replace("https", "javascript"), "unsupported link scheme", None),
    (LINK.replace("https://", ""), "no scheme", "https://"),
    (LINK.replace("https", "http"), "refusing plain http://", "--insecure"),
    (LINK.replace("/s/", "/s/?x=1&"), "query string", None),
    (LINK.replace("#", "?x#"), "query string", None),
    (LINK.replace("ots.example", "me:pw@ots.example"), "user name or password", None),
    (LINK.replace("ots.example.com", ""), "invalid host", None),
    (LINK.replace("ots.example.com", "ots_x.example.com"), "invalid host", None),
    (LINK.replace("ots.example.com", "-ots.example.com"), "invalid host", None),
    (LINK.replace("ots.example.com", "[::1"), "invalid host", None),
    (LINK.replace("ots.example.com", "[127.0.0.1]"), "invalid host", None),
    (LINK.replace("ots.example.com", "[::1]x"), "invalid host", None),
    (LINK.replace("ots.example.com", "[::1]:"), "invalid port", None),
    (LINK.replace(".com", ".com:"), "invalid port", None),
    (LINK.replace(".com", ".com:0"), "invalid port", None),
    (LINK.replace(".com", ".com:65536"), "invalid port", None),
    (LINK.replace(".com", ".com:8x"), "invalid port", None),
    (LINK.replace(".com", ".com:٣"), "invalid port", None),
    (LINK.replace("/s/", "/x/"), "does not point to a secret", "/s/ID#KEY"),
    (LINK.replace("#", "/#"), "does not point to a secret", None),
    (LINK.replace("/s/", "//s/"), "does not point to a secret", None),
    (LINK.replace("/s/", "/a b/s/"), "whitespace", "wrapped"),
    (LINK + "=", "key in the link has padding characters", "unpadded"),
    (LINK.replace("#", "==#"), "secret id in the link has padding characters", None),
    (LINK + ".", "key in the link has characters outside base64url", "punctuation"),
    (LINK + ")", "key in the link has characters outside base64url", None),
    (LINK.replace(KEY_TEXT, KEY_TEXT[:10] + "%2B" + KEY_TEXT[13:]), "percent-encoded", None),
    (LINK[:-1], "key in the link has 42 characters, expected 43", "after '#'"),
    (LINK + "A", "key in the link has 44 characters, expected 43", None),
    (LINK.replace(ID_TEXT, ID_TEXT[:-1]), "secret id in the link has 21 characters", None),
    (LINK[:-1] + "B", "key in the link is not canonical", None),
    (LINK + "#" + KEY_TEXT, "more than one '#'", None),
    (f"{ID_TEXT}x#{KEY_TEXT}", "secret id in the link has 23 characters", None),
    (f"#{KEY_TEXT}", "the link has no secret id", None),
    (f"{ID_TEXT}#{KEY_TEXT} {KEY_TEXT}", "whitespace", None),
]


@pytest.mark.parametrize(("text", "message", "hint"), REJECTIONS)
def test_rejections(text: str, message: str, hint: str | None) -> None:
    with pytest.raises(BadLink) as info:
        parse_link(text)
    error = info.value
    assert message in error.message
    if hint is not None:
        assert any(hint in h for h in error.hints), error.hints
    assert isinstance(error, UsageError)
    assert error.exit_code == 2
    for part in (KEY_TEXT, KEY_TEXT[:10], KEY_TEXT[-10:]):
        assert part not in error.message
        assert all(part not in h for h in error.hints)


LOOPBACK = [
    "http://127.0.0.1",
    "http://127.255.0.1:80",
    "http://localhost:8000",
    "http://[::1]",
    "http://[0:0:0:0:0:0:0:1]",
]
NOT_LOOPBACK = [
    "http://10.0.0.1",
    "http://localhost.example.com",
    "http://[::2]",
    "http://128.0.0.1",
]


@pytest.mark.parametrize("server", LOOPBACK)
def test_http_is_accepted_on_loopback(server: str) -> None:
    assert parse_link(build_link(server, ID, KEY)).server == server


@pytest.mark.parametrize("server", NOT_LOOPBACK)
def test_http_elsewhere_only_when_allowed(server: str) -> None:
    link = build_link(server, ID, KEY)
    with pytest.raises(InsecureHttp, match="not this machine"):
        parse_link(link)
    assert parse_link(link, allow_insecure_http=True).server == server


@given(st.text(max_size=120))
def test_fuzz_only_bad_link_and_never_the_text(text: str) -> None:
    error: OtsError | None = None
    try:
        link = parse_link(text)
    except OtsError as exc:
        error = exc
    if error is None:
        assert len(link.id) == ID_BYTES
        assert len(link.key) == KEY_BYTES
        return
    assert type(error) in (BadLink, InsecureHttp)
    stripped = text.strip()
    if len(stripped) >= 8:
        assert stripped not in error.message
        assert all(stripped not in h for h in error.hints)


@given(keys, st.integers(0, 42), st.sampled_from(list("=.,;)]}>!?'\"*+/%& \n")))
def test_corrupted_keys_never_appear_in_errors(key: bytes, position: int, char: str) -> None:
    key_text = b64.encode(key)
    corrupted = key_text[:position] + char + key_text[position + 1 :]
    with pytest.raises(BadLink) as info:
        parse_link(f"https://h.example/s/{ID_TEXT}#{corrupted}")
    rendered = " ".join((info.value.message, *info.value.hints))
    for start in range(0, 43 - 8):
        assert key_text[start : start + 8] not in rendered


# The plain checks that replaced these patterns (compiling them cost start-up time).
HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
PREFIX = re.compile(r"(?:/[A-Za-z0-9._~!$&'()*+,;=:@-]+)*")
url_texts = (
    st.text(st.sampled_from("aZ09-._~!$&'()*+,;=:@/%?#[] \né\u0130\u212a"), max_size=24)
    | st.text(st.sampled_from("a-"), min_size=60, max_size=66)
    | st.text(max_size=24)
)


@given(url_texts)
def test_host_and_prefix_checks_match_their_rfc_3986_patterns(text: str) -> None:
    assert links._is_host_label(text) == bool(HOST_LABEL.fullmatch(text))
    assert links._is_prefix(text) == bool(PREFIX.fullmatch(text))


# -- what may surround a link (docs/FORMAT.md, "Link", step 1) ---------------------------------


WRAPPED = [
    f"<{LINK}>",
    f"  <{LINK}>\n",
    f"< {LINK} >",
    f'"{LINK}"',
    f"'{LINK}'",
    f"`{LINK}`",
    f"\u201c{LINK}\u201d",
    f"\u2018{LINK}\u2019",
    f'"<{LINK}>"',
    f' " < {LINK} > " ',
    f"<{ID_TEXT}#{KEY_TEXT}>",
]


@pytest.mark.parametrize("text", WRAPPED)
def test_one_pair_of_quotes_and_of_angle_brackets_is_accepted(text: str) -> None:
    server = "https://ots.example.com" if "://" in text else None
    assert parse_link(text) == Link(server=server, id=ID, key=KEY)


WRAPPED_WRONGLY = [
    (f"<{LINK}", "unmatched '<' or '>'"),
    (f"{LINK}>", "unmatched '<' or '>'"),
    (f"<<{LINK}>>", "unmatched '<' or '>'"),
    (f'<"{LINK}">', "unsupported link scheme"),
    (f'""{LINK}""', "unsupported link scheme"),
    (f"\"{LINK}'", "unsupported link scheme"),
    (f"({LINK})", "unsupported link scheme"),
    ("<>", "the link is empty"),
    ('"  "', "the link is empty"),
]


@pytest.mark.parametrize(("text", "message"), WRAPPED_WRONGLY)
def test_anything_else_around_a_link_is_refused(text: str, message: str) -> None:
    with pytest.raises(BadLink, match=re.escape(message)):
        parse_link(text)


def test_white_space_is_exactly_unicodes_white_space_property() -> None:
    import sys

    # Python's isspace() is White_Space plus the four information separators U+001C..U+001F.
    separators = {"\x1c", "\x1d", "\x1e", "\x1f"}
    python_space = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(links.WHITE_SPACE) == python_space - separators
    assert len(links.WHITE_SPACE) == 25


@pytest.mark.parametrize("space", list(links.WHITE_SPACE))
def test_every_white_space_character_is_stripped(space: str) -> None:
    assert parse_link(f"{space}{LINK}{space}").key == KEY
    with pytest.raises(BadLink, match="whitespace"):
        parse_link(LINK.replace("/s/", f"/{space}/s/"))


@pytest.mark.parametrize("separator", ["\x1c", "\x1d", "\x1e", "\x1f"])
def test_information_separators_are_not_white_space(separator: str) -> None:
    with pytest.raises(BadLink):
        parse_link(f"{separator}{LINK}")
    with pytest.raises(BadLink):
        parse_link(f"{LINK}{separator}")


# -- what an invalid host is (docs/FORMAT.md, "Link", step 4) ----------------------------------


def _with_host(host: str) -> str:
    return LINK.replace("ots.example.com", host)


LONGEST_HOST = ".".join(["a" * 63] * 3 + ["b" * 61])  # 253 characters


INVALID_HOSTS = [
    "ots.example.com.",  # trailing dot
    "ots..example.com",  # empty label
    ".example.com",
    "b\u00fccher.example",  # IDN: must be given as xn--
    "\u212a.example",  # KELVIN SIGN, whose lower case is ASCII k
    "ots_x.example.com",  # underscore
    "-ots.example.com",
    "ots-.example.com",
    "a" * 64 + ".example",  # a label longer than 63
    LONGEST_HOST + "b",  # 254 characters
    "127.1",  # numeric forms other than canonical dotted decimal
    "2130706433",
    "0x7f.0.0.1",
    "0x7f000001",
    "127.000.0.1",
    "01.2.3.4",
    "1.2.3.256",
    "1.2.3.4.5",
    "example.123",
    "example.0x1f",
    "[127.0.0.1]",  # brackets are for IPv6 only
    "[fe80::1%25eth0]",  # no zone id
    "[::\u0661]",
    "[v1.x]",
    "",
    "[1:2:3:4:5:6:7:8:9]",  # IPv6: too many groups, too few, a group too long
    "[1:2:3:4:5:6:7]",
    "[12345::]",
    "[00000::1]",
    "[1::2::3]",  # "::" at most once, and ":" at an end only as part of it
    "[:1::2]",
    "[1::2:]",
    "[:::]",
    "[1:::2]",
    "[::ffff:01.2.3.4]",  # an embedded IPv4 address is dotted decimal, last
    "[::ffff:1.2.3]",
    "[::1.2.3.4.5]",
    "[1.2.3.4::]",
    "[1:2:3:4:5:6:7:1.2.3.4]",
    "[::1]8443",
]


@pytest.mark.parametrize("host", INVALID_HOSTS)
def test_invalid_hosts(host: str) -> None:
    with pytest.raises(BadLink, match="invalid host"):
        parse_link(_with_host(host))


VALID_HOSTS = [
    ("OTS.Example.COM", "https://ots.example.com"),
    ("xn--bcher-kva.example", "https://xn--bcher-kva.example"),
    ("123.example", "https://123.example"),  # only the last label decides "numeric"
    ("0x7f.example", "https://0x7f.example"),
    ("localhost", "https://localhost"),
    ("192.0.2.1", "https://192.0.2.1"),
    ("0.0.0.0", "https://0.0.0.0"),
    (LONGEST_HOST, f"https://{LONGEST_HOST}"),
    ("[2001:DB8::1]", "https://[2001:db8::1]"),
    ("[::ffff:192.0.2.1]", "https://[::ffff:192.0.2.1]"),
    ("[1:2:3:4:5:6:7:8]", "https://[1:2:3:4:5:6:7:8]"),
    ("[1:2:3:4:5:6:7::]", "https://[1:2:3:4:5:6:7::]"),
    ("[::1:2:3:4:5:6:7]", "https://[::1:2:3:4:5:6:7]"),
    ("[::]", "https://[::]"),
    ("[0000::1]", "https://[0000::1]"),
    ("[::1.2.3.4]", "https://[::1.2.3.4]"),
    ("[1:2:3:4:5:6:1.2.3.4]", "https://[1:2:3:4:5:6:1.2.3.4]"),
    ("[::1]:8443", "https://[::1]:8443"),
]


@pytest.mark.parametrize(("host", "server"), VALID_HOSTS)
def test_valid_hosts(host: str, server: str) -> None:
    assert parse_link(_with_host(host)).server == server
