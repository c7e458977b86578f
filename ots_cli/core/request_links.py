"""Build and parse request links: ``https://HOST[:PORT][/prefix]/r/<id>#<public key>``.

A request link asks its holder for a secret. The id (16 random bytes, chosen by the requester)
is the only part a server sees; the requester's X25519 public key (32 bytes) lives in the
fragment, so the server can neither read nor swap it (docs/FORMAT.md, "Requests").

Invariants:

- Every rule of a secret link applies (:func:`ots_cli.core.links.split_link` and
  :func:`~ots_cli.core.links.split_id_and_key`: unwrap, scheme, host, port, no query, canonical
  base64url…) except the path segment, ``r`` instead of ``s``. A secret link given here is
  refused with a hint naming ``ots get``.
- A public key that libsodium refuses to seal to (a low-order point, e.g. 32 zero bytes) is a
  malformed link (:class:`~ots_cli.errors.BadLink`): it is refused when the link is parsed,
  before anything is read or sent.
- The bare form ``<id>#<public key>`` is accepted (``server`` None); callers use it only where
  a request link is expected.
- No message ever contains any part of the input; id and public key are excluded from
  ``repr``.
"""

from __future__ import annotations

from ots_cli.core import b64
from ots_cli.core.format import Record
from ots_cli.core.links import (
    ID_BYTES,
    KEY_BYTES,
    REQUEST_SEGMENT,
    SECRET_SEGMENT,
    split_id_and_key,
    split_link,
)
from ots_cli.core.request_crypto import is_sealable
from ots_cli.errors import BadLink

__all__ = ["REQUEST_PATH", "RequestLink", "build_request_link", "parse_request_link"]

#: Path that separates the server's base URL from a request's id.
REQUEST_PATH = f"/{REQUEST_SEGMENT}/"


class RequestLink(Record):
    """A parsed request link. ``server`` is the base URL without a trailing slash, or None for
    a bare ``id#public_key``."""

    __slots__ = ("id", "public_key", "server")
    _hidden = frozenset({"id", "public_key"})
    server: str | None
    id: bytes
    public_key: bytes

    def __init__(self, server: str | None, id: bytes, public_key: bytes) -> None:
        self._set(server=server, id=id, public_key=public_key)

    @property
    def id_text(self) -> str:
        """The id as it appears in URLs and API paths (22 characters)."""
        return b64.encode(self.id)


def build_request_link(server: str, id: bytes, public_key: bytes) -> str:
    """``f"{server}/r/{id}#{public_key}"``; a trailing slash on ``server`` is dropped."""
    if len(id) != ID_BYTES or len(public_key) != KEY_BYTES:
        raise ValueError("a request link needs a 16-byte id and a 32-byte public key")
    return f"{server.rstrip('/')}{REQUEST_PATH}{b64.encode(id)}#{b64.encode(public_key)}"


def parse_request_link(text: str, *, allow_insecure_http: bool = False) -> RequestLink:
    """Parse a full request link or a bare ``id#public_key`` (see the module's invariants).

    Raises :class:`~ots_cli.errors.BadLink` with a message and hints that never quote the input.
    """
    parts = split_link(text, allow_insecure_http=allow_insecure_http)
    if parts.kind == SECRET_SEGMENT:
        raise BadLink(
            "this is a secret link, not a request: read it with `ots get`",
            hints=("a request link looks like https://HOST/r/ID#KEY",),
        )
    if parts.kind not in (None, REQUEST_SEGMENT):
        raise BadLink(
            "the link does not point to a request",
            hints=("a request link looks like https://HOST/r/ID#KEY",),
        )
    id_, public_key = split_id_and_key(parts.rest, id_name="request id", key_name="public key")
    if not is_sealable(public_key):
        raise BadLink(
            "the link is damaged: its public key is not one a secret can be sealed to",
            hints=("ask the requester for the original link, or a new request",),
        )
    return RequestLink(server=parts.server, id=id_, public_key=public_key)
