"""``ots get`` and ``ots peek``: fetch and decrypt a secret, or look at it without consuming it.

Invariants:

- ``get`` peeks first (see :mod:`ots_cli.fetch`) and checks every precondition before it
  consumes anything: the output file is claimed, the GitHub env/output files are opened for
  appending, the passphrase is read. A person at a terminal is shown what they are about to
  consume. Nothing is asked when the session is not interactive, with ``--no-input``,
  ``--yes`` or ``CI`` set.
- The plaintext goes to stdout as exact bytes (escaped only on a terminal, unless ``--raw``),
  to ``-o FILE`` created 0600 with O_EXCL (``--force`` replaces atomically), or to
  ``$GITHUB_ENV``/``$GITHUB_OUTPUT`` (never printed).
- With GitHub masking (``--mask github``, or ``auto`` on GitHub Actions) the ``::add-mask::``
  commands are written to stderr before the value is written anywhere. ``--to-env`` and
  ``--to-output`` always mask and refuse to run where nothing can mask.
- ``peek`` changes nothing on the server.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from ots_cli import fetch
from ots_cli.errors import TransferLost, UsageError
from ots_cli.fetch import Opening, load_link
from ots_cli.filenames import candidates, hidden_variant, safe_name
from ots_cli.files import ReservedFile
from ots_cli.github import (
    FileCommand,
    MaskMode,
    check_env_name,
    check_output_name,
    file_block,
    mask_commands,
    mask_problems,
    resolve_mask,
)
from ots_cli.incoming import Incoming
from ots_cli.output import visible
from ots_cli.prompts import ask_yes_no
from ots_cli.render import describe_bytes, describe_time
from ots_cli.runtime import Runtime

if TYPE_CHECKING:
    from ots_cli.fetch import Fetched
    from ots_cli.format import Meta

__all__ = [
    "AllowWeakKdfOption",
    "MaskOption",
    "PassphraseFileOption",
    "emit_masks",
    "get",
    "load_link",
    "peek",
]

#: Up to this size a secret is held whole before it is written: CI log masks need the whole
#: value first. Larger ones stream (and are not masked: the runner's masker is for values).
MASK_LIMIT = 64 * 1024
#: On a terminal, text up to this size is shown; larger secrets are saved as files.
SHOW_LIMIT = 1 << 20

LinkArgument = Annotated[
    str,
    typer.Argument(
        metavar="LINK",
        help="The link (https://HOST/s/ID#KEY or ID#KEY), or '-' to read it from stdin.",
    ),
]
MaskOption = Annotated[
    MaskMode,
    typer.Option(
        "--mask",
        help="Mask the value in the CI log: github (::add-mask::), none, or auto (github on "
        "GitHub Actions).",
        case_sensitive=False,
    ),
]
PassphraseFileOption = Annotated[
    Path | None,
    typer.Option(
        "--passphrase-file",
        metavar="PATH",
        help="Read the passphrase from PATH.",
        dir_okay=False,
    ),
]
AllowWeakKdfOption = Annotated[
    bool,
    typer.Option(
        "--allow-weak-kdf",
        help="Accept a passphrase cost below the default (Argon2id 6 passes over 256 MiB), "
        "as a sender's passphrase_cost = interactive makes. Env OTS_ALLOW_WEAK_KDF.",
    ),
]


def emit_masks(rt: Runtime, body: bytes) -> None:
    """Register ``body`` with the runner's log masker (stderr), and warn what it cannot hide."""
    try:
        value = body.decode("utf-8")
    except UnicodeDecodeError:
        rt.output.warn("the secret is not UTF-8 text: it cannot be masked in the log")
        return
    for line in mask_commands(value):
        rt.output.command(line)
    for problem in mask_problems(value):
        rt.output.warn(problem)


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
    passphrase_file: PassphraseFileOption = None,
    to_env: Annotated[
        str | None,
        typer.Option(
            "--to-env",
            metavar="NAME",
            help="GitHub Actions: mask the value and set NAME for the following steps "
            "($GITHUB_ENV). Nothing is printed.",
        ),
    ] = None,
    to_output: Annotated[
        str | None,
        typer.Option(
            "--to-output",
            metavar="NAME",
            help="GitHub Actions: mask the value and set the step output NAME ($GITHUB_OUTPUT).",
        ),
    ] = None,
    mask: MaskOption = MaskMode.auto,
    allow_weak_kdf: AllowWeakKdfOption = False,
) -> None:
    """Fetch a secret once, decrypt it locally and print it (exact bytes), or save a file."""
    rt: Runtime = ctx.obj
    link = load_link(rt, link_text)
    masking = resolve_mask(mask, rt.env)
    to_github = to_env is not None or to_output is not None
    to_file = output_path is not None and str(output_path) != "-"
    if to_github:
        _check_github(rt, to_env, to_output, output_path, raw, mask, masking)
    elif not to_file and rt.options.json and raw:
        raise UsageError("--raw does not apply with --json")
    found = fetch.peek(rt, link)
    fetch.check_kdf_cost(rt, found, allow_weak=allow_weak_kdf)
    if to_github:
        fetch.check_fits_memory(found, "--to-env/--to-output")
    elif not to_file and rt.options.json:
        fetch.check_fits_memory(found, "--json on stdout")
    files: list[tuple[FileCommand, str]] = []
    reserved: ReservedFile | None = None
    try:
        # Claimed before anything is consumed, so that a refusal costs nothing.
        if to_env is not None:
            files.append((FileCommand("GITHUB_ENV", rt.env, "--to-env"), to_env))
        if to_output is not None:
            files.append((FileCommand("GITHUB_OUTPUT", rt.env, "--to-output"), to_output))
        if to_file:
            assert output_path is not None
            reserved = _claim(output_path, force=force)
        if rt.can_prompt() and not yes:
            fetch.confirm(
                rt,
                fetch.describe(rt, found),
                "Reveal it now?",
                "not revealed; the link still works",
            )
        passphrase = fetch.passphrase_for(rt, found, passphrase_file)
        if to_github:
            _to_github(rt, found.link.id_text, fetch.reveal(rt, found, passphrase), files)
            return
        with fetch.reveal_stream(rt, found, passphrase) as opening:
            delivery = Delivery(found.link.id_text, opening, masking=masking, raw=raw, yes=yes)
            if to_file:
                assert output_path is not None
                _save_as(rt, delivery, output_path, reserved)
            elif _saves_here(rt, opening):
                _save_here(rt, delivery)
            else:
                _print(rt, delivery)
    finally:
        for file, _ in files:
            file.close()  # does nothing once written
        if reserved is not None:
            reserved.discard()  # does nothing once filled or kept


def _check_github(
    rt: Runtime,
    to_env: str | None,
    to_output: str | None,
    output_path: Path | None,
    raw: bool,
    mask: MaskMode,
    masking: bool,
) -> None:
    if output_path is not None:
        raise UsageError("give -o FILE or --to-env/--to-output, not both")
    if raw:
        raise UsageError("--raw does not apply with --to-env/--to-output: nothing is printed")
    if to_env is not None:
        check_env_name(to_env)
    if to_output is not None:
        check_output_name(to_output)
    if mask is MaskMode.none:
        raise UsageError("--to-env and --to-output always mask the value; drop --mask none")
    if not masking:
        raise UsageError(
            "--to-env and --to-output work on GitHub Actions only (GITHUB_ACTIONS=true); "
            "nothing was consumed",
            hints=(
                "to hand the secret to a program: ots run LINK --env NAME -- CMD ARGS…",
                "to keep it in a private file: ots get LINK -o FILE (created 0600)",
            ),
        )


def _to_github(
    rt: Runtime, id_text: str, fetched: Fetched, files: list[tuple[FileCommand, str]]
) -> None:
    try:
        value = fetched.body.decode("utf-8")
    except UnicodeDecodeError:
        value = None
    if value is None or "\x00" in value:
        what = "is not UTF-8 text" if value is None else "contains a NUL byte"
        raise fetch.consumed(
            UsageError(
                f"the secret {what}: it cannot be an environment variable or a step output",
                hints=("next time, fetch it with -o FILE",),
            )
        )
    emit_masks(rt, fetched.body)
    for file, name in files:
        file.append(file_block(name, value))
    to_env = next((name for file, name in files if file.variable == "GITHUB_ENV"), None)
    to_output = next((name for file, name in files if file.variable == "GITHUB_OUTPUT"), None)
    if rt.options.json:
        rt.output.json(
            {**_result(id_text, fetched), "to_env": to_env, "to_output": to_output},
        )
        return
    if to_env is not None:
        rt.output.note(f"set {to_env} for the following steps of this job (masked in the log)")
    if to_output is not None:
        rt.output.note(f"set the step output {to_output} (masked in the log)")


def _result(id_text: str, fetched: Fetched) -> dict[str, object]:
    return _describe(id_text, fetched.meta, len(fetched.body), fetched.views_left)


def _describe(id_text: str, meta: Meta, size: int, views_left: int | None) -> dict[str, object]:
    return {
        "id": id_text,
        "kind": meta.kind,
        "name": meta.name,
        "media_type": meta.media_type,
        "size": size,
        "views_left": views_left,
    }


def _claim(path: Path, *, force: bool) -> ReservedFile | None:
    """Before anything is consumed: make sure the secret can be written where asked."""
    if not force:
        return ReservedFile(path)
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {path}: no such directory {path.parent}")
    return None


class Delivery(NamedTuple):
    """A secret being revealed, and how the user asked for it."""

    id_text: str
    opening: Opening
    masking: bool
    raw: bool
    yes: bool

    def result(self, size: int | None = None) -> dict[str, object]:
        opening = self.opening
        length = opening.body_length if size is None else size
        return _describe(self.id_text, opening.meta, length, opening.views_left)

    def chunks(self, rt: Runtime) -> Iterable[bytes]:
        """The body's chunks, after the CI log masks went out (for a body small enough)."""
        if not self.masking:
            return self.opening.chunks
        if self.opening.body_length > MASK_LIMIT:
            rt.output.warn(
                f"the secret is larger than {describe_bytes(MASK_LIMIT)}: it is not masked "
                "in the log"
            )
            return self.opening.chunks
        body = b"".join(self.opening.chunks)
        emit_masks(rt, body)
        return (body,)


def _saves_here(rt: Runtime, opening: Opening) -> bool:
    """On a terminal, files and large secrets are saved in the current directory."""
    return (
        not rt.options.json
        and rt.output.stdout_is_tty
        and (opening.meta.kind == "file" or opening.body_length > SHOW_LIMIT)
    )


def _receive_in(directory: Path | None) -> Incoming:
    """A file being received in ``directory`` (None: the current one); the secret is already
    consumed by now, so any failure here loses it."""
    try:
        return Incoming(Path.cwd() if directory is None else directory)
    except (UsageError, OSError) as exc:
        reason = exc.message if isinstance(exc, UsageError) else "the current directory is gone"
        raise TransferLost(
            f"{reason}; the secret was consumed and its data is lost",
            hints=("next time, run ots get where you can write, or pass -o FILE",),
        ) from exc


def _save_as(rt: Runtime, delivery: Delivery, path: Path, reserved: ReservedFile | None) -> None:
    """``-o FILE``: the claimed file (or, with --force, what is there) is replaced when whole."""
    incoming = _receive_in(path.parent)
    try:
        incoming.write_all(delivery.chunks(rt))
        incoming.replace(path.name)
    finally:
        incoming.discard()
    if reserved is not None:
        reserved.keep()  # the placeholder was replaced by the secret: leave it
    _saved(rt, delivery, path, incoming.size)


def _save_here(rt: Runtime, delivery: Delivery) -> None:
    """Into the current directory under the sender's name made safe, never overwriting."""
    safe = safe_name(delivery.opening.meta.name, fallback=f"ots-{delivery.id_text[:8]}")
    incoming = _receive_in(None)
    try:
        incoming.write_all(delivery.chunks(rt))
        name = safe.name
        if safe.hidden and rt.can_prompt() and not delivery.yes:
            shown = visible(hidden_variant(safe), keep_newlines=False)[0]
            question = f"The sender named it {shown}, a hidden file. Keep the leading dot?"
            if ask_yes_no(rt.stdin, rt.output, question):
                name = hidden_variant(safe)
        path = incoming.publish(candidates(name))
    finally:
        incoming.discard()
    if path.name != delivery.opening.meta.name and delivery.opening.meta.name is not None:
        rt.output.note("the sender's file name was changed to be safe here or not to overwrite")
    _saved(rt, delivery, path, incoming.size)


def _saved(rt: Runtime, delivery: Delivery, path: Path, size: int) -> None:
    if rt.options.json:
        rt.output.json({**delivery.result(size), "path": str(path)})
    else:
        shown = visible(str(path), keep_newlines=False)[0]
        rt.output.note(f"wrote {describe_bytes(size)} to {shown}")


def _print(rt: Runtime, delivery: Delivery) -> None:
    """To stdout: whole (masks first) when small or for JSON, else streamed as it arrives."""
    opening = delivery.opening
    if not rt.options.json and not rt.output.stdout_is_tty and opening.body_length > MASK_LIMIT:
        # A pipe gets the bytes as they are authenticated, in constant memory. Should the
        # stream fail later, the exit status is not 0 and the reader must discard the output.
        for chunk in delivery.chunks(rt):
            rt.output.data(chunk)
        return
    body = b"".join(delivery.chunks(rt))
    result = delivery.result(len(body))
    if rt.options.json:
        try:
            result["encoding"], result["secret"] = "utf-8", body.decode("utf-8")
        except UnicodeDecodeError:
            result["encoding"] = "base64"
            result["secret"] = base64.b64encode(body).decode("ascii")
        rt.output.json(result)
        return
    rt.output.secret(body, raw=delivery.raw)


def peek(ctx: typer.Context, link_text: LinkArgument) -> None:
    """Show a secret's state without consuming it."""
    rt: Runtime = ctx.obj
    link = load_link(rt, link_text)
    found = fetch.peek(rt, link)
    peeked, header = found.peeked, found.header
    if rt.options.json:
        rt.output.json(
            {
                "id": link.id_text,
                "server": found.api.server,
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
