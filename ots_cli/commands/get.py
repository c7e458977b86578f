"""``ots get`` and ``ots peek``: fetch and decrypt a secret, or look at it without consuming it.

Invariants:

- ``get`` peeks first (it needs the public header to derive a passphrase proof, and a person
  at a terminal is shown what they are about to consume), then reveals once. Nothing is asked
  when the session is not interactive, with ``--no-input``, ``--yes`` or ``CI`` set.
- The revealed blob must start with exactly the header the peek returned and is authenticated
  as a whole before a single byte of plaintext is written anywhere.
- The plaintext goes to stdout as exact bytes (escaped only on a terminal, unless ``--raw``) or
  to ``-o FILE`` created 0600 with O_EXCL (``--force`` replaces atomically).
- ``peek`` changes nothing on the server.
"""

from __future__ import annotations

import base64
import hmac
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ots_cli.errors import (
    BadLink,
    Cancelled,
    DecryptionFailed,
    FormatError,
    OtsError,
    PassphraseRequired,
    UsageError,
)
from ots_cli.files import ReservedFile, write_atomic
from ots_cli.output import visible
from ots_cli.passphrases import read_passphrase_file
from ots_cli.prompts import ask_hidden, ask_yes_no
from ots_cli.render import describe_bytes, describe_time
from ots_cli.runtime import Runtime

if TYPE_CHECKING:
    from ots_cli.client import Api, Peeked
    from ots_cli.format import Header
    from ots_cli.links import Link

__all__ = ["get", "load_link", "peek"]

LinkArgument = Annotated[
    str,
    typer.Argument(
        metavar="LINK",
        help="The link (https://HOST/s/ID#KEY or ID#KEY), or '-' to read it from stdin.",
    ),
]


def load_link(rt: Runtime, text: str) -> Link:
    """Parse a link given as an argument, or read it from stdin for ``-``."""
    from ots_cli.links import parse_link

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


def _peek(rt: Runtime, link: Link) -> tuple[Api, Peeked, Header]:
    from ots_cli import crypto
    from ots_cli.format import blob_length, decode_header

    api = rt.api(link.server)
    peeked = api.peek(link.id, crypto.link_proof(link.id, link.key))
    header, length = decode_header(peeked.header)
    if length != len(peeked.header):
        raise FormatError("the server returned a header with trailing bytes")
    if header.needs_passphrase != peeked.passphrase:
        raise FormatError("the server's passphrase flag contradicts the secret's header")
    # The header fixes the blob's exact size; checked here, before anything is consumed, so
    # the reveal can never be asked to buffer more than the format allows.
    if peeked.size != blob_length(length, header.padded_length, header.suite):
        raise FormatError("the server's size for the secret contradicts its header")
    return api, peeked, header


def get(
    ctx: typer.Context,
    link_text: LinkArgument,
    output_path: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the secret to FILE (created 0600).",
            dir_okay=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="With -o, replace FILE if it exists.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before consuming the secret.")
    ] = False,
    raw: Annotated[
        bool,
        typer.Option("--raw", help="On a terminal, print the bytes without escaping them."),
    ] = False,
    passphrase_file: Annotated[
        Path | None,
        typer.Option(
            "--passphrase-file",
            metavar="PATH",
            help="Read the passphrase from PATH.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Fetch a secret once, decrypt it locally and print it (exact bytes)."""
    rt: Runtime = ctx.obj
    link = load_link(rt, link_text)
    to_stdout = output_path is None or str(output_path) == "-"
    if to_stdout and rt.options.json and raw:
        raise UsageError("--raw does not apply with --json")
    api, peeked, header = _peek(rt, link)
    reserved = None if to_stdout else _claim(output_path, force=force)
    try:
        _get(rt, link, api, peeked, header, output_path, reserved, yes, raw, passphrase_file)
    finally:
        if reserved is not None:
            reserved.discard()  # does nothing once filled


def _claim(path: Path | None, *, force: bool) -> ReservedFile | None:
    """Before anything is consumed: make sure the secret can be written where asked."""
    assert path is not None
    if not force:
        return ReservedFile(path)
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {path}: no such directory {path.parent}")
    return None


def _get(
    rt: Runtime,
    link: Link,
    api: Api,
    peeked: Peeked,
    header: Header,
    output_path: Path | None,
    reserved: ReservedFile | None,
    yes: bool,
    raw: bool,
    passphrase_file: Path | None,
) -> None:
    from ots_cli import crypto

    to_stdout = output_path is None or str(output_path) == "-"
    interactive = rt.can_prompt()
    if interactive and not yes:
        _confirm(rt, peeked, header)
    passphrase: str | None = None
    if header.needs_passphrase:
        if passphrase_file is not None:
            passphrase = read_passphrase_file(passphrase_file)
        elif interactive:
            left = peeked.attempts_left
            suffix = f", {left} attempt{'s' if left != 1 else ''} left" if left else ""
            passphrase = ask_hidden(rt.stdin, rt.output, f"Passphrase (hidden{suffix}): ")
            if not passphrase:
                raise UsageError("no passphrase entered; nothing was consumed")
        else:
            raise PassphraseRequired(
                "this secret needs a passphrase", hints=("pass --passphrase-file PATH",)
            )
        rt.output.progress("deriving a key from the passphrase…")
    keys = crypto.derive_keys(header, link.key, passphrase)
    revealed = api.reveal(link.id, keys.link_proof, keys.passphrase_proof, max_bytes=peeked.size)
    if not hmac.compare_digest(revealed.blob[: len(peeked.header)], peeked.header):
        raise _consumed(DecryptionFailed("the server sent data that does not match its header"))
    try:
        opened = crypto.open_blob(revealed.blob, id=link.id, keys=keys)
    except OtsError as exc:
        raise _consumed(exc) from exc
    body = opened.body
    result: dict[str, object] = {
        "id": link.id_text,
        "kind": opened.meta.kind,
        "name": opened.meta.name,
        "media_type": opened.meta.media_type,
        "size": len(body),
        "views_left": revealed.views_left,
    }
    if not to_stdout:
        assert output_path is not None
        if reserved is None:  # --force: replace atomically
            write_atomic(output_path, body, error=UsageError)
        else:
            reserved.fill(body)
        result["path"] = str(output_path)
        if rt.options.json:
            rt.output.json(result)
        else:
            rt.output.note(f"wrote {describe_bytes(len(body))} to {output_path}")
        return
    if rt.options.json:
        try:
            result["encoding"], result["secret"] = "utf-8", body.decode("utf-8")
        except UnicodeDecodeError:
            result["encoding"] = "base64"
            result["secret"] = base64.b64encode(body).decode("ascii")
        rt.output.json(result)
        return
    rt.output.secret(body, raw=raw)


def _consumed(error: OtsError) -> OtsError:
    """The same error, with the hint that the view was used up by this attempt."""
    error.hints = (
        *error.hints,
        "this attempt used up a view: ask the sender to share the secret again",
    )
    return error


def _confirm(rt: Runtime, peeked: Peeked, header: Header) -> None:
    now = rt.now()
    views = f"{peeked.views_left} view{'s' if peeked.views_left != 1 else ''} left"
    lines = [
        f"a secret of up to {describe_bytes(header.padded_length)}, "
        f"expires {describe_time(peeked.expires_at, now)}, {views}",
    ]
    if header.needs_passphrase:
        lines.append("it is protected by a passphrase")
    lines.append(
        "revealing it uses one view"
        + (" and destroys it on the server" if peeked.views_left == 1 else "")
    )
    for line in lines:
        rt.output.prompt(f"ots: {line}\n")
    if not ask_yes_no(rt.stdin, rt.output, "Reveal it now?"):
        raise Cancelled("not revealed; the secret is still there")


def peek(ctx: typer.Context, link_text: LinkArgument) -> None:
    """Show a secret's state without consuming it."""
    rt: Runtime = ctx.obj
    link = load_link(rt, link_text)
    api, peeked, header = _peek(rt, link)
    if rt.options.json:
        rt.output.json(
            {
                "id": link.id_text,
                "server": api.server,
                "state": "available",
                "created_at": peeked.created_at,
                "expires_at": peeked.expires_at,
                "views_left": peeked.views_left,
                "passphrase": peeked.passphrase,
                "attempts_left": peeked.attempts_left,
                "size": peeked.size,
                "padded_length": header.padded_length,
            }
        )
        return
    now = rt.now()
    rows = [
        ("state", "available"),
        ("expires", describe_time(peeked.expires_at, now)),
        ("views left", str(peeked.views_left)),
        (
            "passphrase",
            f"yes, {peeked.attempts_left} attempts left" if peeked.passphrase else "no",
        ),
        ("size", f"up to {describe_bytes(header.padded_length)}"),
    ]
    width = max(len(name) for name, _ in rows)
    rt.output.lines([f"{name.ljust(width)}  {visible(value)[0]}" for name, value in rows])
