"""Progress bars (bytes, rate, ETA) on stderr for transfers a person is watching.

Invariants:

- A bar appears only when stderr is a terminal, ``-q`` is not given and the transfer is at least
  :data:`MIN_BYTES` (a bar that flashes for a few milliseconds is noise). Otherwise the meter
  does nothing and rich is never imported, so scripts and start-up pay nothing for it.
- Bars go to stderr only; stdout stays the secret's bytes, a link or one JSON document.
- The description is fixed text chosen by ots; a sender's file name is never shown in a bar
  (it is untrusted and could carry terminal escapes).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import suppress
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, BinaryIO, cast

if TYPE_CHECKING:
    from ots_cli.terminal.output import Output

__all__ = ["MIN_BYTES", "Meter", "meter"]

#: Transfers smaller than this show no bar.
MIN_BYTES = 1 << 20


class Meter:
    """Counts bytes of one transfer; draws a bar when it was created enabled."""

    def __init__(self, progress: Any = None, task: Any = None) -> None:
        self._progress = progress
        self._task = task

    def advance(self, size: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=size)

    def counted(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """``chunks``, advancing the bar by each chunk's size as it passes."""
        for chunk in chunks:
            self.advance(len(chunk))
            yield chunk

    def __enter__(self) -> Meter:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()


def meter(output: Output, description: str, total: int) -> Meter:
    """A meter for ``total`` bytes: a rich bar on stderr when a person is watching, else silent."""
    if not output.stderr_is_tty or output.quiet or total < MIN_BYTES:
        return Meter()
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(
        file=cast("IO[str]", _TextStderr(output.streams[1])),
        force_terminal=True,
        no_color=not output.colour,
        highlight=False,
    )
    progress = Progress(
        TextColumn("ots: {task.description}"),
        BarColumn(bar_width=24),
        DownloadColumn(binary_units=True),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task(description, total=total)
    return Meter(progress, task)


class _TextStderr:
    """The text face rich needs for our binary stderr (never closes it)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        # stderr gone: the transfer itself must not fail for a bar.
        with suppress(BrokenPipeError, ValueError):
            self._stream.write(text.encode("utf-8", errors="replace"))
        return len(text)

    def flush(self) -> None:
        with suppress(BrokenPipeError, ValueError):
            self._stream.flush()

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._stream.fileno()
