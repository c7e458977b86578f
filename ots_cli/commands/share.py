"""``ots share``: seal a secret locally, upload the ciphertext, print the link.

Invariants:

- The secret comes from a FILE, from stdin when it is not a terminal, or from a hidden prompt;
  never from argv. Its bytes are sealed exactly as read (no newline is stripped or added).
- An empty input is refused before anything is sent (``</dev/null`` or an unset variable is a
  mistake far more often than a secret), unless ``--allow-empty`` says it is meant.
- Only ciphertext, the header length and verifiers reach the server; the key stays in the link,
  which is printed on stdout and nowhere else (never in the receipt, never in a log).
- The link starts with the server's published public URL (``OTS_PUBLIC_URL``, from
  ``GET /limits``, asked before anything is sealed) when that makes a valid link, else with the
  address ots reached the server at; the receipt keeps the address ots reached it at.
- The receipt is saved before the link is printed; failing to save it is a warning, because a
  created secret whose link is lost would be worse.
- With ``--wait`` the link is printed (and flushed) first, then :mod:`ots_cli.wait` polls the
  receipt; every option, ``--timeout`` included, is checked before anything is shared.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from ots_cli.durations import parse_duration
from ots_cli.errors import (
    BadLink,
    FormatError,
    OtsError,
    PolicyRefused,
    ProtocolError,
    UsageError,
)
from ots_cli.format import Meta, Suite
from ots_cli.inputs import Payload, from_file, from_stdin
from ots_cli.passphrases import kdf_cost, read_passphrase_file
from ots_cli.progress import meter
from ots_cli.prompts import ask_hidden, ask_secret
from ots_cli.runtime import Runtime

if TYPE_CHECKING:
    from ots_cli.client import Api, Limits
    from ots_cli.crypto import Sealed, SealedStream
    from ots_cli.receipts import Receipt

__all__ = [
    "Payload",
    "ShareOptions",
    "Shared",
    "check_options",
    "share",
    "share_secret",
    "wait_if_asked",
]

#: Above this many bytes of ciphertext, ask the server's limit first rather than upload in vain.
_PRECHECK_BYTES = 64 * 1024


class Shared(NamedTuple):
    """A shared secret, for ``--wait``: the API it lives on and its receipt."""

    api: Api
    receipt: Receipt
    saved: bool


class ShareOptions(NamedTuple):
    """The options of every command that shares (``share``, ``generate --share``); the
    defaults are "not given", so ``options != ShareOptions()`` means some were."""

    ttl: str | None = None
    views: int | None = None
    passphrase: bool = False
    passphrase_file: Path | None = None
    attempts: int | None = None
    copy: bool = False
    qr: bool = False
    label: str | None = None
    wait: bool = False
    timeout: str | None = None


TtlOption = Annotated[
    str | None,
    typer.Option(
        "--ttl",
        metavar="DURATION",
        help="How long the secret lives: 90s, 30m, 1h, 7d (default: the server's). Env OTS_TTL.",
    ),
]
ViewsOption = Annotated[
    int | None,
    typer.Option("--views", metavar="N", help="How many times it can be read (default 1)."),
]
PassphraseOption = Annotated[
    bool, typer.Option("--passphrase", help="Also protect it with a passphrase (prompted).")
]
PassphraseFileOption = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        metavar="PATH",
        help="Read the passphrase from PATH (its first line).",
        dir_okay=False,
    ),
]
AttemptsOption = Annotated[
    int | None,
    typer.Option(
        "--attempts",
        metavar="N",
        help="Wrong passphrases allowed before the secret is burned (server default 5).",
    ),
]
CopyOption = Annotated[bool, typer.Option("--copy", help="Also put the link on the clipboard.")]
QrOption = Annotated[bool, typer.Option("--qr", help="Show the link as a QR code on stderr.")]
LabelOption = Annotated[
    str | None,
    typer.Option("--label", metavar="TEXT", help="A note kept in the local receipt only."),
]
WaitOption = Annotated[
    bool,
    typer.Option(
        "--wait",
        help="After printing the link, wait until the secret is read (exit 0), burned (6) "
        "or expires unread (7).",
    ),
]
TimeoutOption = Annotated[
    str | None,
    typer.Option(
        "--timeout",
        metavar="DURATION",
        help="With --wait, give up after DURATION (exit 9; the secret stays shared).",
    ),
]


def share(
    ctx: typer.Context,
    file: Annotated[
        str | None,
        typer.Argument(
            metavar="[FILE|-]",
            help="Read the secret from FILE, or '-' for stdin. Default: stdin when it is not "
            "a terminal, else a hidden prompt.",
            show_default=False,
        ),
    ] = None,
    ttl: TtlOption = None,
    views: ViewsOption = None,
    passphrase: PassphraseOption = False,
    passphrase_file: PassphraseFileOption = None,
    attempts: AttemptsOption = None,
    confirm: Annotated[
        bool, typer.Option("--confirm", help="At the prompt, ask for the secret twice.")
    ] = False,
    allow_empty: Annotated[
        bool,
        typer.Option("--allow-empty", help="Share an empty input (refused by default, exit 2)."),
    ] = False,
    copy: CopyOption = False,
    qr: QrOption = False,
    label: LabelOption = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = None,
) -> None:
    """Encrypt a secret locally and print a one-time link to it."""
    rt: Runtime = ctx.obj
    options = ShareOptions(
        ttl, views, passphrase, passphrase_file, attempts, copy, qr, label, wait, timeout
    )
    check_options(options)
    check = _LimitCheck(rt)
    with _read_secret(rt, file, check, confirm=confirm) as (payload, prompted):
        if payload.length == 0 and not allow_empty:
            raise UsageError(
                "nothing to share: the input is empty",
                hints=("to share an empty secret on purpose, pass --allow-empty",),
            )
        if payload.data is not None:
            _check_not_a_link(rt, payload.data, prompted=prompted)
        shared = share_secret(rt, payload, options, limits=check.limits)
    wait_if_asked(rt, shared, options)


def check_options(options: ShareOptions) -> None:
    """Refuse bad combinations before anything is read, asked or sent."""
    if options.passphrase and options.passphrase_file is not None:
        raise UsageError("give --passphrase or --passphrase-file, not both")
    if options.attempts is not None:
        if not (options.passphrase or options.passphrase_file):
            raise UsageError("--attempts only applies with a passphrase")
        if options.attempts < 1:
            raise UsageError("--attempts must be at least 1")
    _wait_limit(options)


def _wait_limit(options: ShareOptions) -> int | None:
    """``--timeout`` in seconds (None: wait until the end); a usage error without ``--wait``."""
    if options.timeout is None:
        return None
    if not options.wait:
        raise UsageError("--timeout only applies with --wait")
    return parse_duration(options.timeout, what="--timeout")


def wait_if_asked(rt: Runtime, shared: Shared, options: ShareOptions) -> None:
    """With ``--wait``, wait for the secret just shared to be read (see :mod:`ots_cli.wait`)."""
    if options.wait:
        from ots_cli.wait import wait_for_read

        wait_for_read(rt, shared, _wait_limit(options))


@contextmanager
def _read_secret(
    rt: Runtime, file: str | None, check: _LimitCheck, *, confirm: bool
) -> Iterator[tuple[Payload, bool]]:
    """The secret to seal, and whether it was typed at a prompt."""
    spool_dir = rt.env.get("TMPDIR") or None  # the injected environment, like everything else
    if file is not None and file != "-":
        with from_file(file, check, warn=rt.output.warn, spool_dir=spool_dir) as payload:
            yield payload, False
        return
    if file == "-" or not _isatty(rt.stdin):
        with from_stdin(rt.stdin, check, spool_dir=spool_dir) as payload:
            yield payload, False
        return
    if not rt.can_prompt():
        raise UsageError(
            "no secret given",
            hints=(f"pipe the secret on stdin, or pass a FILE ({rt.no_prompt_reason()})",),
        )
    answer = ask_secret(rt.stdin, rt.output, "Secret (hidden): ")
    if not answer:
        raise UsageError("no secret entered", hints=("type or paste the secret, then Enter",))
    if confirm and ask_secret(rt.stdin, rt.output, "Secret again: ") != answer:
        raise UsageError("the two entries differ; nothing was shared")
    yield Payload(Meta(), len(answer), data=answer), True


class _LimitCheck:
    """Stops reading an input as soon as it is larger than the server accepts.

    Asks the server's limits as soon as an input is too large to hold in memory, before it is
    read further; ``share_secret`` reuses them (it needs them for the public URL anyway).
    """

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self.limits: Limits | None = None

    def __call__(self, size: int) -> None:
        if self.limits is None:
            self.limits = self._rt.api().limits()
        if size > self.limits.max_bytes:
            raise _too_large(self._rt.api(), self.limits.max_bytes)


def _too_large(api: Api, max_bytes: int) -> PolicyRefused:
    from ots_cli.answers import too_large

    return too_large(max_bytes, account=api.credential() is not None)


def _isatty(stream: object) -> bool:
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):
        return False


def _check_not_a_link(rt: Runtime, body: bytes, *, prompted: bool) -> None:
    from ots_cli.links import parse_link

    if len(body) > 512:
        return
    try:
        link = parse_link(body.decode("utf-8"), allow_insecure_http=True)
    except (UnicodeDecodeError, BadLink):
        return
    if link.server is None and not prompted:
        return
    if prompted:
        raise UsageError(
            "that looks like an ots link, not a secret",
            hints=(
                "to read a link, run `ots get LINK`",
                "to share a link on purpose, pipe it: printf %s LINK | ots share",
            ),
        )
    rt.output.warn("the secret looks like an ots link; to read a link, use `ots get`")


def _read_passphrase(rt: Runtime, options: ShareOptions) -> str | None:
    if options.passphrase_file is not None:
        return read_passphrase_file(options.passphrase_file)
    if not options.passphrase:
        return None
    if not rt.can_prompt():
        raise UsageError(
            "cannot prompt for the passphrase here",
            hints=(f"use --passphrase-file PATH ({rt.no_prompt_reason()})",),
        )
    first = ask_hidden(rt.stdin, rt.output, "Passphrase (hidden): ")
    if not first:
        raise UsageError("no passphrase entered")
    if ask_hidden(rt.stdin, rt.output, "Passphrase again: ") != first:
        raise UsageError("the two passphrases differ; nothing was shared")
    return first


def share_secret(
    rt: Runtime, payload: Payload, options: ShareOptions, *, limits: Limits | None = None
) -> Shared:
    """Seal ``payload``, upload it, save the receipt, print the link (and copy / QR).

    ``limits``: the server's limits if they were already asked for this command.
    """
    from ots_cli import b64
    from ots_cli.links import build_link, new_id_and_key
    from ots_cli.receipts import Receipt

    settings = rt.settings(ttl=options.ttl, views=options.views)
    api = rt.api()
    api.credential()  # a keyring or token-file problem shows before the passphrase is asked
    if limits is None:
        limits = api.limits()
    base = _link_base(rt, api.server, limits.public_url)
    passphrase = _read_passphrase(rt, options)
    id_, key = new_id_and_key()
    if passphrase is not None:
        rt.output.progress("deriving a key from the passphrase…")
    sealed = _seal(payload, id_, key, passphrase, kdf_cost(settings.passphrase_cost))
    if sealed.length > _PRECHECK_BYTES:
        _precheck(api, limits, sealed.length, settings.ttl, settings.views, options.attempts)
    with meter(rt.output, "encrypting and uploading", sealed.length) as progress:
        try:
            created = api.create(
                id=id_,
                blob=progress.counted(sealed.chunks),
                length=sealed.length,
                header_length=len(sealed.header_bytes),
                link_verifier=sealed.keys.link_verifier,
                passphrase_verifier=sealed.keys.passphrase_verifier,
                attempts=options.attempts,
                ttl=settings.ttl,
                views=settings.views,
            )
        except FormatError as exc:  # raised by the source while it streams: it changed
            raise UsageError(f"{exc.message}; nothing was shared", hints=exc.hints) from exc
        except OSError as exc:  # reading the source failed halfway
            raise UsageError(
                f"cannot read the secret: {exc.strerror or exc}; nothing was shared"
            ) from exc
    if created.id != b64.encode(id_):
        raise ProtocolError("the server acknowledged a different secret than the one sent")
    link = build_link(base, id_, key)
    receipt = Receipt(
        id=created.id,
        server=api.server,
        token=created.receipt,
        created_at=created.created_at,
        expires_at=created.expires_at,
        views=created.views,
        passphrase=passphrase is not None,
        label=options.label,
        views_left=created.views,
        checked_at=created.created_at,
    )
    saved = True
    try:
        rt.receipts.add(receipt)
    except OtsError as exc:
        saved = False
        rt.output.warn(f"the receipt was not saved: {exc.message}")
    if rt.options.json:
        rt.output.json(
            {
                "link": link,
                "id": created.id,
                "server": api.server,
                "created_at": created.created_at,
                "expires_at": created.expires_at,
                "views": created.views,
                "passphrase": passphrase is not None,
                "attempts": created.attempts,
                "label": options.label,
                "receipt_saved": saved,
            }
        )
    else:
        rt.output.line(link)
    if options.copy:
        _copy(rt, link)
    if options.qr:
        _qr(rt, link)
    return Shared(api, receipt, saved)


def _link_base(rt: Runtime, server: str, public_url: str | None) -> str:
    """The base URL of the link: the server's public URL when it makes a link that parses
    (with this command's ``--insecure``), else ``server``, the address ots reached it at."""
    from ots_cli.links import build_link, parse_link

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
    payload: Payload, id_: bytes, key: bytes, passphrase: str | None, cost: tuple[int, int]
) -> SealedStream:
    """Seal in memory or lazily from the stream; chunks are read later.

    The suite follows from the padded length alone (:func:`~ots_cli.crypto.suite_for`), so it
    says nothing about where the secret came from. A stream is always above
    :data:`~ots_cli.inputs.MEMORY_BYTES`, so suite 2; data in memory takes either.
    """
    from ots_cli import crypto

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

    from ots_cli.answers import auth_error, out_of_range

    if limits is None:
        limits = api.limits()
    if limits.require_account and api.credential() is None:
        host = urlsplit(api.server).netloc
        raise auth_error("account_required", host, api.server, None)
    if size > limits.max_bytes:
        raise _too_large(api, limits.max_bytes)
    if ttl is not None and not limits.ttl_min <= ttl <= limits.ttl_max:
        raise out_of_range("invalid_ttl", limits.ttl_min, limits.ttl_max, ttl)
    if views is not None and not 1 <= views <= limits.max_views:
        raise out_of_range("invalid_views", 1, limits.max_views)
    if attempts is not None and not 1 <= attempts <= limits.max_attempts:
        raise out_of_range("invalid_attempts", 1, limits.max_attempts)


def _copy(rt: Runtime, link: str) -> None:
    from ots_cli import clipboard

    try:
        tool = clipboard.copy(link, rt.env)
    except OtsError as exc:  # the secret is shared and its link printed: only warn
        rt.output.warn(f"{exc.message}; the link was not copied")
        return
    kept = "clipboard managers and history may keep a copy of it"
    if tool is not None:
        rt.output.warn(f"copied the link to the clipboard with {tool}; {kept}")
        return
    if not rt.output.stderr_is_tty:
        rt.output.warn("no clipboard tool found and stderr is not a terminal; not copied")
        return
    # OSC 52 is a request the terminal may ignore, and it cannot say whether it did: claim only
    # what ots did.
    rt.output.stderr_raw(clipboard.osc52(link))
    rt.output.warn(
        "sent the link to the terminal's clipboard (OSC 52); your terminal may ignore it, so "
        f"check before you rely on it; {kept}"
    )


def _qr(rt: Runtime, link: str) -> None:
    import segno

    buffer = io.StringIO()
    segno.make(link, error="m").terminal(out=buffer, compact=True)
    rt.output.stderr_raw(buffer.getvalue())
