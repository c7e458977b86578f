"""Sealing a secret and uploading it: the part of sharing that ``ots share``, ``ots generate
--share`` and ``ots respond`` have in common.

Invariants:

- A fresh random id and key for every secret; only ciphertext, the header length and the
  verifiers reach the server. The key is returned to the caller and never stored here.
- The suite follows from the padded length alone (:func:`~ots_cli.core.crypto.suite_for`), never
  from where the secret came from.
- Above :data:`PRECHECK_BYTES` of ciphertext, what the server would refuse (size, ttl, views,
  attempts, an account) is refused locally before the upload starts.
- A server that acknowledges another id than the one sent is a protocol error.
- :func:`link_base` gives links the server's published public URL when that makes a link
  that parses, else the address ots reached the server at.

:class:`Shared`, what sharing hands to ``--wait``, lives here rather than in
:mod:`ots_cli.usecases.sharing` so that :mod:`ots_cli.usecases.wait` depends on this module
only, and sharing on both: no cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from ots_cli.core.format import Suite
from ots_cli.errors import BadLink, FormatError, ProtocolError, UsageError
from ots_cli.local.inputs import Payload
from ots_cli.runtime import Runtime
from ots_cli.terminal.progress import meter

if TYPE_CHECKING:
    from ots_cli.api.client import Api, Created, Limits
    from ots_cli.core.crypto import Sealed, SealedStream
    from ots_cli.local.receipts import Receipt

__all__ = ["PRECHECK_BYTES", "Shared", "Uploaded", "link_base", "upload"]

#: Above this many bytes of ciphertext, ask the server's limit first rather than upload in vain.
PRECHECK_BYTES = 64 * 1024


class Shared(NamedTuple):
    """A shared secret, for ``--wait``: the API it lives on and its receipt."""

    api: Api
    receipt: Receipt
    saved: bool


class Uploaded(NamedTuple):
    """A secret now on the server: its id and key (the link's), and the server's answer."""

    id: bytes
    key: bytes
    created: Created


def upload(
    rt: Runtime,
    api: Api,
    payload: Payload,
    *,
    ttl: int | None,
    views: int | None,
    passphrase: str | None,
    attempts: int | None,
    cost: tuple[int, int],
    limits: Limits | None,
    binding: str | None = None,
) -> Uploaded:
    """Seal ``payload`` under a fresh id and key and upload it (with a progress meter).

    ``cost``: the Argon2id (opslimit, memlimit) for a passphrase; ``limits``: the server's,
    if they were already asked.
    """
    from ots_cli.core import b64
    from ots_cli.core.links import new_id_and_key

    id_, key = new_id_and_key()
    if passphrase is not None:
        rt.output.progress("deriving a key from the passphrase…")
    sealed = _seal(payload, id_, key, passphrase, cost, binding)
    if sealed.length > PRECHECK_BYTES:
        _precheck(api, limits, sealed.length, ttl, views, attempts)
    with meter(rt.output, "encrypting and uploading", sealed.length) as progress:
        try:
            created = api.create(
                id=id_,
                blob=progress.counted(sealed.chunks),
                length=sealed.length,
                header_length=len(sealed.header_bytes),
                link_verifier=sealed.keys.link_verifier,
                passphrase_verifier=sealed.keys.passphrase_verifier,
                attempts=attempts,
                ttl=ttl,
                views=views,
                binding=binding,
            )
        except FormatError as exc:  # raised by the source while it streams: it changed
            raise UsageError(f"{exc.message}; nothing was shared", hints=exc.hints) from exc
        except OSError as exc:  # reading the source failed halfway
            raise UsageError(
                f"cannot read the secret: {exc.strerror or exc}; nothing was shared"
            ) from exc
    if created.id != b64.encode(id_):
        raise ProtocolError("the server acknowledged a different secret than the one sent")
    return Uploaded(id_, key, created)


def link_base(rt: Runtime, server: str, public_url: str | None) -> str:
    """The base URL of the link: the server's public URL when it makes a link that parses
    (with this command's ``--insecure``), else ``server``, the address ots reached it at."""
    from ots_cli.core.links import build_link, parse_link

    if public_url is None:
        return server
    try:
        link = parse_link(
            build_link(public_url, bytes(16), bytes(32)), allow_insecure_http=rt.options.insecure
        )
    except BadLink:
        rt.output.warn(
            "the server's public URL (OTS_PUBLIC_URL) makes no valid link; "
            "the link uses the address ots reached the server at"
        )
        return server
    assert link.server is not None  # a built link always has one
    return link.server


def _seal(
    payload: Payload,
    id_: bytes,
    key: bytes,
    passphrase: str | None,
    cost: tuple[int, int],
    binding: str | None = None,
) -> SealedStream:
    """Seal in memory or lazily from the stream; chunks are read later.

    The suite follows from the padded length alone (:func:`~ots_cli.core.crypto.suite_for`), so it
    says nothing about where the secret came from. A stream is always above
    :data:`~ots_cli.local.inputs.MEMORY_BYTES`, so suite 2; data in memory takes either.
    """
    from ots_cli.core import crypto

    if passphrase is None:
        opslimit, memlimit = crypto.DEFAULT_OPSLIMIT, crypto.DEFAULT_MEMLIMIT
    else:
        opslimit, memlimit = cost
    suite = crypto.suite_for(payload.meta, payload.length)
    seal: Callable[..., Sealed | SealedStream]
    if payload.data is None:
        assert payload.stream is not None
        assert suite == Suite.STREAM  # inputs streams only what pads past SUITE_1_UP_TO
        seal = partial(crypto.seal_stream, payload.stream, payload.length)
    else:
        seal = partial(crypto.seal, payload.data, suite=suite)
    sealed = seal(
        id=id_,
        key=key,
        meta=payload.meta,
        passphrase=passphrase,
        opslimit=opslimit,
        memlimit=memlimit,
        binding=binding,
    )
    if isinstance(sealed, crypto.SealedStream):
        return sealed
    return crypto.SealedStream(
        header=sealed.header,
        header_bytes=sealed.header_bytes,
        keys=sealed.keys,
        length=len(sealed.blob),
        chunks=iter((sealed.blob,)),
    )


def _precheck(
    api: Api,
    limits: Limits | None,
    size: int,
    ttl: int | None,
    views: int | None,
    attempts: int | None,
) -> None:
    """Refuse locally what the server would refuse, before uploading a large blob.

    A server that refuses an upload stops reading it and closes the connection; a client still
    sending a large body then sees a broken connection instead of the answer.
    """
    from urllib.parse import urlsplit

    from ots_cli.api.answers import auth_error, out_of_range
    from ots_cli.usecases.secret_input import too_large

    if limits is None:
        limits = api.limits()
    if limits.require_account and api.credential() is None:
        host = urlsplit(api.server).netloc
        raise auth_error("account_required", host, api.server, None)
    if size > limits.max_bytes:
        raise too_large(api, limits.max_bytes)
    if ttl is not None and not limits.ttl_min <= ttl <= limits.ttl_max:
        raise out_of_range("invalid_ttl", limits.ttl_min, limits.ttl_max, ttl)
    if views is not None and not 1 <= views <= limits.max_views:
        raise out_of_range("invalid_views", 1, limits.max_views)
    if attempts is not None and not 1 <= attempts <= limits.max_attempts:
        raise out_of_range("invalid_attempts", 1, limits.max_attempts)
