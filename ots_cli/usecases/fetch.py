"""Fetching a secret once: parse the link, peek, get the passphrase, reveal, decrypt.

Shared by ``ots get`` and ``ots run``; the commands decide where the plaintext goes.

Invariants:

- Peek first: it needs no consent (nothing is consumed), gives the public header the
  passphrase proof is derived from, and lets a caller check every precondition (the
  passphrase, an output file, several links at once) before anything is consumed. A peek
  header whose id is not the link's is refused there (not found), before any reveal.
- The revealed blob must start with exactly the header the peek returned and is authenticated
  as a whole before a single byte of plaintext is returned.
- Nothing is asked when the session is not interactive (``--no-input``, ``CI``, no terminal):
  a missing passphrase is a usage error that names ``--passphrase-file``.
- A passphrase cost below the default writer cost is refused (:func:`check_kdf_cost`) before
  a passphrase is read, Argon2id runs or anything is consumed, unless the reader allows it.
- A wrong passphrase typed at the terminal is asked again while the server reports attempts
  left, never past them; a passphrase from a file is never retried (exit 11 at once).
- With ``CI`` set, a secret that someone else already read is an alarm: the message says the
  credential may be compromised, because a job cannot have read it before.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from ots_cli.core.render import describe_bytes, describe_time
from ots_cli.errors import (
    BadLink,
    Cancelled,
    Declined,
    DecryptionFailed,
    FormatError,
    NotFound,
    OtsError,
    PassphraseRequired,
    SecretGone,
    TransferLost,
    Unavailable,
    UsageError,
    WeakKdf,
    WrongPassphrase,
)
from ots_cli.local.passphrases import read_passphrase_file
from ots_cli.runtime import Runtime
from ots_cli.terminal.prompts import ask_hidden, ask_yes_no, ci_is_set
from ots_cli.usecases.identity import check_binding, peek_with_identity

if TYPE_CHECKING:
    from ots_cli.api.client import Api, Peeked
    from ots_cli.core.envelope import Meta
    from ots_cli.core.format import Header
    from ots_cli.core.keyschedule import Keys
    from ots_cli.core.links import Link

__all__ = [
    "MEMORY_LIMIT",
    "Fetched",
    "Opening",
    "Passphrase",
    "Peek",
    "check_kdf_cost",
    "confirm",
    "consumed",
    "describe",
    "load_link",
    "passphrase_for",
    "peek",
    "reveal",
    "reveal_stream",
]

#: The largest secret (bytes of ciphertext) ots holds in memory: for ``ots run``, ``--to-env``
#: and ``--json``; anything larger streams to a file or a pipe.
MEMORY_LIMIT = 64 << 20

T = TypeVar("T")


class Peek(NamedTuple):
    link: Link
    api: Api
    peeked: Peeked
    header: Header


class Passphrase(NamedTuple):
    """A secret's passphrase, and whether it was typed at the terminal (which may be asked
    again after a wrong one) rather than read from a file (which may not)."""

    text: str
    asked: bool


class Fetched(NamedTuple):
    body: bytes
    meta: Meta
    views_left: int | None


class Opening(NamedTuple):
    """A secret being revealed: its authenticated envelope, and its body still arriving.

    ``chunks`` must be consumed inside the :func:`reveal_stream` block; every piece is
    authentic, but the body is complete only if iterating ends without an exception.
    """

    meta: Meta
    body_length: int
    chunks: Iterator[bytes]
    views_left: int | None


def load_link(rt: Runtime, text: str) -> Link:
    """Parse a link given as an argument, or read it from stdin for ``-``."""
    from ots_cli.core.links import parse_link

    if text == "-":
        try:
            raw = rt.stdin.read(64 * 1024)
        except OSError as exc:
            raise UsageError(f"cannot read the link from stdin: {exc.strerror or exc}") from exc
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise BadLink("the link read from stdin is not text") from None
    return parse_link(text, allow_insecure_http=rt.options.insecure)


def _ci_alarm(rt: Runtime, error: SecretGone) -> SecretGone:
    """In CI, "already read" means someone other than this job holds the credential."""
    if error.state != "consumed" or not ci_is_set(rt.env):
        return error
    return SecretGone(
        "the secret was already read by someone else: treat the credential as compromised",
        state=error.state,
        at=error.at,
        hints=(
            "this job did not read it; unless an earlier run of this job did, someone else "
            "holds the credential: rotate it now and tell the sender",
            "a link works once: share a new one for every run that needs the secret",
        ),
    )


def peek(rt: Runtime, link: Link, *, id_token_env: str | None = None) -> Peek:
    """Look at the secret without consuming it, and check the answer against its header.

    A secret bound to a CI identity answers the peek with ``id_token_required`` and its
    binding: the ID token is found (``id_token_env``: ``--id-token-env``; outside that
    pipeline, exit 4) and the peek sent once more with it."""
    from ots_cli.core import crypto
    from ots_cli.core.format import blob_length, decode_header

    api = rt.api(link.server)
    proof = crypto.link_proof(link.id, link.key)
    try:
        peeked = peek_with_identity(rt, api, link, proof, id_token_env)
    except SecretGone as exc:
        raise _ci_alarm(rt, exc) from exc
    header, length = decode_header(peeked.header)
    if length != len(peeked.header):
        raise FormatError("the server returned a header with trailing bytes")
    # FORMAT.md, Opening a blob, step 2: a header for another id is refused here, before the
    # reveal, so no view is spent and no proof derived from a foreign id is ever sent.
    if not hmac.compare_digest(header.id, link.id):
        raise NotFound(
            "the server answered for another secret than this link's",
            hints=("nothing was consumed; the server may be misconfigured or hostile",),
        )
    if header.needs_passphrase != peeked.passphrase:
        raise FormatError("the server's passphrase flag contradicts the secret's header")
    check_binding(header, peeked)  # a server that dropped the binding: refused here
    # The header fixes the blob's exact size; checked here, before anything is consumed, so
    # the reveal can never be asked to buffer more than the format allows.
    if peeked.size != blob_length(length, header.padded_length, header.suite):
        raise FormatError("the server's size for the secret contradicts its header")
    return Peek(link, api, peeked, header)


def describe(rt: Runtime, found: Peek) -> list[str]:
    """What a person is about to consume: size, expiry, views left, passphrase."""
    peeked, header = found.peeked, found.header
    views = f"{peeked.views_left} view{'s' if peeked.views_left != 1 else ''} left"
    lines = [
        f"a secret of up to {describe_bytes(header.padded_length)}, "
        f"expires {describe_time(peeked.expires_at, rt.now())}, {views}",
    ]
    if header.needs_passphrase:
        lines.append("it is protected by a passphrase")
    lines.append(
        "revealing it uses one view"
        + (" and destroys it on the server" if peeked.views_left == 1 else "")
    )
    return lines


def confirm(rt: Runtime, lines: list[str], question: str, refused: str) -> None:
    """Show ``lines`` and ask ``question``; no is :class:`Declined` with ``refused``."""
    for line in lines:
        rt.output.prompt(f"ots: {line}\n")
    if not ask_yes_no(rt.stdin, rt.output, question):
        raise Declined(refused)


def passphrase_for(rt: Runtime, found: Peek, passphrase_file: Path | None) -> Passphrase | None:
    """The passphrase the secret needs, from the file or a prompt; None when it needs none."""
    if not found.header.needs_passphrase:
        return None
    if passphrase_file is not None:
        return Passphrase(read_passphrase_file(passphrase_file), asked=False)
    if not rt.can_prompt():
        raise PassphraseRequired(
            "this secret needs a passphrase",
            hints=(f"pass --passphrase-file PATH ({rt.no_prompt_reason()})",),
        )
    return _ask_passphrase(rt, found.peeked.attempts_left)


def _ask_passphrase(rt: Runtime, left: int | None) -> Passphrase:
    suffix = f", {left} attempt{'s' if left != 1 else ''} left" if left else ""
    passphrase = ask_hidden(rt.stdin, rt.output, f"Passphrase (hidden{suffix}): ")
    if not passphrase:
        raise UsageError("no passphrase entered; nothing was consumed")
    return Passphrase(passphrase, asked=True)


def _unlock(
    rt: Runtime, found: Peek, passphrase: Passphrase | None, reveal: Callable[[Keys], T]
) -> tuple[Keys, T]:
    """``reveal(keys)`` with the keys for ``passphrase``, and those keys.

    A wrong passphrase typed at the terminal is asked for again while the server reports
    attempts left (each wrong try spends one; none consumes the secret). One from a file, or
    the last attempt, ends with :class:`WrongPassphrase`.
    """
    from ots_cli.core import crypto

    while True:
        if passphrase is not None:
            rt.output.progress("deriving a key from the passphrase…")
        text = None if passphrase is None else passphrase.text
        keys = crypto.derive_keys(found.header, found.link.key, text)
        try:
            return keys, reveal(keys)
        except WrongPassphrase as exc:
            if passphrase is None or not passphrase.asked or exc.burned or exc.attempts_left < 1:
                raise
            rt.output.warn(exc.message)
            passphrase = _ask_passphrase(rt, exc.attempts_left)


def check_kdf_cost(rt: Runtime, found: Peek, *, allow_weak: bool) -> None:
    """Refuse, before anything is consumed, a passphrase cost below the default writer cost.

    ``allow_weak`` is ``--allow-weak-kdf``; ``OTS_ALLOW_WEAK_KDF`` set to anything but empty,
    ``0``, ``false`` or ``no`` allows it too.
    """
    from ots_cli.core.keyschedule import DEFAULT_MEMLIMIT, DEFAULT_OPSLIMIT, kdf_is_weak

    kdf = found.header.kdf
    if kdf is None or allow_weak or _env_flag(rt, "OTS_ALLOW_WEAK_KDF") or not kdf_is_weak(kdf):
        return
    raise WeakKdf(
        f"the secret's passphrase cost ({kdf.opslimit} passes over {kdf.memlimit >> 20} MiB) "
        f"is below the default ({DEFAULT_OPSLIMIT} passes over {DEFAULT_MEMLIMIT >> 20} MiB); "
        "nothing was consumed",
        hints=(
            "the server chooses what this header says until the secret is decrypted: a weaker "
            "cost makes the passphrase cheaper to guess for whoever also has the link",
            "if the sender chose a low cost on purpose (passphrase_cost = interactive), run "
            "again with --allow-weak-kdf",
        ),
    )


def _env_flag(rt: Runtime, name: str) -> bool:
    return rt.env.get(name, "").strip().lower() not in ("", "0", "false", "no")


def check_fits_memory(found: Peek, what: str) -> None:
    """Refuse, before anything is consumed, a secret too large to hold in memory."""
    if found.peeked.size > MEMORY_LIMIT:
        raise UsageError(
            f"the secret is {describe_bytes(found.peeked.size)}, too large for {what}; "
            "nothing was consumed",
            hints=("fetch it into a file with `ots get LINK -o FILE`, or through a pipe",),
        )


def reveal(rt: Runtime, found: Peek, passphrase: Passphrase | None) -> Fetched:
    """Consume one view and return the authenticated plaintext, held in memory."""
    from ots_cli.core import crypto

    check_fits_memory(found, "memory")
    link, peeked = found.link, found.peeked
    try:
        keys, revealed = _unlock(
            rt,
            found,
            passphrase,
            lambda keys: found.api.reveal(
                link.id, keys.link_proof, keys.passphrase_proof, max_bytes=peeked.size
            ),
        )
    except SecretGone as exc:  # someone else was faster, between the peek and now
        raise _ci_alarm(rt, exc) from exc
    if not hmac.compare_digest(revealed.blob[: len(peeked.header)], peeked.header):
        raise consumed(DecryptionFailed("the server sent data that does not match its header"))
    try:
        opened = crypto.open_blob(revealed.blob, id=link.id, keys=keys)
    except OtsError as exc:
        raise consumed(exc) from exc
    return Fetched(opened.body, opened.meta, revealed.views_left)


@contextmanager
def reveal_stream(rt: Runtime, found: Peek, passphrase: Passphrase | None) -> Iterator[Opening]:
    """Consume one view and stream the body, decrypting as it arrives, in constant memory.

    Errors once the server has answered mean the view is spent: a broken connection or an
    output that cannot be written is :class:`TransferLost` (exit 12), a failed
    authentication keeps its own class with the "view used up" hint.
    """
    from ots_cli.core import crypto
    from ots_cli.terminal.progress import meter

    link, peeked = found.link, found.peeked
    try:
        with ExitStack() as stack:
            keys, (views_left, chunks) = _unlock(
                rt,
                found,
                passphrase,
                lambda keys: stack.enter_context(
                    found.api.reveal_stream(link.id, keys.link_proof, keys.passphrase_proof)
                ),
            )
            progress = stack.enter_context(
                meter(rt.output, "downloading and decrypting", peeked.size)
            )
            try:
                opened = crypto.open_stream(
                    _same_header(progress.counted(chunks), peeked.header),
                    id=link.id,
                    keys=keys,
                    max_size=peeked.size,
                )
                yield Opening(opened.meta, opened.body_length, opened.chunks, views_left)
            except Unavailable as exc:
                raise _lost(exc) from exc
            except KeyboardInterrupt:
                raise Cancelled(
                    "interrupted during the download: the secret was consumed and its data is gone",
                    hints=("ask the sender to share the secret again",),
                ) from None
            except TransferLost:
                raise
            except OtsError as exc:
                consumed(exc)
                raise
    except SecretGone as exc:  # someone else was faster, between the peek and now
        raise _ci_alarm(rt, exc) from exc


def _same_header(chunks: Iterable[bytes], header: bytes) -> Iterator[bytes]:
    """``chunks``, after checking that they start with the header the peek returned."""
    iterator = iter(chunks)
    start = b""
    for chunk in iterator:
        start += chunk
        if len(start) >= len(header):
            break
    if not hmac.compare_digest(start[: len(header)], header):
        raise DecryptionFailed("the server sent data that does not match its header")
    yield start
    yield from iterator


def _lost(error: Unavailable) -> TransferLost:
    return TransferLost(
        "the download was cut off after the server released the secret: the data is gone",
        hints=(
            f"cause: {error.message}",
            "this view is used up; ask the sender to share the secret again",
        ),
    )


def consumed(error: OtsError) -> OtsError:
    """The same error, with the hint that the view was used up by this attempt."""
    error.hints = (
        *error.hints,
        "this attempt used up a view: ask the sender to share the secret again",
    )
    return error
