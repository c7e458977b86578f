"""Running a command with secrets in its environment or in private files, then cleaning up.

Invariants:

- Secrets reach the child only through its environment (a new mapping: ``os.environ`` is
  never changed) or through files whose paths are in that environment; never through argv.
- Secret files live in a fresh private directory (0700; files 0600, created with O_EXCL),
  under ``$RUNNER_TEMP`` on GitHub Actions, else the system's temporary directory. The directory
  is removed when the child exits: after success, failure or a signal, and when ots itself is
  interrupted (SIGINT, SIGTERM, SIGHUP) before or while the child runs.
- While the child runs, those signals are forwarded to it and ots waits for it; SIGINT is not
  forwarded when ots is in the terminal's foreground process group, because the terminal
  already sent it to the child (a second SIGINT can cut a child's own clean-up short).
- The status is the child's exit code, or 128+N when signal N killed it (like a shell).
- Streams without a file descriptor (tests pass byte buffers) are relayed through pipes.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import suppress
from pathlib import Path
from types import FrameType, TracebackType
from typing import BinaryIO

from ots_cli.errors import SIGNALLED, ConfigError
from ots_cli.local.files import create_exclusive

__all__ = ["SecretFiles", "Signals", "run_child", "terminal_sends_sigint"]

_FORWARDED = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class SecretFiles:
    """A private directory for the secret files of one run; :meth:`close` removes it."""

    def __init__(self, env: Mapping[str, str]) -> None:
        parent = env.get("RUNNER_TEMP") or env.get("TMPDIR") or None
        if parent is not None and not os.path.isdir(parent):
            parent = None
        try:
            self.path = Path(tempfile.mkdtemp(prefix="ots-run-", dir=parent))  # mode 0700
        except OSError as exc:
            raise ConfigError(
                f"cannot create a private temporary directory: {exc.strerror or exc}"
            ) from exc

    def add(self, name: str, data: bytes) -> Path:
        path = self.path / name
        create_exclusive(path, data, error=ConfigError)
        return path

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


class Signals:
    """SIGINT, SIGTERM and SIGHUP during a run: interrupt ots, or go to the child.

    Before the child starts, a signal raises :class:`KeyboardInterrupt`, so the ``finally``
    blocks of the caller remove the secret files. While the child runs, it is forwarded. After
    the child has exited, it is ignored until the clean-up is over.
    """

    def __init__(self, *, terminal_sends_sigint: bool) -> None:
        self._terminal_sends_sigint = terminal_sends_sigint
        self._process: subprocess.Popen[bytes] | None = None
        self._state = "idle"  # idle → starting → running → done
        self._pending: list[int] = []
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Signals:
        for number in _FORWARDED:
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)  # type: ignore[arg-type]

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self._state == "idle":
            raise KeyboardInterrupt
        if self._state == "starting":
            self._pending.append(number)
        elif self._state == "running":
            self._forward(number)

    def _forward(self, number: int) -> None:
        if number == signal.SIGINT and self._terminal_sends_sigint:
            return
        if self._process is not None:
            with suppress(ProcessLookupError):
                self._process.send_signal(number)

    def start(
        self, argv: Sequence[str], env: Mapping[bytes, bytes], stdio: tuple[int, int, int]
    ) -> subprocess.Popen[bytes]:
        """Start the child; a signal that arrives meanwhile is forwarded once it exists."""
        self._state = "starting"
        try:
            process = subprocess.Popen(
                list(argv), env=env, stdin=stdio[0], stdout=stdio[1], stderr=stdio[2]
            )
        except BaseException:
            self._state = "idle"
            if self._pending:
                raise KeyboardInterrupt from None
            raise
        self._process = process
        self._state = "running"
        for number in self._pending:
            self._forward(number)
        return process

    def done(self) -> None:
        self._state = "done"


def _fd(stream: BinaryIO) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def terminal_sends_sigint(streams: Sequence[BinaryIO]) -> bool:
    """Whether Ctrl-C reaches the child directly: ots is in the terminal's foreground group."""
    for stream in streams:
        fd = _fd(stream)
        try:
            if fd is not None and os.isatty(fd) and os.tcgetpgrp(fd) == os.getpgrp():
                return True
        except (OSError, AttributeError):  # AttributeError: no job control (Windows)
            continue
    return False


def run_child(
    argv: Sequence[str],
    env: Mapping[bytes, bytes],
    *,
    stdin: BinaryIO,
    stdout: BinaryIO,
    stderr: BinaryIO,
    signals: Signals,
) -> int:
    """Run ``argv`` with ``env`` and the given streams; return its status (128+N on signal N)."""
    fds = [_fd(stream) for stream in (stdin, stdout, stderr)]
    relay = any(fd is None for fd in fds)
    stdio = tuple(subprocess.PIPE if fd is None else fd for fd in fds)
    assert len(stdio) == 3
    process = signals.start(argv, env, (stdio[0], stdio[1], stdio[2]))
    try:
        if relay:
            data = stdin.read() if fds[0] is None else None
            out, err = process.communicate(data)
            if out:
                stdout.write(out)
                stdout.flush()
            if err:
                stderr.write(err)
                stderr.flush()
        status = process.wait()
    finally:
        signals.done()
        if process.poll() is None:  # ots itself failed while the child ran: do not orphan it
            with suppress(ProcessLookupError):
                process.terminate()
            process.wait()
    return SIGNALLED - status if status < 0 else status
