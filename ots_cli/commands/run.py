"""``ots run``: fetch secrets once and hand them to one command, never printing them.

    ots run LINK --env NAME -- CMD ARGS…
    ots run LINK --file-env NAME -- CMD ARGS…
    ots run --secret LINK=NAME --secret-file LINK=NAME … -- CMD ARGS…

Invariants:

- The command comes after ``--``, always: nothing after it is read as an option of ots.
- Every precondition is checked before anything is consumed: the links parse, the command
  exists, every secret is still there (peek), every passphrase is at hand. Then all secrets
  are fetched before the command starts; if one fetch fails, the command does not run and the
  error says which secrets this run had already consumed.
- Values reach the command only through its environment or through private files (see
  :mod:`ots_cli.integrations.child`); never through argv, never into ots's own environment,
  never printed
  (except inside ``::add-mask::`` commands for the CI runner, with GitHub masking).
- The command does not inherit ``OTS_TOKEN``: ots's account token is ots's, not the
  command's (a command that needs one can be given a ``--token-file``).
- ots exits with the command's status (128+N when signal N killed it). ``--json`` is refused:
  stdout belongs to the command.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from ots_cli.cli.options import AllowWeakKdfOption, IdTokenEnvOption, MaskOption
from ots_cli.errors import OtsError, UsageError
from ots_cli.integrations.child import SecretFiles, Signals, run_child, terminal_sends_sigint
from ots_cli.integrations.github import MaskMode, check_variable_name, resolve_mask
from ots_cli.local.tokens import ENV_VARIABLE
from ots_cli.runtime import Runtime
from ots_cli.usecases import fetch, identity
from ots_cli.usecases.deliver import emit_masks

if TYPE_CHECKING:
    from ots_cli.core.links import Link
    from ots_cli.usecases.fetch import Fetched, Peek

__all__ = ["run"]

_SYNOPSIS = "ots run LINK --env NAME -- CMD ARGS…"


class Target(NamedTuple):
    """Where one secret goes: the variable ``name`` holds the value, or a file's path."""

    link_text: str
    name: str
    file: bool
    flag: str


def run(
    ctx: typer.Context,
    words: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[LINK] -- CMD [ARGS]...",
            help="The link whose secret --env or --file-env names, then '--' and the command.",
            show_default=False,
        ),
    ] = None,
    env_name: Annotated[
        str | None,
        typer.Option("--env", metavar="NAME", help="Put LINK's secret in the variable NAME."),
    ] = None,
    file_env: Annotated[
        str | None,
        typer.Option(
            "--file-env",
            metavar="NAME",
            help="Put LINK's secret in a private file (0600) and its path in NAME; the file is "
            "removed when CMD exits.",
        ),
    ] = None,
    secret: Annotated[
        list[str] | None,
        typer.Option(
            "--secret",
            metavar="LINK=NAME",
            help="Also put this link's secret in the variable NAME (repeatable).",
        ),
    ] = None,
    secret_file: Annotated[
        list[str] | None,
        typer.Option(
            "--secret-file",
            metavar="LINK=NAME",
            help="Also put this link's secret in a private file whose path is in NAME "
            "(repeatable).",
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask before consuming the secrets.")
    ] = False,
    passphrase_file: Annotated[
        Path | None,
        typer.Option(
            "--passphrase-file",
            metavar="PATH",
            help="Read the passphrase of every secret that needs one from PATH.",
            dir_okay=False,
        ),
    ] = None,
    mask: MaskOption = MaskMode.auto,
    allow_weak_kdf: AllowWeakKdfOption = False,
    id_token_env: IdTokenEnvOption = None,
) -> None:
    """Fetch secrets once and run a command with them in its environment (never printed)."""
    rt: Runtime = ctx.obj
    if rt.options.json:
        raise UsageError(
            "--json does not apply to `ots run`: its stdout belongs to the command",
            hints=("the command's exit status is ots's exit status",),
        )
    command, before = _split(rt, words or [])
    targets = _targets(before, env_name, file_env, secret or [], secret_file or [])
    _check_command(rt, command)
    values = _fetch_all(
        rt,
        targets,
        yes=yes,
        passphrase_file=passphrase_file,
        allow_weak_kdf=allow_weak_kdf,
        id_token_env=id_token_env,
    )
    if resolve_mask(mask, rt.env):
        for value in dict.fromkeys(values):
            emit_masks(rt, value)
    rt.child_status = _run(rt, command, targets, values)


def _split(rt: Runtime, words: list[str]) -> tuple[list[str], list[str]]:
    """(the command, the words before ``--``), from click's words and the raw argv."""
    if "--" not in rt.argv:
        raise UsageError("put the command after '--'", hints=(_SYNOPSIS,))
    command = rt.argv[rt.argv.index("--") + 1 :]
    if not command:
        raise UsageError("no command after '--'", hints=(_SYNOPSIS,))
    if len(words) < len(command) or words[len(words) - len(command) :] != command:
        raise UsageError("cannot tell the command from the options of ots", hints=(_SYNOPSIS,))
    return command, words[: len(words) - len(command)]


def _pair(text: str, flag: str, *, file: bool) -> Target:
    link, separator, name = text.rpartition("=")
    if not separator or not link or not name:
        raise UsageError(f"{flag} takes LINK=NAME", hints=(f"{flag} https://HOST/s/ID#KEY=NAME",))
    return Target(link, name, file, flag)


def _targets(
    before: list[str],
    env_name: str | None,
    file_env: str | None,
    secrets: list[str],
    secret_files: list[str],
) -> list[Target]:
    targets: list[Target] = []
    if len(before) > 1:
        raise UsageError(
            "more than one LINK before '--'",
            hints=("give further secrets with --secret LINK=NAME or --secret-file LINK=NAME",),
        )
    if before:
        if env_name is None and file_env is None:
            raise UsageError(
                "say where LINK's secret goes: --env NAME or --file-env NAME", hints=(_SYNOPSIS,)
            )
        if env_name is not None:
            targets.append(Target(before[0], env_name, False, "--env"))
        if file_env is not None:
            targets.append(Target(before[0], file_env, True, "--file-env"))
    elif env_name is not None or file_env is not None:
        raise UsageError("--env and --file-env need a LINK before '--'", hints=(_SYNOPSIS,))
    targets += [_pair(text, "--secret", file=False) for text in secrets]
    targets += [_pair(text, "--secret-file", file=True) for text in secret_files]
    if not targets:
        raise UsageError("no secret to fetch", hints=(_SYNOPSIS,))
    seen: set[str] = set()
    for target in targets:
        check_variable_name(target.name, target.flag)
        if target.name in seen:
            raise UsageError(f"the variable {target.name} is given twice")
        seen.add(target.name)
    return targets


def _check_command(rt: Runtime, command: list[str]) -> None:
    path = rt.env.get("PATH", os.defpath)
    if shutil.which(command[0], path=path) is None:
        raise UsageError(
            f"command not found: {command[0]}",
            hints=("nothing was consumed; check the command and PATH",),
        )


def _fetch_all(
    rt: Runtime,
    targets: list[Target],
    *,
    yes: bool,
    passphrase_file: Path | None,
    allow_weak_kdf: bool,
    id_token_env: str | None = None,
) -> list[bytes]:
    """The value for each target: every secret looked at first, then each consumed once."""
    parsed = {
        text: fetch.load_link(rt, text) for text in dict.fromkeys(t.link_text for t in targets)
    }
    ids = [parsed[target.link_text] for target in targets]
    links: dict[bytes, Link] = {}
    for link in ids:
        links.setdefault(link.id, link)
    found: list[Peek] = [fetch.peek(rt, link, id_token_env=id_token_env) for link in links.values()]
    for one in found:
        fetch.check_fits_memory(one, "ots run")
        fetch.check_kdf_cost(rt, one, allow_weak=allow_weak_kdf)
    # Bound secrets: every ID token is found before anything is consumed.
    for one in found:
        identity.prove_identity(rt, one, id_token_env)
    names = {
        id_: ", ".join(t.name for t, link in zip(targets, ids, strict=True) if link.id == id_)
        for id_ in links
    }
    if rt.can_prompt() and not yes:
        lines = []
        for one in found:
            lines += [f"{names[one.link.id]}: {line}" for line in fetch.describe(rt, one)]
        fetch.confirm(
            rt,
            lines,
            "Reveal and run the command?",
            "nothing was revealed and the command did not run; the links still work",
        )
    passphrases = [fetch.passphrase_for(rt, one, passphrase_file) for one in found]
    fetched: dict[bytes, Fetched] = {}
    for one, passphrase in zip(found, passphrases, strict=True):
        try:
            fetched[one.link.id] = fetch.reveal(rt, one, passphrase)
        except OtsError as exc:
            raise _with_consumed(exc, [names[id_] for id_ in fetched]) from exc
    values = [fetched[link.id].body for link in ids]
    for target, value in zip(targets, values, strict=True):
        if not target.file and b"\x00" in value:
            raise _with_consumed(
                UsageError(
                    f"the secret for {target.name} contains a NUL byte: it cannot be an "
                    "environment variable",
                    hints=("--file-env and --secret-file put any bytes in a file",),
                ),
                [names[id_] for id_ in fetched],
            )
    return values


def _with_consumed(error: OtsError, consumed: list[str]) -> OtsError:
    if consumed:
        error.hints = (
            *error.hints,
            f"this run already consumed the secrets for {', '.join(consumed)}: those links no "
            "longer work; ask the sender to share them again",
        )
    return error


def _run(rt: Runtime, command: list[str], targets: list[Target], values: list[bytes]) -> int:
    stdout, stderr = rt.output.streams
    env = {os.fsencode(k): os.fsencode(v) for k, v in rt.env.items() if k != ENV_VARIABLE}
    sends_sigint = terminal_sends_sigint([rt.stdin, stdout, stderr])
    with Signals(terminal_sends_sigint=sends_sigint) as signals:
        files: SecretFiles | None = None
        try:
            for target, value in zip(targets, values, strict=True):
                if target.file:
                    files = files or SecretFiles(rt.env)
                    env[target.name.encode()] = os.fsencode(files.add(target.name, value))
                else:
                    env[target.name.encode()] = value
            return run_child(
                command, env, stdin=rt.stdin, stdout=stdout, stderr=stderr, signals=signals
            )
        finally:
            if files is not None:
                files.close()
