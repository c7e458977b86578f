"""Data on stdout, everything else on stderr, with the terminal policy in one place.

Commands receive one :class:`Output` and never write to ``sys.stdout`` or ``sys.stderr``
themselves.

Invariants:

- stdout carries data only: a link, a secret, a table, or exactly one JSON document with
  ``--json`` (the result, or ``{"error": {...}}`` when the command fails).
- Bytes of a secret reach stdout unchanged when stdout is not a terminal. On a terminal,
  control, escape, bidi and every other hidden character (one predicate,
  :func:`ots_cli.core.invisible.is_hidden`, shared with the file-name sanitiser) are shown as
  ``\\xNN``/``\\uNNNN``/``\\UNNNNNNNN`` unless the caller asks for raw output. Other untrusted
  text is escaped too: labels and table cells on a terminal, diagnostics (which may quote a
  server's words) always.
- No rich markup, no format strings: untrusted text is written as plain characters.
- Colour only when stderr is a terminal, ``NO_COLOR`` is unset or empty and ``TERM`` is not
  ``dumb``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import BinaryIO

from ots_cli.core.invisible import is_hidden
from ots_cli.errors import ExitCode, OtsError

__all__ = ["BUG_REPORT_URL", "Output", "StdoutClosed", "error_json", "visible", "visible_bytes"]

BUG_REPORT_URL = "https://github.com/ots-cli/ots/issues"


def visible(text: str, *, keep_newlines: bool = True) -> tuple[str, int]:
    """``text`` with every hidden character (:func:`ots_cli.core.invisible.is_hidden`) made visible;
    and how many there were. Tab stays, and so does newline when ``keep_newlines``.

    Controls and undecodable bytes carried as surrogate escapes (``U+DC80``-``U+DCFF``) come
    out as ``\\xNN``, other characters as ``\\uNNNN`` or ``\\UNNNNNNNN``.
    """
    parts: list[str] = []
    escaped = 0
    for char in text:
        if (char == "\n" and keep_newlines) or char == "\t" or not is_hidden(char):
            parts.append(char)
            continue
        escaped += 1
        parts.append(_escape(char))
    return "".join(parts), escaped


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return f"\\x{code:02x}"
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"
    if code > 0xFFFF:
        return f"\\U{code:08x}"
    return f"\\u{code:04x}"


def visible_bytes(data: bytes) -> tuple[str, int]:
    """:func:`visible` for bytes that may not be UTF-8."""
    return visible(data.decode("utf-8", errors="surrogateescape"))


class StdoutClosed(Exception):
    """The reader of stdout went away (broken pipe). Not an OSError on purpose: Typer would
    turn an OSError with EPIPE into exit 1, and ``main`` exits 141 like other Unix tools."""


def _isatty(stream: BinaryIO) -> bool:
    try:
        return stream.isatty()
    except (ValueError, OSError):
        return False


class Output:
    """The two consoles. ``json_mode`` and ``quiet`` are set once the options are parsed."""

    def __init__(self, stdout: BinaryIO, stderr: BinaryIO, env: Mapping[str, str]) -> None:
        self._stdout = stdout
        self._stderr = stderr
        self.stdout_is_tty = _isatty(stdout)
        self.stderr_is_tty = _isatty(stderr)
        self.colour = (
            self.stderr_is_tty and not env.get("NO_COLOR") and env.get("TERM", "") != "dumb"
        )
        self.json_mode = False
        self.quiet = False

    @property
    def streams(self) -> tuple[BinaryIO, BinaryIO]:
        """The underlying (stdout, stderr), for code that must hand them to a library."""
        return self._stdout, self._stderr

    # -- stdout -------------------------------------------------------------------------------

    def line(self, text: str) -> None:
        """One line of data (a link, a value) with a newline; escaped on a terminal."""
        if self.stdout_is_tty:
            text = visible(text, keep_newlines=False)[0]
        self._write(self._stdout, text.encode("utf-8", errors="surrogateescape") + b"\n")

    def lines(self, rows: Sequence[str]) -> None:
        for row in rows:
            self.line(row)

    def data(self, data: bytes) -> None:
        """Bytes exactly as given (a generated value, a config file)."""
        self._write(self._stdout, data)

    def secret(self, body: bytes, *, raw: bool = False) -> None:
        """A revealed secret: exact bytes unless stdout is a terminal and ``raw`` is False."""
        if raw or not self.stdout_is_tty:
            self._write(self._stdout, body)
            return
        text, escaped = visible_bytes(body)
        if not text.endswith("\n"):
            text += "\n"  # keep the shell prompt off the secret's last line
        self._write(self._stdout, text.encode("utf-8"))
        if escaped:
            self.note(
                f"{escaped} control or invisible character{'s' if escaped != 1 else ''} "
                "shown escaped (\\xNN, \\uNNNN, \\UNNNNNNNN); "
                "use --raw or -o FILE for the exact bytes"
            )

    def json(self, value: object) -> None:
        """Exactly one JSON document; pretty and ASCII-only on a terminal."""
        if self.stdout_is_tty:
            text = json.dumps(value, indent=2, ensure_ascii=True)
        else:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        self._write(self._stdout, text.encode("utf-8") + b"\n")

    # -- stderr -------------------------------------------------------------------------------

    def note(self, message: str) -> None:
        """Progress and information; silenced by ``-q``."""
        if not self.quiet:
            self._diagnostic("note", message, "2")

    def progress(self, message: str) -> None:
        """A status line for a person watching: only on a terminal, silenced by ``-q``."""
        if self.stderr_is_tty:
            self.note(message)

    def warn(self, message: str) -> None:
        """Something the user should know even with ``-q`` (clipboard history, …)."""
        self._diagnostic("warning", message, "33")

    def error(self, error: OtsError) -> None:
        self._diagnostic("error", error.message, "1;31")
        for hint in error.hints:
            self._diagnostic("hint", hint, "36")
        if self.json_mode:
            self.json({"error": error_json(error)})

    def declined(self, declined: OtsError) -> None:
        """A "no" at a confirmation: a plain note (even with ``-q``: it explains the exit
        status), and with ``--json`` the error document, so a script can tell it apart."""
        self._diagnostic("note", declined.message, "2")
        if self.json_mode:
            self.json({"error": error_json(declined)})

    def bug(self, summary: str, traceback_text: str | None) -> None:
        self._diagnostic("error", summary, "1;31")
        self._diagnostic(
            "hint",
            f"this is a bug in ots; please report it at {BUG_REPORT_URL}",
            "36",
        )
        if traceback_text is None:
            self._diagnostic("hint", "run again with --debug to see the traceback", "36")
        else:
            self.stderr_raw(traceback_text)
        if self.json_mode:
            self.json(
                {
                    "error": {
                        "code": "bug",
                        "exit_code": int(ExitCode.BUG),
                        "message": summary,
                        "hints": [],
                    }
                }
            )

    def prompt(self, text: str) -> None:
        """A question for the person at the terminal: stderr, no newline."""
        self.stderr_raw(text)

    def command(self, line: str) -> None:
        """A CI workflow command (``::add-mask::…``) for the runner reading stderr.

        Never silenced by ``-q``, never on stdout: stdout is the secret's bytes, which a
        pipeline may be capturing (``pw=$(ots get …)``).
        """
        self._write(self._stderr, line.encode("utf-8") + b"\n")

    def stderr_raw(self, text: str) -> None:
        """Already-safe text for stderr (prompts, a QR code, OSC 52)."""
        self._write(self._stderr, text.encode("utf-8", errors="replace"))

    def _diagnostic(self, label: str, message: str, colour: str) -> None:
        # Messages may quote a server's words or a file name: never let them drive a terminal.
        message = visible(message, keep_newlines=False)[0]
        prefix = f"ots: {label}:"
        if self.colour:
            prefix = f"\x1b[{colour}m{prefix}\x1b[0m"
        line = f"{prefix} {message}\n"
        self._write(self._stderr, line.encode("utf-8", errors="replace"))

    def _write(self, stream: BinaryIO, data: bytes) -> None:
        try:
            stream.write(data)
            stream.flush()
        except BrokenPipeError as exc:
            if stream is self._stdout:
                raise StdoutClosed from exc
            # stderr is gone: there is no one left to tell.


def error_json(error: OtsError) -> dict[str, object]:
    """The stable ``--json`` shape of an error (docs/cli.md, "Errors")."""
    return {
        "code": error.code,
        "exit_code": int(error.exit_code),
        "message": error.message,
        "hints": list(error.hints),
        **error.details(),
    }
