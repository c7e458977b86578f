"""Questions for the person at the terminal: hidden answers, yes/no, never on stdout.

Invariants:

- A prompt is shown only when :func:`can_prompt` is true: stdin and stderr are terminals,
  ``--no-input`` was not given and ``CI`` is not set. Otherwise the caller must get its input
  elsewhere (a file, stdin) or fail with a usage error that says how.
- Prompt text goes to stderr; answers are read from the stdin terminal.
- A hidden answer is read with echo and line buffering off and bracketed paste on
  (``ESC[?2004h``): whatever arrives between the paste markers is kept byte for byte, line
  endings included; typed text ends at Enter (or Ctrl-D) and can be edited with Backspace
  and Ctrl-U. Lines that arrive together without markers (a terminal without bracketed
  paste) are refused rather than cut at the first line ending.
- However a hidden answer ends (an answer, Ctrl-C, an error, a hang-up), the terminal's
  settings are restored, bracketed paste is turned off again and every byte not read is
  discarded (``tcflush``), so nothing pasted or typed ahead is left for the shell to run.
- A yes/no answer is one line without its line ending.
"""

from __future__ import annotations

import os
import select
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import BinaryIO

from ots_cli.errors import UsageError
from ots_cli.terminal.output import Output

__all__ = [
    "ask_hidden",
    "ask_secret",
    "ask_yes_no",
    "can_prompt",
    "ci_is_set",
    "no_prompt_reason",
]

#: Bracketed paste: the terminal is asked to mark pastes, then sends each one between markers.
PASTE_ON, PASTE_OFF = "\x1b[?2004h", "\x1b[?2004l"
PASTE_START, PASTE_END = b"\x1b[200~", b"\x1b[201~"
#: The most a hidden prompt takes; larger secrets come from a file or a pipe.
MAX_ANSWER = 1 << 20
_ENTER = frozenset(b"\r\n\x04")  # Ctrl-D ends an answer too, as it ends a line of input
_EDIT_KEYS = frozenset(b"\x7f\x08")  # Backspace, whatever the terminal's erase character
#: After lines that arrived unmarked: input is discarded until none came for _QUIET seconds.
_QUIET = 0.2
_DRAIN_LIMIT = 5.0


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


def ask_secret(stdin: BinaryIO, output: Output, prompt: str) -> bytes:
    """A hidden answer as the exact bytes typed or pasted (see the module's invariants)."""
    try:
        import termios  # noqa: F401
    except ImportError:  # pragma: no cover - Windows: getpass reads the console directly
        import getpass

        output.prompt(prompt)
        return getpass.getpass("").encode("utf-8")
    fd = stdin.fileno()
    with _hidden_input(fd, output) as keys:
        output.prompt(prompt)
        return _read_answer(fd, keys)


def ask_hidden(stdin: BinaryIO, output: Output, prompt: str) -> str:
    """A hidden one-line answer (a passphrase, a token), as text.

    A paste may bring the line ending it was copied with: one trailing line ending is not
    part of the answer. A paste of several lines is refused, since a passphrase file, the
    other way to give one, holds a single line.
    """
    answer = ask_secret(stdin, output, prompt)
    if answer.endswith(b"\r\n"):
        answer = answer[:-2]
    elif answer.endswith((b"\n", b"\r")):
        answer = answer[:-1]
    if b"\n" in answer or b"\r" in answer:
        raise UsageError("the answer is more than one line; nothing was read")
    return _decode(answer)


def ask_yes_no(stdin: BinaryIO, output: Output, question: str) -> bool:
    """``question [y/N]``; anything but y/yes is no."""
    output.prompt(f"{question} [y/N] ")
    answer = _read_line(stdin.fileno())
    return answer.strip().lower() in ("y", "yes")


class _Keys:
    """The editing keys of the terminal being read: erase one character, kill the answer."""

    def __init__(self, erase: frozenset[int], kill: frozenset[int]) -> None:
        self.erase = erase
        self.kill = kill


@contextmanager
def _hidden_input(fd: int, output: Output) -> Iterator[_Keys]:
    """Echo, line buffering and flow control off, bracketed paste on; all undone on exit.

    Signals stay on, so Ctrl-C still interrupts. The switch discards anything typed ahead
    (typed while echo was on); the way out discards anything not read.
    """
    import termios

    saved = termios.tcgetattr(fd)
    quiet = termios.tcgetattr(fd)
    quiet[0] &= ~termios.IXON  # a pasted Ctrl-S or Ctrl-Q is data, not flow control
    quiet[3] &= ~(termios.ECHO | termios.ECHONL | termios.ICANON | termios.IEXTEN)
    quiet[6][termios.VMIN] = 1
    quiet[6][termios.VTIME] = 0
    keys = _Keys(
        erase=_EDIT_KEYS | _control_char(saved[6][termios.VERASE]),
        kill=_control_char(saved[6][termios.VKILL]),
    )
    try:
        termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
        output.prompt(PASTE_ON)
        yield keys
    finally:
        try:
            output.prompt(PASTE_OFF + "\n")
        finally:
            termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
            termios.tcflush(fd, termios.TCIFLUSH)


def _control_char(value: object) -> frozenset[int]:
    """The byte of a special character from ``tcgetattr``, unless it is disabled."""
    if isinstance(value, bytes) and len(value) == 1 and value not in (b"\x00", b"\xff"):
        return frozenset(value)
    return frozenset()


def _read_answer(fd: int, keys: _Keys) -> bytes:
    """Read until Enter outside a paste; pastes are kept whole, typed text can be edited."""
    answer = bytearray()
    pending = b""
    pasting = False
    while True:
        chunk = os.read(fd, 4096)
        if not chunk:  # the terminal hung up
            if pasting:
                raise UsageError("the terminal closed in the middle of a paste; nothing was read")
            return bytes(answer)
        pending += chunk
        while pending:
            if pasting:
                end = pending.find(PASTE_END)
                if end < 0:
                    keep = _partial_marker(pending, PASTE_END)
                    answer += pending[: len(pending) - keep]
                    pending = pending[len(pending) - keep :]
                    break
                answer += pending[:end]
                pending = pending[end + len(PASTE_END) :]
                pasting = False
            elif pending.startswith(PASTE_START):
                pending = pending[len(PASTE_START) :]
                pasting = True
            elif PASTE_START.startswith(pending):
                break  # perhaps the start of a paste marker: wait for the rest
            else:
                byte, pending = pending[0], pending[1:]
                if byte in _ENTER:
                    if byte == 0x0D and pending.startswith(b"\n"):
                        pending = pending[1:]  # CR LF from a terminal that sends both
                    if pending or _more_waiting(fd, 0):
                        _drain(fd)
                        raise _unmarked_lines()
                    return bytes(answer)
                _edit(answer, byte, keys)
        if len(answer) > MAX_ANSWER:
            raise UsageError(
                "the answer is larger than 1 MiB; nothing was read",
                hints=("give a large secret as a FILE or on stdin",),
            )


def _edit(answer: bytearray, byte: int, keys: _Keys) -> None:
    """One typed byte: erase the last character, kill the whole answer, or add it."""
    if byte in keys.erase:
        while answer and answer[-1] & 0xC0 == 0x80:  # UTF-8 continuation bytes
            answer.pop()
        if answer:
            answer.pop()
    elif byte in keys.kill:
        answer.clear()
    else:
        answer.append(byte)


def _partial_marker(data: bytes, marker: bytes) -> int:
    """How many bytes at the end of ``data`` could be the start of ``marker``."""
    for size in range(min(len(marker) - 1, len(data)), 0, -1):
        if marker.startswith(data[-size:]):
            return size
    return 0


def _more_waiting(fd: int, timeout: float) -> bool:
    """Input waiting (within ``timeout`` seconds); right after Enter, lines that arrived at
    once rather than typed."""
    ready, _, _ = select.select([fd], [], [], timeout)
    return bool(ready)


def _drain(fd: int) -> None:
    """Discard input until the terminal is quiet: the rest of an unmarked paste may still be
    on its way, and must not reach the shell after the prompt gave up (bounded, in case a
    key is held down)."""
    deadline = time.monotonic() + _DRAIN_LIMIT
    while time.monotonic() < deadline and _more_waiting(fd, _QUIET):
        if not os.read(fd, 65536):
            return


def _unmarked_lines() -> UsageError:
    return UsageError(
        "more than one line arrived at once, without the terminal marking it as a paste; "
        "nothing was read",
        hints=(
            "this terminal does not support bracketed paste: give a multi-line secret as a "
            "FILE or on stdin",
        ),
    )


def _decode(answer: bytes) -> str:
    try:
        return answer.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(
            "the answer is not valid UTF-8", hints=("check the terminal's encoding",)
        ) from None


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
    return _decode(line)
