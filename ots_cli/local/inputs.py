"""Where a shared secret's bytes come from: a file, or a stream of unknown length (stdin).

Invariants:

- A regular file larger than :data:`MEMORY_BYTES` is read once, as it is sealed and uploaded
  (the stream suite), in constant memory; its size is taken first and a file that changes size
  meanwhile fails the upload. A smaller one is read like a stream, so a file and a text of the
  same size are held, sealed and sent alike (the suite depends on the size alone).
- A regular file larger than :data:`MEMORY_BYTES` is also streamed when it is stdin
  (``ots share < FILE``), from stdin's position, as text.
- A stream (stdin, a pipe, a FIFO given as FILE) is held in memory up to :data:`MEMORY_BYTES`
  and sealed whole. Beyond that it goes through an encrypted
  :class:`~ots_cli.local.spool.Spool` (no plaintext on disk) until its end, so its length is known
  before the header is written; then it is streamed like a file.
- ``check`` is called with the number of bytes read so far each time more arrives beyond
  :data:`MEMORY_BYTES`, so a caller can stop an input that is already too large for the
  server before reading the rest of it.
- ``OSError`` does not escape: it becomes :class:`~ots_cli.errors.UsageError`.
- A file's name is sent as it is when the format can carry it; otherwise (bytes that are not
  UTF-8, control or invisible characters, a backslash) a cleaned name is sent, or none, and
  ``warn`` tells the sender which, quoting the original (the warning escapes it).
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, NamedTuple

from ots_cli.core.envelope import Meta, encode_envelope
from ots_cli.core.format import CHUNK_SIZE, SUITE_1_UP_TO
from ots_cli.errors import UsageError

__all__ = [
    "MEMORY_BYTES",
    "Payload",
    "from_file",
    "from_stdin",
    "from_stream",
    "good_file_name",
    "sendable_name",
]

#: Inputs up to this size are held and sealed in memory; larger ones are streamed. Every
#: streamed input pads to more than SUITE_1_UP_TO, so it takes suite 2 by the suite rule.
MEMORY_BYTES = 64 * 1024
assert MEMORY_BYTES >= SUITE_1_UP_TO

Check = Callable[[int], None]
Warn = Callable[[str], None]


class Payload(NamedTuple):
    """A secret to seal: ``data`` in memory, or ``stream`` yielding exactly ``length`` bytes."""

    meta: Meta
    length: int
    data: bytes | None = None
    stream: BinaryIO | None = None


def good_file_name(name: str) -> bool:
    """Whether the format accepts ``name`` as a file name (else the file is sent unnamed)."""
    try:
        encode_envelope(Meta(kind="file", name=name), 0)
    except ValueError:
        return False
    return True


def sendable_name(name: str) -> str | None:
    """The name to send for a file called ``name``: itself when the format accepts it, else the
    name a receiver's :func:`~ots_cli.core.filenames.safe_name` would make of it (undecodable bytes
    as ``_``), or None when nothing is left."""
    if good_file_name(name):
        return name
    from ots_cli.core.filenames import hidden_variant, safe_name

    # os.fsdecode carries bytes that are not UTF-8 as surrogate escapes (U+DC80-U+DCFF).
    decoded = "".join("_" if "\udc80" <= char <= "\udcff" else char for char in name)
    cleaned = hidden_variant(safe_name(decoded, fallback=""))
    return cleaned if cleaned and good_file_name(cleaned) else None


def _file_name(path: Path, warn: Warn) -> str | None:
    """The name to send for ``path``, warning when it is not the file's own."""
    name = path.name
    sent = sendable_name(name)
    if sent == name:
        return sent
    undecodable = any("\udc80" <= char <= "\udcff" for char in name)
    problem = "is not valid UTF-8" if undecodable else "holds control or invisible characters"
    if "\\" in name:  # a separator on Windows, so the format refuses it
        problem = "holds a backslash"
    outcome = (
        "it is sent without a name: the recipient will see none"
        if sent is None
        else f'the recipient will see "{sent}"'
    )
    warn(f'the file name "{name}" {problem}; {outcome}')
    return sent


@contextmanager
def from_file(
    text: str, check: Check, *, warn: Warn, spool_dir: str | None = None
) -> Iterator[Payload]:
    """The file named ``text``: streamed when regular and large, else read like a stream."""
    path = Path(text)
    try:
        source = path.open("rb")
    except FileNotFoundError:
        hints = ["the secret is read from a file, from stdin, or from a hidden prompt"]
        if "#" in text or "://" in text:
            hints = ["this looks like an ots link: to read it, run `ots get LINK`"]
        raise UsageError(f"no such file: {text}", hints=hints) from None
    except IsADirectoryError:
        raise UsageError(f"{text} is a directory", hints=("share an archive of it",)) from None
    except OSError as exc:
        raise UsageError(f"cannot read {text}: {exc.strerror or exc}") from exc
    meta = Meta(kind="file", name=_file_name(path, warn), media_type=_media_type(path.name))
    with source:
        try:
            status = os.fstat(source.fileno())
        except OSError as exc:
            raise UsageError(f"cannot read {text}: {exc.strerror or exc}") from exc
        if stat.S_ISREG(status.st_mode) and status.st_size > MEMORY_BYTES:
            check(status.st_size)
            yield Payload(meta, status.st_size, stream=source)
            return
        with from_stream(source, meta, check, what=text, spool_dir=spool_dir) as payload:
            yield payload


@contextmanager
def from_stdin(
    source: BinaryIO, check: Check, *, spool_dir: str | None = None
) -> Iterator[Payload]:
    """Stdin as text: a redirected regular file (``< FILE``) larger than MEMORY_BYTES streams
    from where stdin stands, without a spool; anything else is read by :func:`from_stream`."""
    remaining = _regular_file_rest(source)
    if remaining is not None and remaining > MEMORY_BYTES:
        check(remaining)
        yield Payload(Meta(), remaining, stream=source)
        return
    with from_stream(source, Meta(), check, what="stdin", spool_dir=spool_dir) as payload:
        yield payload


def _regular_file_rest(source: BinaryIO) -> int | None:
    """Bytes left in ``source`` if it is a regular file, else None (pipes, terminals, BytesIO)."""
    try:
        status = os.fstat(source.fileno())
        position = source.tell()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    return max(0, status.st_size - position)


@contextmanager
def from_stream(
    source: BinaryIO, meta: Meta, check: Check, *, what: str, spool_dir: str | None = None
) -> Iterator[Payload]:
    """Everything ``source`` yields until its end (see the module invariants); a large input
    is spooled in ``spool_dir`` (default: the system's temporary directory)."""
    head = _read(source, MEMORY_BYTES + 1, what)
    if len(head) <= MEMORY_BYTES:
        yield Payload(meta, len(head), data=head)
        return
    from ots_cli.local.spool import Spool

    with Spool(spool_dir) as spool:
        spool.write(head)
        check(spool.length)
        while chunk := _read(source, CHUNK_SIZE, what):
            spool.write(chunk)
            check(spool.length)
        spool.finish()
        yield Payload(meta, spool.length, stream=spool.reader())


def _media_type(name: str) -> str | None:
    """The media type the name suggests (by extension only: the content is never sniffed)."""
    import mimetypes

    guess = mimetypes.guess_type(name, strict=False)[0]
    if guess is None or not guess.isascii() or not 1 <= len(guess) <= 255:
        return None
    return guess


def _read(source: BinaryIO, size: int, what: str) -> bytes:
    """Up to ``size`` bytes; fewer only at the end of input (pipes return short reads)."""
    parts: list[bytes] = []
    got = 0
    try:
        while got < size:
            part = source.read(size - got)
            if not part:
                break
            parts.append(part)
            got += len(part)
    except OSError as exc:
        raise UsageError(f"cannot read {what}: {exc.strerror or exc}") from exc
    return b"".join(parts)
