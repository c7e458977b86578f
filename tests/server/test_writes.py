"""CoalescingTransport (ots_server.writes): the writes of one event-loop turn leave together,
in order, and nothing is held back past the turn, a close, or FLUSH_AT bytes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ots_server.writes import FLUSH_AT, CoalescingTransport

pytestmark = pytest.mark.anyio


class Recording(asyncio.Transport):
    """A transport that records what reaches it, one entry per call."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, bytes]] = []
        self.closing = False

    def write(self, data: Any) -> None:
        self.calls.append(("write", bytes(data)))

    def writelines(self, list_of_data: Any) -> None:
        self.calls.append(("writelines", b"".join(bytes(d) for d in list_of_data)))

    def close(self) -> None:
        self.calls.append(("close", b""))
        self.closing = True

    def write_eof(self) -> None:
        self.calls.append(("write_eof", b""))

    def abort(self) -> None:
        self.calls.append(("abort", b""))
        self.closing = True

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return 0


async def turn() -> None:
    """Let the event loop finish the current turn and run what it scheduled."""
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def test_the_writes_of_one_turn_leave_in_one_call_in_order() -> None:
    real = Recording()
    wrapped = CoalescingTransport(real, asyncio.get_running_loop())
    wrapped.write(b"HTTP/1.1 200 OK\r\n\r\n")
    wrapped.write(memoryview(b"body"))
    wrapped.write(b"")
    assert real.calls == []
    assert wrapped.get_write_buffer_size() == 23
    await turn()
    assert real.calls == [("writelines", b"HTTP/1.1 200 OK\r\n\r\nbody")]
    wrapped.write(b"next")
    await turn()
    assert real.calls[1:] == [("write", b"next")]


async def test_close_and_write_eof_send_what_is_pending_first_abort_drops_it() -> None:
    real = Recording()
    wrapped = CoalescingTransport(real, asyncio.get_running_loop())
    wrapped.write(b"answer")
    wrapped.write_eof()
    wrapped.write(b"last")
    wrapped.close()
    await turn()
    assert real.calls == [
        ("write", b"answer"),
        ("write_eof", b""),
        ("write", b"last"),
        ("close", b""),
    ]
    real2 = Recording()
    aborted = CoalescingTransport(real2, asyncio.get_running_loop())
    aborted.write(b"dropped")
    aborted.abort()
    await turn()
    assert real2.calls == [("abort", b"")]


async def test_a_large_body_is_not_held_and_a_closed_connection_gets_nothing() -> None:
    real = Recording()
    wrapped = CoalescingTransport(real, asyncio.get_running_loop())
    wrapped.write(b"h" * 10)
    wrapped.write(b"b" * FLUSH_AT)
    assert real.calls == [("writelines", b"h" * 10 + b"b" * FLUSH_AT)]
    wrapped.write(b"tail")
    real.closing = True  # the peer went away before the end of the turn
    await turn()
    assert len(real.calls) == 1
