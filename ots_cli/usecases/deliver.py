"""Delivering a revealed secret where the user asked: stdout, a file, or GitHub's env files.

Shared by ``ots get`` and the requester's side of ``ots request`` (``--wait``, ``wait``), so a
secret that answers a request arrives exactly as ``ots get`` would deliver it. The commands
peek (:mod:`ots_cli.usecases.fetch`), then :func:`check_target`, :func:`check_fits` and
:func:`claim` before anything is consumed, then :func:`deliver`.

Invariants:

- Every precondition is checked before anything is consumed: the options fit together, the
  secret fits in memory where it must, the output file is claimed (created empty, 0600,
  ``O_EXCL``), the GitHub env/output files are opened for appending.
- The plaintext goes to stdout as exact bytes (escaped only on a terminal, unless ``--raw``),
  to ``-o FILE`` (replaced only once whole and authenticated), or to
  ``$GITHUB_ENV``/``$GITHUB_OUTPUT`` (never printed).
- With GitHub masking (``--mask github``, or ``auto`` on GitHub Actions) the ``::add-mask::``
  commands are written to stderr before the value is written anywhere. ``--to-env`` and
  ``--to-output`` always mask and refuse to run where nothing can mask.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from ots_cli.core.filenames import candidates, hidden_variant, safe_name
from ots_cli.core.render import describe_bytes
from ots_cli.errors import TransferLost, UsageError
from ots_cli.integrations.github import (
    FileCommand,
    MaskMode,
    check_env_name,
    check_output_name,
    file_block,
    mask_commands,
    mask_problems,
    resolve_mask,
)
from ots_cli.local.files import ReservedFile
from ots_cli.local.incoming import Incoming
from ots_cli.runtime import Runtime
from ots_cli.terminal.output import visible
from ots_cli.terminal.prompts import ask_yes_no
from ots_cli.usecases import fetch

if TYPE_CHECKING:
    from ots_cli.core.envelope import Meta
    from ots_cli.usecases.fetch import Fetched, Opening, Passphrase, Peek

__all__ = [
    "MASK_LIMIT",
    "SHOW_LIMIT",
    "Claims",
    "Target",
    "check_fits",
    "check_target",
    "claim",
    "deliver",
    "emit_masks",
]

#: Up to this size a secret is held whole before it is written: CI log masks need the whole
#: value first. Larger ones stream (and are not masked: the runner's masker is for values).
MASK_LIMIT = 64 * 1024
#: On a terminal, text up to this size is shown; larger secrets are saved as files.
SHOW_LIMIT = 1 << 20


class Target(NamedTuple):
    """Where the user asked for the secret: ``get``'s delivery options."""

    output: Path | None = None
    force: bool = False
    raw: bool = False
    yes: bool = False
    to_env: str | None = None
    to_output: str | None = None
    mask: MaskMode = MaskMode.auto

    @property
    def to_github(self) -> bool:
        return self.to_env is not None or self.to_output is not None

    @property
    def to_file(self) -> bool:
        """``-o FILE`` (``-o -`` is stdout)."""
        return self.output is not None and str(self.output) != "-"


class Claims(NamedTuple):
    """What :func:`claim` holds until the secret is delivered."""

    files: list[tuple[FileCommand, str]]
    reserved: ReservedFile | None


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


def check_target(rt: Runtime, target: Target) -> None:
    """Refuse options that do not fit together, before anything is asked or consumed."""
    if target.to_github:
        _check_github(rt, target)
    elif not target.to_file and rt.options.json and target.raw:
        raise UsageError("--raw does not apply with --json")


def _check_github(rt: Runtime, target: Target) -> None:
    if target.output is not None:
        raise UsageError("give -o FILE or --to-env/--to-output, not both")
    if target.raw:
        raise UsageError("--raw does not apply with --to-env/--to-output: nothing is printed")
    if target.to_env is not None:
        check_env_name(target.to_env)
    if target.to_output is not None:
        check_output_name(target.to_output)
    if target.mask is MaskMode.none:
        raise UsageError("--to-env and --to-output always mask the value; drop --mask none")
    if not resolve_mask(target.mask, rt.env):
        raise UsageError(
            "--to-env and --to-output work on GitHub Actions only (GITHUB_ACTIONS=true); "
            "nothing was consumed",
            hints=(
                "to hand the secret to a program: ots run LINK --env NAME -- CMD ARGS…",
                "to keep it in a private file: ots get LINK -o FILE (created 0600)",
            ),
        )


def check_fits(rt: Runtime, found: Peek, target: Target) -> None:
    """Refuse, before anything is consumed, a secret too large for where it must be held."""
    if target.to_github:
        fetch.check_fits_memory(found, "--to-env/--to-output")
    elif not target.to_file and rt.options.json:
        fetch.check_fits_memory(found, "--json on stdout")


@contextmanager
def claim(rt: Runtime, target: Target) -> Iterator[Claims]:
    """Open the GitHub files and claim the output file; release what was not used on exit."""
    files: list[tuple[FileCommand, str]] = []
    reserved: ReservedFile | None = None
    try:
        if target.to_env is not None:
            files.append((FileCommand("GITHUB_ENV", rt.env, "--to-env"), target.to_env))
        if target.to_output is not None:
            files.append((FileCommand("GITHUB_OUTPUT", rt.env, "--to-output"), target.to_output))
        if target.to_file:
            assert target.output is not None
            reserved = _claim(target.output, force=target.force)
        yield Claims(files, reserved)
    finally:
        for file, _ in files:
            file.close()  # does nothing once written
        if reserved is not None:
            reserved.discard()  # does nothing once filled or kept


def deliver(
    rt: Runtime, found: Peek, passphrase: Passphrase | None, target: Target, claims: Claims
) -> None:
    """Consume the secret and put it where ``target`` says (claimed by :func:`claim`)."""
    if target.to_github:
        _to_github(rt, found.link.id_text, fetch.reveal(rt, found, passphrase), claims.files)
        return
    masking = resolve_mask(target.mask, rt.env)
    with fetch.reveal_stream(rt, found, passphrase) as opening:
        delivery = Delivery(found.link.id_text, opening, masking, target.raw, target.yes)
        if target.to_file:
            assert target.output is not None
            _save_as(rt, delivery, target.output, claims.reserved)
        elif _saves_here(rt, opening):
            _save_here(rt, delivery)
        else:
            _print(rt, delivery)


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
