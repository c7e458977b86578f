"""Build and parse ots links: ``https://HOST[:PORT][/prefix]/s/<id>#<key>`` or ``<id>#<key>``.

The id (16 random bytes) is the only part a server ever sees; the key (32 random bytes) lives in
the fragment, which browsers and HTTP clients never send. Both are canonical unpadded base64url
(see :mod:`ots_cli.b64`).

Invariants:

- :func:`parse_link` accepts exactly one shape and rejects everything else with
  :class:`~ots_cli.errors.BadLink`: no query string, no user info, no scheme other than https
  (http only for loopback hosts unless the caller allows it), no padding, no stray characters.
- No error message or hint ever contains the key, or any other part of the input text: the
  text may be a key, a link or a receipt token.
- The id and key are excluded from ``repr(Link)`` so they cannot leak into a traceback or a log.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from ots_cli import b64
from ots_cli.errors import BadLink, FormatError
from ots_cli.format import ID_BYTES, Record

__all__ = [
    "ID_BYTES",
    "KEY_BYTES",
    "Link",
    "build_link",
    "new_id_and_key",
    "parse_link",
]

KEY_BYTES = 32

#: Path segment that separates the server's base URL from the id.
SECRET_PATH = "/s/"  # noqa: S105 - a URL path, not a password

_CUT_OFF = "the link has no key; it was probably cut off by the app it was pasted in"
_CUT_OFF_HINT = "copy the whole link, including the part after '#'"
_RECEIPT_PREFIX = "otsr_"
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
_HOST_LABEL_CHARACTERS = _ALNUM | {"-"}
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


def parse_link(text: str, *, allow_insecure_http: bool = False) -> Link:
    """Parse a full link or a bare ``id#key``; surrounding whitespace is ignored.

    Raises :class:`~ots_cli.errors.BadLink` with a message and hints that never quote the input.
    """
    text = text.strip()
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
    if any(c.isspace() for c in text):
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
        return _parse_id_and_key(None, text)
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
        raise BadLink(
            "http links are accepted only for loopback hosts",
            hints=(
                "an ots link should start with https://; over plain http the secret id and the "
                "proofs travel unprotected",
            ),
        )
    prefix, marker, id_text = (slash + path).rpartition(SECRET_PATH)
    if not marker or "/" in id_text or not _is_prefix(prefix):
        raise BadLink(
            "the link does not point to a secret",
            hints=("an ots link looks like https://HOST/s/ID#KEY",),
        )
    netloc = f"[{host}]" if ":" in host else host
    server = f"{scheme}://{netloc}{':' + port if port else ''}{prefix}"
    return _parse_id_and_key(server, id_text + hash_sign + fragment)


def _parse_authority(authority: str) -> tuple[str, str]:
    if "@" in authority:
        raise BadLink("the link has a user name or password before the host; ots links have none")
    if authority.startswith("["):
        import ipaddress  # only for IPv6 literals: most links never need the module

        host, bracket, port_part = authority[1:].partition("]")
        try:
            if not bracket or ipaddress.ip_address(host).version != 6:
                raise ValueError
        except ValueError:
            raise BadLink("the link has an invalid host") from None
        if port_part and not port_part.startswith(":"):
            raise BadLink("the link has an invalid host")
        port = port_part[1:] if port_part else ""
        if port_part and not port:
            raise BadLink("the link has an invalid port")
        host = host.lower()
    else:
        host, colon, port = authority.partition(":")
        if colon and not port:
            raise BadLink("the link has an invalid port")
        host = host.lower()
        if not host or not all(_is_host_label(label) for label in host.split(".")):
            raise BadLink("the link has an invalid host")
    if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
        raise BadLink("the link has an invalid port")
    return host, port


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    import ipaddress  # only for http links, which are rare

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_id_and_key(server: str | None, text: str) -> Link:
    id_text, sep, key_text = text.partition("#")
    if not sep or not key_text:
        raise BadLink(_CUT_OFF, hints=(_CUT_OFF_HINT,))
    if "#" in key_text:
        raise BadLink("the link has more than one '#'")
    id_ = _decode_part(id_text, ID_BYTES, "secret id")
    key = _decode_part(key_text, KEY_BYTES, "key")
    return Link(server=server, id=id_, key=key)


def _decode_part(text: str, length: int, what: str) -> bytes:
    if not text:
        if what == "key":
            raise BadLink(_CUT_OFF, hints=(_CUT_OFF_HINT,))
        raise BadLink(f"the link has no {what}")
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
