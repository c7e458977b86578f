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
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ots_cli import fetch
from ots_cli.errors import UsageError
from ots_cli.fetch import load_link
from ots_cli.files import ReservedFile, write_atomic
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
from ots_cli.output import visible
from ots_cli.render import describe_bytes, describe_time
from ots_cli.runtime import Runtime

if TYPE_CHECKING:
    from ots_cli.fetch import Fetched

__all__ = ["MaskOption", "PassphraseFileOption", "emit_masks", "get", "load_link", "peek"]

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
) -> None:
    """Fetch a secret once, decrypt it locally and print it (exact bytes)."""
    rt: Runtime = ctx.obj
    link = load_link(rt, link_text)
    masking = resolve_mask(mask, rt.env)
    to_github = to_env is not None or to_output is not None
    if to_github:
        _check_github(rt, to_env, to_output, output_path, raw, mask, masking)
    elif (output_path is None or str(output_path) == "-") and rt.options.json and raw:
        raise UsageError("--raw does not apply with --json")
    found = fetch.peek(rt, link)
    files: list[tuple[FileCommand, str]] = []
    reserved: ReservedFile | None = None
    try:
        # Claimed before anything is consumed, so that a refusal costs nothing.
        if to_env is not None:
            files.append((FileCommand("GITHUB_ENV", rt.env, "--to-env"), to_env))
        if to_output is not None:
            files.append((FileCommand("GITHUB_OUTPUT", rt.env, "--to-output"), to_output))
        if not to_github and output_path is not None and str(output_path) != "-":
            reserved = _claim(output_path, force=force)
        if rt.can_prompt() and not yes:
            fetch.confirm(
                rt,
                fetch.describe(rt, found),
                "Reveal it now?",
                "not revealed; the secret is still there",
            )
        fetched = fetch.reveal(rt, found, fetch.passphrase_for(rt, found, passphrase_file))
        if to_github:
            _to_github(rt, found.link.id_text, fetched, files)
            return
        if masking:
            emit_masks(rt, fetched.body)
        _deliver(rt, found.link.id_text, fetched, output_path, reserved, raw)
    finally:
        for file, _ in files:
            file.close()  # does nothing once written
        if reserved is not None:
            reserved.discard()  # does nothing once filled


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
    return {
        "id": id_text,
        "kind": fetched.meta.kind,
        "name": fetched.meta.name,
        "media_type": fetched.meta.media_type,
        "size": len(fetched.body),
        "views_left": fetched.views_left,
    }


def _claim(path: Path, *, force: bool) -> ReservedFile | None:
    """Before anything is consumed: make sure the secret can be written where asked."""
    if not force:
        return ReservedFile(path)
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {path}: no such directory {path.parent}")
    return None


def _deliver(
    rt: Runtime,
    id_text: str,
    fetched: Fetched,
    output_path: Path | None,
    reserved: ReservedFile | None,
    raw: bool,
) -> None:
    body = fetched.body
    result = _result(id_text, fetched)
    if output_path is not None and str(output_path) != "-":
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
