"""GitHub Actions: log masks, and values handed to later steps through ``$GITHUB_ENV`` and
``$GITHUB_OUTPUT``, following the runner's own rules (actions/runner, ``ActionCommand`` and
``SetEnvFileCommand``).

Invariants:

- Workflow commands are written to **stderr**, never stdout: stdout carries the secret's exact
  bytes, or nothing, so ``pw=$(ots get …)`` and ``ots get … | tool`` keep working on GitHub.
  The runner reads workflow commands from both streams of a step.
- A mask command carries the value escaped as the runner unescapes command data (``%`` →
  ``%25``, CR → ``%0D``, LF → ``%0A``), so no value can start a second command line. A value
  with line breaks is masked whole and line by line, because the runner masks each log line
  on its own.
- A value reaches an env or output file only as a ``NAME<<DELIMITER`` block whose random
  delimiter does not occur in the value, so no value can end its block early and set other
  variables.
- The files are opened for appending before anything is consumed, and never truncated.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path

from ots_cli.errors import UsageError

__all__ = [
    "MIN_MASK_LENGTH",
    "FileCommand",
    "MaskMode",
    "check_env_name",
    "check_output_name",
    "check_variable_name",
    "file_block",
    "is_github",
    "mask_commands",
    "mask_problems",
    "resolve_mask",
]

#: Values (and lines of multi-line values) shorter than this are not masked reliably: the
#: runner would hide every occurrence of a few common characters, and the rest of the log gives
#: the value away. Shorter lines are not masked on their own; a warning says so.
MIN_MASK_LENGTH = 4

# Patterns are compiled on first use (re caches them): `ots get` pays for them only with a
# GitHub option.
_ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*\Z"
_OUTPUT_NAME = r"[A-Za-z_][A-Za-z0-9_-]*\Z"
#: The runner refuses NODE_OPTIONS from $GITHUB_ENV, and keeps its own values of its GITHUB_*
#: and RUNNER_* defaults; ACTIONS_* variables configure the runner and the toolkit itself.
_RESERVED_PREFIXES = ("GITHUB_", "RUNNER_", "ACTIONS_")
_RESERVED_NAMES = frozenset({"NODE_OPTIONS"})
_LINE_BREAK = r"\r\n|\r|\n"


class MaskMode(StrEnum):
    auto = "auto"
    github = "github"
    none = "none"


def is_github(env: Mapping[str, str]) -> bool:
    """Whether this process runs in a GitHub Actions job (the runner sets ``GITHUB_ACTIONS``)."""
    return env.get("GITHUB_ACTIONS") == "true"


def resolve_mask(mode: MaskMode, env: Mapping[str, str]) -> bool:
    """Whether values are to be masked with GitHub's ``::add-mask::``."""
    if mode is MaskMode.auto:
        return is_github(env)
    return mode is MaskMode.github


def _escape(value: str) -> str:
    # The runner unescapes %0D, then %0A, then %25: escaping % first makes that an exact inverse.
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _mask_targets(value: str) -> list[str]:
    targets = [value] if value.strip() else []
    if re.search(_LINE_BREAK, value):
        for line in re.split(_LINE_BREAK, value):
            if len(line.strip()) >= MIN_MASK_LENGTH and line not in targets:
                targets.append(line)
    return targets


def mask_commands(value: str) -> list[str]:
    """The ``::add-mask::`` lines (without line endings) that hide ``value`` in the log."""
    return [f"::add-mask::{_escape(target)}" for target in _mask_targets(value)]


def mask_problems(value: str) -> list[str]:
    """Warnings about parts of ``value`` the log masks cannot hide (empty when all is well)."""
    if not value.strip():
        return ["the value is empty or blank and cannot be masked in the log"] if value else []
    problems = []
    if len(value.strip()) < MIN_MASK_LENGTH:
        problems.append(
            f"the value is shorter than {MIN_MASK_LENGTH} characters: the log mask may not "
            "hide it (the runner masks every occurrence, and the context gives it away)"
        )
    if re.search(_LINE_BREAK, value):
        short = [
            line
            for line in re.split(_LINE_BREAK, value)
            if line.strip() and len(line.strip()) < MIN_MASK_LENGTH
        ]
        if short:
            problems.append(
                f"{len(short)} line{'s' if len(short) != 1 else ''} of the value "
                f"{'are' if len(short) != 1 else 'is'} shorter than {MIN_MASK_LENGTH} "
                "characters and not masked on its own in the log"
            )
    return problems


def _check_name(name: str, pattern: str, what: str, flag: str) -> None:
    if not re.match(pattern, name):
        allowed = "letters, digits and '_'" + (", '-'" if pattern is _OUTPUT_NAME else "")
        raise UsageError(
            f"{flag}: {name!r} is not a valid {what} name",
            hints=(f"use {allowed}, not starting with a digit",),
        )


def check_variable_name(name: str, flag: str) -> None:
    """Refuse anything but a portable environment variable name."""
    _check_name(name, _ENV_NAME, "environment variable", flag)


def check_env_name(name: str, flag: str = "--to-env") -> None:
    """Refuse a name the runner would reject, ignore, or that would reconfigure the runner."""
    check_variable_name(name, flag)
    upper = name.upper()
    if upper in _RESERVED_NAMES or upper.startswith(_RESERVED_PREFIXES):
        raise UsageError(
            f"{flag}: {name} is reserved on GitHub Actions",
            hints=(
                "the runner refuses NODE_OPTIONS and keeps its own GITHUB_*, RUNNER_* and "
                "ACTIONS_* variables; choose another name",
            ),
        )


def check_output_name(name: str) -> None:
    _check_name(name, _OUTPUT_NAME, "step output", "--to-output")


def file_block(name: str, value: str) -> bytes:
    """``NAME<<DELIMITER``, the value, the delimiter: one entry of an env or output file.

    The delimiter is random and, as checked here, occurs nowhere in the value, so the runner
    cannot end the block early whatever the value holds.
    """
    import secrets

    while True:
        delimiter = f"ots_{secrets.token_hex(16)}"
        if delimiter not in value:
            break
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n".encode()


class FileCommand:
    """``$GITHUB_ENV`` or ``$GITHUB_OUTPUT``, opened for appending before the secret is consumed.

    ``variable`` is the name of the environment variable holding the file's path.
    """

    def __init__(self, variable: str, env: Mapping[str, str], flag: str) -> None:
        path = env.get(variable)
        if not path:
            raise UsageError(
                f"{flag} needs ${variable}, which is not set",
                hints=(
                    "the GitHub Actions runner sets it in every step; elsewhere use "
                    "-o FILE or `ots run`",
                ),
            )
        self.variable = variable
        self.path = Path(path)
        try:
            # Append only: other steps' entries in the file must survive whatever happens here.
            self._fd: int | None = os.open(
                self.path,
                os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0),
                0o600,
            )
        except OSError as exc:
            raise UsageError(
                f"cannot open ${variable} ({self.path}) for appending: {exc.strerror or exc}"
            ) from exc

    def append(self, block: bytes) -> None:
        """Write ``block`` with as few ``write`` calls as the system allows, then close."""
        fd, self._fd = self._fd, None
        if fd is None:
            raise ValueError("the file was already written or closed")
        try:
            view = memoryview(block)
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            raise UsageError(
                f"cannot write to ${self.variable} ({self.path}): {exc.strerror or exc}"
            ) from exc
        finally:
            os.close(fd)

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
