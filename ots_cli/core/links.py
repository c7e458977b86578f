"""Build and parse ots links: ``https://HOST[:PORT][/prefix]/s/<id>#<key>`` or ``<id>#<key>``.

The id (16 random bytes) is the only part a server ever sees; the key (32 random bytes) lives in
the fragment, which browsers and HTTP clients never send. Both are canonical unpadded base64url
(see :mod:`ots_cli.core.b64`). Request links (``…/r/<id>#<public key>``,
:mod:`ots_cli.core.request_links`)
share every rule but the path segment: :func:`split_link` and :func:`split_id_and_key` are the
rules, :func:`parse_link` and ``parse_request_link`` apply them to one kind each.

Invariants:

- :func:`parse_link` accepts exactly one shape and rejects everything else with
  :class:`~ots_cli.errors.BadLink`: no query string, no user info, no scheme other than https
  (http only for loopback hosts unless the caller allows it), no padding, no stray characters.
  Around that shape it takes only what people and apps add when they quote a link: Unicode
  ``White_Space`` (exactly :data:`WHITE_SPACE`, not ``str.isspace``), one pair of quotes and
  one pair of angle brackets (docs/FORMAT.md, "Link").
- A host is valid exactly as docs/FORMAT.md defines it (:func:`_parse_authority`): ASCII DNS
  labels, or a canonical dotted-decimal IPv4 address, or a bracketed IPv6 address.
- No error message or hint ever contains the key, or any other part of the input text: the
  text may be a key, a link or a receipt token.
- A request link given where a secret link is expected (and the reverse) is refused with a
  hint naming the command that takes it.
- The id and key are excluded from ``repr(Link)`` so they cannot leak into a traceback or a log.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NamedTuple

from ots_cli.core import b64
from ots_cli.core.format import ID_BYTES, Record
from ots_cli.errors import BadLink, FormatError, InsecureHttp

__all__ = [
    "ID_BYTES",
    "KEY_BYTES",
    "REQUEST_SEGMENT",
    "SECRET_SEGMENT",
    "Link",
    "LinkParts",
    "build_link",
    "new_id_and_key",
    "parse_link",
    "split_id_and_key",
    "split_link",
]

KEY_BYTES = 32

#: The path segment between the server's base URL and the id: a secret's, and a request's.
SECRET_SEGMENT = "s"  # noqa: S105 - a URL path segment, not a password
REQUEST_SEGMENT = "r"
#: Path that separates the server's base URL from a secret's id.
SECRET_PATH = f"/{SECRET_SEGMENT}/"

_CUT_OFF = "the link has no {}; it was probably cut off by the app it was pasted in"
_CUT_OFF_HINT = "copy the whole link, including the part after '#'"
_RECEIPT_PREFIX = "otsr_"
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_HOST_LABEL_CHARACTERS = _ALNUM | {"-"}
_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdef")
#: Unicode ``White_Space`` (PropList.txt), the only characters stripped around a link. Python's
#: ``str.isspace()`` also counts U+001C..U+001F, control characters that are not white space.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
#: The quotes one pair of which may enclose a link (opening -> closing): ASCII quotes and
#: backticks, and the typographic quotes that editors and chat apps substitute for them.
_QUOTES = {'"': '"', "'": "'", "`": "`", "\u201c": "\u201d", "\u2018": "\u2019"}
#: The longest host name DNS allows (RFC 1035: 255 octets on the wire).
_MAX_HOST_LENGTH = 253
# RFC 3986 path characters (pchar) without percent-encoding, for a prefix such as "/ots".
_PATH_CHARACTERS = _ALNUM | frozenset("-._~!$&'()*+,;=:@")


def _is_host_label(label: str) -> bool:
    """A DNS label, or part of a dotted IPv4 address: 1-63 of ``A-Za-z0-9-``, no ``-`` at ends."""
    return (
        0 < len(label) <= 63
        and _HOST_LABEL_CHARACTERS.issuperset(label)
        and not label.startswith("-")
        and not label.endswith("-")
    )


def _is_numeric_label(label: str) -> bool:
    """A label that makes the host an IPv4 address (as URL parsers see it): decimal or 0x hex."""
    if label[:2] in ("0x", "0X"):
        return _HEX_DIGITS.issuperset(label[2:].lower())
    return _DIGITS.issuperset(label)


def _is_dotted_ipv4(host: str) -> bool:
    """Exactly four decimal numbers 0-255 without leading zeros, as ``127.0.0.1``."""
    parts = host.split(".")
    return len(parts) == 4 and all(
        part
        and _DIGITS.issuperset(part)
        and (part == "0" or not part.startswith("0"))
        and int(part) <= 255
        for part in parts
    )


def _is_prefix(prefix: str) -> bool:
    """Empty, or ``/segment`` repeated: non-empty segments of RFC 3986 path characters."""
    if not prefix:
        return True
    segments = prefix.split("/")
    return segments[0] == "" and all(
        segment and _PATH_CHARACTERS.issuperset(segment) for segment in segments[1:]
    )


class Link(Record):
    """A parsed link. ``server`` is the base URL without a trailing slash, or None for id#key."""

    __slots__ = ("id", "key", "server")
    _hidden = frozenset({"id", "key"})
    server: str | None
    id: bytes
    key: bytes

    def __init__(self, server: str | None, id: bytes, key: bytes) -> None:
        self._set(server=server, id=id, key=key)

    @property
    def id_text(self) -> str:
        """The id as it appears in URLs and API paths (22 characters)."""
        return b64.encode(self.id)

    def url(self) -> str:
        """The full link; ValueError for a bare id#key, which has no server."""
        if self.server is None:
            raise ValueError("a bare id#key has no server to build a link from")
        return build_link(self.server, self.id, self.key)


def new_id_and_key(random: Callable[[int], bytes] = os.urandom) -> tuple[bytes, bytes]:
    """A fresh random id and key for a new secret."""
    id_, key = random(ID_BYTES), random(KEY_BYTES)
    if len(id_) != ID_BYTES or len(key) != KEY_BYTES:
        raise ValueError("the random source returned the wrong number of bytes")
    return id_, key


def build_link(server: str, id: bytes, key: bytes) -> str:
    """``f"{server}/s/{id}#{key}"``; a trailing slash on ``server`` is dropped."""
    if len(id) != ID_BYTES or len(key) != KEY_BYTES:
        raise ValueError("a link needs a 16-byte id and a 32-byte key")
    return f"{server.rstrip('/')}{SECRET_PATH}{b64.encode(id)}#{b64.encode(key)}"


def unwrap(text: str) -> str:
    """``text`` without surrounding white space, one pair of quotes, then one pair of ``<>``.

    ``"<https://…>"`` is a link as Markdown and chat apps write it. Nothing inside is changed;
    a valid link never starts with a quote or ``<``, so the unwrapping cannot eat a part of it.
    """
    text = text.strip(WHITE_SPACE)
    if len(text) >= 2 and _QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip(WHITE_SPACE)
    if len(text) >= 2 and text[0] == "<" and text[-1] == ">":
        text = text[1:-1].strip(WHITE_SPACE)
    return text


class LinkParts(NamedTuple):
    """A link split by :func:`split_link`, its id and fragment not decoded yet.

    ``server``: the base URL (None for a bare form). ``kind``: the path segment before the id
    (:data:`SECRET_SEGMENT`, :data:`REQUEST_SEGMENT`, or another), ``""`` when the path does
    not end in ``/<segment>/<id>`` after a valid prefix, None for a bare form. ``rest``: the
    id, ``#`` and the fragment as given (``rest`` holds the key: never show it).
    """

    server: str | None
    kind: str | None
    rest: str


def parse_link(text: str, *, allow_insecure_http: bool = False) -> Link:
    """Parse a full link or a bare ``id#key``; white space, quotes and ``<>`` around it are
    ignored (:func:`unwrap`).

    Raises :class:`~ots_cli.errors.BadLink` with a message and hints that never quote the input.
    """
    parts = split_link(text, allow_insecure_http=allow_insecure_http)
    if parts.kind == REQUEST_SEGMENT:
        raise BadLink(
            "this is a request link: answer it with `ots respond`",
            hints=(
                "someone asks you for a secret: `ots respond LINK` sends one that only they "
                "can open",
            ),
        )
    if parts.kind not in (None, SECRET_SEGMENT):
        raise BadLink(
            "the link does not point to a secret",
            hints=("an ots link looks like https://HOST/s/ID#KEY",),
        )
    id_, key = split_id_and_key(parts.rest, id_name="secret id", key_name="key")
    return Link(server=parts.server, id=id_, key=key)


def split_link(text: str, *, allow_insecure_http: bool = False) -> LinkParts:
    """The rules every ots link follows (docs/FORMAT.md, "Link"), whatever it points to:
    unwrap, scheme, host, port, no query or user information, a valid prefix.

    Raises :class:`~ots_cli.errors.BadLink` with a message and hints that never quote the input.
    """
    text = unwrap(text)
    if not text:
        raise BadLink("the link is empty")
    if text.startswith(_RECEIPT_PREFIX):
        raise BadLink(
            "this is a receipt, not a link",
            hints=(
                "a receipt tells the sender what happened to a secret: use `ots status`",
                "the link to share was printed when the secret was created",
            ),
        )
    if text[0] == "<" or text[-1] == ">":
        raise BadLink(
            "the link has an unmatched '<' or '>'",
            hints=("give the link alone, or enclosed in one pair of <>",),
        )
    if any(c in WHITE_SPACE for c in text):
        raise BadLink(
            "the link contains whitespace",
            hints=("the link may have been wrapped over several lines when it was copied",),
        )
    scheme, sep, rest = text.partition("://")
    if not sep:
        if "/" in text or ":" in text:
            raise BadLink(
                "the link has no scheme or an unsupported one",
                hints=("an ots link starts with https://",),
            )
        return LinkParts(None, None, text)
    scheme = scheme.lower()
    if scheme not in ("https", "http"):
        raise BadLink(
            "unsupported link scheme; ots links start with https://",
            hints=("http:// is accepted only for loopback hosts",),
        )
    before_fragment, hash_sign, fragment = rest.partition("#")
    if "?" in before_fragment:
        raise BadLink(
            "the link has a query string ('?'); ots links have none",
            hints=("the app it was pasted in may have altered it; ask for the original link",),
        )
    authority, slash, path = before_fragment.partition("/")
    host, port = _parse_authority(authority)
    if scheme == "http" and not allow_insecure_http and not _is_loopback(host):
        raise InsecureHttp()
    head, _, id_text = (slash + path).rpartition("/")
    prefix, _, kind = head.rpartition("/")
    if not slash or not _is_prefix(prefix):
        kind = ""
    netloc = f"[{host}]" if ":" in host else host
    server = f"{scheme}://{netloc}{':' + port if port else ''}{prefix}"
    return LinkParts(server, kind, id_text + hash_sign + fragment)


def _parse_authority(authority: str) -> tuple[str, str]:
    """The host (lower case) and port (digits, or empty) of ``authority``; see
    docs/FORMAT.md, "Link", for what an invalid host is."""
    if "@" in authority:
        raise BadLink("the link has a user name or password before the host; ots links have none")
    if authority.startswith("["):
        host, bracket, port_part = authority[1:].partition("]")
        if not bracket or not _is_ipv6(host):
            raise BadLink("the link has an invalid host")
        if port_part and not port_part.startswith(":"):
            raise BadLink("the link has an invalid host")
        port = port_part[1:] if port_part else ""
        if port_part and not port:
            raise BadLink("the link has an invalid port")
    else:
        host, colon, port = authority.partition(":")
        if colon and not port:
            raise BadLink("the link has an invalid port")
        if not _is_host_name(host):
            raise BadLink("the link has an invalid host")
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise BadLink("the link has an invalid port")
    return host.lower(), port


def _is_ipv6(host: str) -> bool:
    """An IPv6 address as RFC 4291 writes it (IPv4-embedded forms too), without a zone id."""
    import ipaddress  # only for IPv6 literals: most links never need the module

    if not host.isascii() or "%" in host:
        return False
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def _is_host_name(host: str) -> bool:
    """ASCII DNS labels joined by single dots, at most 253 characters, no trailing dot; when
    the last label is numeric (``123``, ``0x7f``), a canonical dotted-decimal IPv4 address.

    ASCII is checked first: ``str.lower`` would turn some non-ASCII letters (KELVIN SIGN) into
    ASCII ones. An internationalised name must be given in its ``xn--`` form.
    """
    if not host.isascii() or not 0 < len(host) <= _MAX_HOST_LENGTH:
        return False
    labels = host.split(".")
    if not all(_is_host_label(label) for label in labels):
        return False
    return not _is_numeric_label(labels[-1]) or _is_dotted_ipv4(host)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    import ipaddress  # only for http links, which are rare

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_id_and_key(text: str, *, id_name: str, key_name: str) -> tuple[bytes, bytes]:
    """``<id>#<key>`` decoded: a 16-byte id and a 32-byte key (or public key), as canonical
    base64url. ``id_name`` and ``key_name`` name them in messages ("secret id", "key")."""
    cut_off = BadLink(_CUT_OFF.format(key_name), hints=(_CUT_OFF_HINT,))
    id_text, sep, key_text = text.partition("#")
    if not sep or not key_text:
        raise cut_off
    if "#" in key_text:
        raise BadLink("the link has more than one '#'")
    if not id_text:
        raise BadLink(f"the link has no {id_name}")
    return _decode_part(id_text, ID_BYTES, id_name), _decode_part(key_text, KEY_BYTES, key_name)


def _decode_part(text: str, length: int, what: str) -> bytes:
    if "=" in text:
        raise BadLink(
            f"the {what} in the link has padding characters '='",
            hints=("ots links use unpadded base64url; the link was altered after it was made",),
        )
    if "%" in text:
        raise BadLink(
            f"the {what} in the link is percent-encoded",
            hints=("the app it was pasted in may have escaped it; ask for the original link",),
        )
    if not b64.is_alphabet(text):
        raise BadLink(
            f"the {what} in the link has characters outside base64url",
            hints=("check that no punctuation was added to the link when it was copied",),
        )
    expected = b64.encoded_length(length)
    if len(text) != expected:
        raise BadLink(
            f"the {what} in the link has {len(text)} characters, expected {expected}",
            hints=(_CUT_OFF_HINT,) if len(text) < expected else (),
        )
    try:
        return b64.decode(text, length)
    except FormatError:
        raise BadLink(
            f"the {what} in the link is not canonical base64url",
            hints=("a character of the link may have been changed when it was copied",),
        ) from None
