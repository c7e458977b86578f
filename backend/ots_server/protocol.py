"""The connection edge: limits uvicorn does not enforce on its httptools protocol.

uvicorn bounds neither the size nor the time of a request head with httptools (its
``h11_max_incomplete_event_size`` is h11's, and its keep-alive timer is not armed until a first
response), and ``limit_concurrency`` answers 503 only once a head is complete, counting tasks
and connections together. So :class:`EdgeHttpToolsProtocol`, a small subclass of uvicorn's
``HttpToolsProtocol`` (the one ``ots-server serve`` selects: httptools is a dependency, and
the protocol is passed as a class, so no other is used), adds per connection:

- **Head size** (``OTS_MAX_HEADER_BYTES``): the raw bytes of a request line and its headers
  are counted before they reach the parser, which buffers a header until it ends; the
  parser is fed at most the cap, and a head that has not ended by then is answered ``431
  headers_too_large`` and closed. Memory per connection is the cap plus one socket read.
- **Head time** (``OTS_HEADER_TIMEOUT``): a timer armed when the connection is made, or when
  the first byte of a later request (or a body nobody reads any more) arrives, and cancelled
  when the head is complete. When it fires the connection is closed, with ``408 timeout`` if
  part of a head had arrived. The body is the app's business (``OTS_UPLOAD_TIMEOUT``).
- **One write per response**: the connection's transport is wrapped so that what uvicorn writes
  in one event-loop turn (a response's head and its body) goes to the socket in one write
  (:mod:`ots_server.writes`).
- **Open connections** (``OTS_MAX_CONNECTIONS``, per process): one more is answered ``503
  unavailable`` at once with ``Retry-After: 1``, never read; its write side is shut and it
  lingers at most :data:`LINGER` seconds (so the answer is not lost to a reset while the
  client's request is still arriving), at most :data:`MAX_LINGERING` at a time; past that it
  is closed outright. ``ots-server serve`` raises the descriptor limit to fit the cap (see
  :func:`connection_budget`).

Answers written here, and uvicorn's own ``400`` for a request its parser refuses (a bad
method, a NUL in a header, ``Content-Length`` with ``Transfer-Encoding``), have the API's
error shape and every security header
(:data:`~ots_server.middleware.headers.SECURITY_HEADERS`): they never pass through the app's
middleware. Nothing here logs, and nothing about a client is kept.

Pinned to uvicorn's protocol: the overridden hooks and the attributes read (``connections``,
``transport``, ``cycle``, ``loop``, ``server_state.default_headers``) are checked by
tests/server/test_edge.py, so a uvicorn that changes them fails the tests, not production.
"""

from __future__ import annotations

import asyncio
import http
import logging
import resource
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from ots_server.errors import error_response
from ots_server.middleware.headers import SECURITY_HEADERS
from ots_server.settings import Settings
from ots_server.writes import CoalescingTransport

logger = logging.getLogger("ots_server")

#: Seconds a refused connection may stay half-open so its 503 arrives before it is closed.
LINGER = 1.0
#: Refused connections lingering at once per process; more are closed without an answer.
MAX_LINGERING = 64
#: Descriptors kept apart from connections per process: the store's connections and blob
#: files, streamed reveals, lingering refusals, logs.
RESERVED_DESCRIPTORS = 256


@dataclass
class Edge:
    """The limits of one server and the per-process count of lingering refusals."""

    max_header_bytes: int
    header_timeout: float
    max_connections: int
    lingering: int = field(default=0, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, max_connections: int | None = None) -> Edge:
        return cls(
            max_header_bytes=settings.max_header_bytes,
            header_timeout=float(settings.header_timeout),
            max_connections=settings.max_connections
            if max_connections is None
            else max_connections,
        )


class EdgeConfig(uvicorn.Config):
    """uvicorn's ``Config`` with the edge limits and :class:`EdgeHttpToolsProtocol`. It is
    pickled into each worker process, so every worker gets the limits (and its own count)."""

    def __init__(self, app: str, *, edge: Edge, **kwargs: Any) -> None:
        super().__init__(app, http=EdgeHttpToolsProtocol, **kwargs)
        self.edge = edge


def connection_budget(wanted: int) -> int:
    """The connection cap a process can hold: ``wanted``, after raising the soft descriptor
    limit towards the hard one if needed; less (logged) if the hard limit is too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + RESERVED_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < needed:
        raised = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return wanted
    budget = max(1, soft - RESERVED_DESCRIPTORS)
    logger.warning(
        "OTS_MAX_CONNECTIONS=%d needs %d file descriptors, the limit is %d: at most %d"
        " connections per process (raise the limit with ulimit -n or LimitNOFILE)",
        wanted, needed, soft, budget,
    )  # fmt: skip
    return budget


def wire_error(
    status: int,
    error: str,
    detail: str,
    default_headers: list[tuple[bytes, bytes]],
    *,
    headers: dict[str, str] | None = None,
    extra: dict[str, object] | None = None,
) -> bytes:
    """A whole HTTP/1.1 answer in the API's error shape, with the security headers and
    ``Connection: close``, for writing straight to a transport."""
    response = error_response(
        status, error, detail, headers={**(headers or {}), "Connection": "close"}, **(extra or {})
    )
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n".encode()]
    for name, value in [*default_headers, *response.raw_headers, *SECURITY_HEADERS]:
        lines += [name, b": ", value, b"\r\n"]
    return b"".join([*lines, b"\r\n", response.body])


class EdgeHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the head and connection limits of :class:`Edge`."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        if not isinstance(config, EdgeConfig):
            raise TypeError("EdgeHttpToolsProtocol needs an EdgeConfig")
        self.edge = config.edge
        #: Bytes of the current request head read so far; ``None`` once it is complete.
        self.head_bytes: int | None = 0
        #: The timer of the head deadline (or, for a refused connection, the end of its
        #: lingering); it may be due earlier than :attr:`head_deadline` (see ``_arm``).
        self.head_timer: asyncio.TimerHandle | None = None
        #: When the head being read must be complete (loop time); ``None``: no head is due.
        self.head_deadline: float | None = None
        #: Refused for the connection cap; ``lingering`` while its answer may still be read.
        self.refused = False
        self.lingering = False

    # -- connections -----------------------------------------------------------------------

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        if len(self.connections) >= self.edge.max_connections:
            self._refuse(transport)
            return
        # A response's head and body leave in one write (ots_server.writes).
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        self._arm()

    def _refuse(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.refused = True
        if self.edge.lingering >= MAX_LINGERING or not transport.can_write_eof():
            transport.abort()
            return
        transport.write(
            wire_error(
                503,
                "unavailable",
                "too many open connections; retry later",
                self.server_state.default_headers,
                headers={"Retry-After": "1"},
            )
        )
        transport.write_eof()  # the client reads the answer, then EOF; its request is dropped
        self.edge.lingering += 1
        self.lingering = True
        self.head_timer = self.loop.call_later(LINGER, transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        if self.refused:
            if self.lingering:
                self.edge.lingering -= 1
                self.lingering = False
            return  # never among uvicorn's connections: nothing of uvicorn's to undo
        super().connection_lost(exc)

    # -- heads ------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.refused or self.transport.is_closing():
            return
        if self.head_bytes is None:
            super().data_received(data)
            return
        self._arm()
        room = self.edge.max_header_bytes - self.head_bytes
        if room > 0:
            # Feed at most the cap: the parser holds an unfinished header in memory.
            self.head_bytes += min(len(data), room)
            super().data_received(data[:room])
            if self.transport.is_closing() or len(data) <= room:
                return
        if self.head_bytes is not None:
            self._answer(
                431,
                "headers_too_large",
                "the request headers are larger than this server accepts",
                max_bytes=self.edge.max_header_bytes,
            )
            return
        self.data_received(data[room:])  # the head ended within the cap: the rest follows it

    def on_headers_complete(self) -> None:
        self.head_bytes = None
        self._disarm()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.head_bytes = 0  # the next request's head, if any, starts with the next byte
        self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        cycle = self.cycle
        answered_early = cycle is not None and cycle.response_complete and cycle.more_body
        if answered_early and not self.transport.is_closing():
            self._arm()  # answered, but its body still arrives: it gets a head's time

    def _arm(self) -> None:
        # Lazy: disarming only forgets the deadline, and a timer still pending from an earlier
        # head is kept; when it fires before the current deadline it is set again for it. So
        # a keep-alive connection costs one timer per OTS_HEADER_TIMEOUT, not one per request.
        if self.head_deadline is None:
            self.head_deadline = self.loop.time() + self.edge.header_timeout
            if self.head_timer is None:
                self.head_timer = self.loop.call_at(self.head_deadline, self._head_due)

    def _disarm(self) -> None:
        self.head_deadline = None

    def _head_due(self) -> None:
        self.head_timer = None
        deadline = self.head_deadline
        if deadline is None:
            return
        if self.loop.time() < deadline:
            self.head_timer = self.loop.call_at(deadline, self._head_due)
            return
        self.head_deadline = None
        self._timed_out()

    def _timed_out(self) -> None:
        if self.transport.is_closing():
            return
        if self.head_bytes:
            self._answer(408, "timeout", "the request headers did not arrive in time")
        else:
            self.transport.close()

    # -- answers ----------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        # uvicorn's own answer to a request its parser refused, in the shape and with the
        # headers of every other answer (``msg`` is uvicorn's fixed text; ours is too).
        self._answer(400, "bad_request", "invalid HTTP request")

    def _answer(self, status: int, error: str, detail: str, **extra: object) -> None:
        default_headers = self.server_state.default_headers
        answer = wire_error(status, error, detail, default_headers, extra=extra)
        self.transport.write(answer)
        self.transport.close()
