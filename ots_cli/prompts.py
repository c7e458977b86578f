"""Questions for the person at the terminal: hidden answers, yes/no, never on stdout.

Invariants:

- A prompt is shown only when :func:`can_prompt` is true: stdin and stderr are terminals,
  ``--no-input`` was not given and ``CI`` is not set. Otherwise the caller must get its input
  elsewhere (a file, stdin) or fail with a usage error that says how.
- Prompt text goes to stderr; answers are read from the stdin terminal. Hidden answers switch
  echo off on that terminal and always restore it, including on Ctrl-C.
- An answer is one line without its line ending.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import BinaryIO

from ots_cli.errors import UsageError
from ots_cli.output import Output

__all__ = ["ask_hidden", "ask_yes_no", "can_prompt", "ci_is_set", "no_prompt_reason"]


def ci_is_set(env: Mapping[str, str]) -> bool:
    """``CI`` set to anything but empty, ``0`` or ``false`` (GitHub, GitLab and others set it)."""
    return env.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def can_prompt(stdin: BinaryIO, output: Output, env: Mapping[str, str], *, no_input: bool) -> bool:
    if no_input or ci_is_set(env) or not output.stderr_is_tty:
        return False
    try:
        return stdin.isatty()
    except (ValueError, OSError):
        return False


def no_prompt_reason(
    stdin: BinaryIO, output: Output, env: Mapping[str, str], *, no_input: bool
) -> str:
    """Why :func:`can_prompt` is false, for the hint that names the flag to use instead."""
    if no_input:
        return "--no-input was given"
    if ci_is_set(env):
        return "CI is set"
    if not output.stderr_is_tty:
        return "stderr is not a terminal"
    return "stdin is not a terminal"


def ask_hidden(stdin: BinaryIO, output: Output, prompt: str) -> str:
    """Read one line from the terminal with echo off.

    Echo goes off (discarding anything typed ahead, which was typed with echo on) before the
    prompt is shown, so nothing typed after the prompt can ever be echoed.
    """
    try:
        import termios
    except ImportError:  # pragma: no cover - Windows: getpass reads the console directly
        import getpass

        output.prompt(prompt)
        return getpass.getpass("")
    fd = stdin.fileno()
    saved = termios.tcgetattr(fd)
    quiet = termios.tcgetattr(fd)
    quiet[3] &= ~(termios.ECHO | termios.ECHONL)
    try:
        termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
        output.prompt(prompt)
        return _read_line(fd)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        output.prompt("\n")


def ask_yes_no(stdin: BinaryIO, output: Output, question: str) -> bool:
    """``question [y/N]``; anything but y/yes is no."""
    output.prompt(f"{question} [y/N] ")
    answer = _read_line(stdin.fileno())
    return answer.strip().lower() in ("y", "yes")


def _read_line(fd: int) -> str:
    # os.read on the descriptor: a buffered reader could swallow input typed ahead for later.
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            break
    line = b"".join(chunks)
    if line.endswith(b"\r\n"):
        line = line[:-2]
    elif line.endswith(b"\n"):
        line = line[:-1]
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(
            "the answer is not valid UTF-8", hints=("check the terminal's encoding",)
        ) from None
