"""One socket write per response instead of one per ASGI message.

uvicorn's protocol writes a response's status line and headers when the app sends
``http.response.start``, and the body when it sends ``http.response.body``: two
``transport.write`` calls, and with uvloop each one is a ``send`` system call made at once,
with the GIL held. In profiles of ots-server under load (docs/request-path.md) those sends
were about a quarter of the event loop's CPU. :class:`CoalescingTransport` wraps the
connection's transport: writes made during one turn of the event loop are gathered and
handed to the real transport together (``writelines``: one ``writev``) from a callback at the
end of that turn.

Invariants:

- Order: bytes reach the real transport in the order they were written; ``close`` and
  ``write_eof`` hand over what is pending first; ``abort`` drops it (as it drops the real
  transport's own buffer).
- Nothing waits on anything else: the gathered bytes go out at the end of the same event-loop
  turn whatever follows (a ``100 Continue`` interim answer is never held back waiting for
  more), and at once when :data:`FLUSH_AT` bytes are pending (a streamed reveal never piles
  up in memory here).
- Everything else (reading, flow control, extra info) is the real transport's, unchanged.
"""

from __future__ import annotations

import asyncio
from typing import Any

#: Pending bytes past which a write goes out at once instead of at the end of the turn.
FLUSH_AT = 64 * 1024


class CoalescingTransport:
    """The subset of ``asyncio.Transport`` uvicorn's HTTP protocol uses, writes gathered
    per event-loop turn (see the module docstring); other attributes are the wrapped one's."""

    __slots__ = ("_loop", "_pending", "_size", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[Any] = []
        self._size = 0

    @property
    def wrapped(self) -> asyncio.Transport:
        return self._transport

    def write(self, data: Any) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)
        self._size += len(data)
        if self._size >= FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Hand what is pending to the real transport now (a no-op when nothing is)."""
        pending = self._pending
        if not pending:
            return
        self._pending, self._size = [], 0
        if self._transport.is_closing():
            return  # the connection is gone: as the real transport would, drop the bytes
        if len(pending) == 1:
            self._transport.write(pending[0])
        else:
            self._transport.writelines(pending)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending, self._size = [], 0
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def get_write_buffer_size(self) -> int:
        return self._size + self._transport.get_write_buffer_size()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
