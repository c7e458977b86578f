"""The HTTP layer under :class:`~ots_cli.api.client.Api`: the httpx client, per-request
deadlines, and which server URLs ots talks to.

Invariants:

- Every request has an overall deadline (:class:`Deadlines`, ``OTS_REQUEST_TIMEOUT``), set by
  :func:`until` in a context variable; the sockets of :func:`new_http_client`
  (:class:`_DeadlineBackend`) never wait past it, so a server that dribbles bytes cannot hold a
  request open.
- Redirects are never followed (``follow_redirects=False``).
- :func:`check_server_url` accepts ``https://``, or ``http://`` to a loopback host (anything
  else only with ``insecure=True``), with no query, fragment or user name.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpcore
import httpx

from ots_cli import __version__
from ots_cli.errors import ConfigError, InsecureHttp

__all__ = [
    "DEADLINE",
    "TIMEOUT",
    "USER_AGENT",
    "Deadlines",
    "check_server_url",
    "new_http_client",
    "until",
]

USER_AGENT = f"ots/{__version__}"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: When the current request must be done (``time.monotonic``), or None: read by the sockets of
#: :func:`new_http_client` before every wait, set by :func:`until` around every request.
DEADLINE: ContextVar[float | None] = ContextVar("ots_deadline", default=None)


class Deadlines(NamedTuple):
    """How long a request may take. ``request``: seconds for an answer (connect, headers, a
    JSON body); ``min_rate``: bytes per second an upload is allowed and a blob must average,
    over each window of ``request`` seconds spent waiting for the network."""

    request: float = 30.0
    min_rate: int = 1024


def new_http_client() -> httpx.Client:
    """The client ``main`` builds when none is injected: httpx's, with sockets that never wait
    past the current request's deadline (the proxy transports from the environment too)."""
    client = httpx.Client(
        timeout=TIMEOUT, follow_redirects=False, headers={"User-Agent": USER_AGENT}
    )
    # httpx has no public hook for its network backend; httpx < 0.29 (pinned) keeps it here.
    for transport in (client._transport, *client._mounts.values()):
        pool = getattr(transport, "_pool", None)
        if pool is not None:
            pool._network_backend = _DeadlineBackend(pool._network_backend)
    return client


def _bounded(timeout: float | None) -> float | None:
    """``timeout`` shortened to what is left of the current deadline (never zero: a zero
    timeout would make the socket non-blocking; a tiny one times out as a timeout)."""
    deadline = DEADLINE.get()
    if deadline is None:
        return timeout
    left = max(deadline - time.monotonic(), 0.001)
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every wait ends by the current request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout))
        return _DeadlineStream(tls)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host, port, _bounded(timeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(path, _bounded(timeout), socket_options)
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def check_server_url(url: str, *, insecure: bool = False) -> str:
    """``url`` without a trailing slash; :class:`ConfigError` when it is not a server base,
    :class:`InsecureHttp` when it is plain http to a remote host and ``insecure`` is false."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(
            "the server must be an https:// URL", hints=("for example https://ots.example.com",)
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError("the server URL must not have a query, fragment or user name")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError("the server URL has an invalid port") from None
    if parts.scheme == "http" and not insecure and not _is_loopback(parts.hostname):
        raise InsecureHttp()
    return url.strip().rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextmanager
def until(seconds: float | None) -> Iterator[None]:
    """Run the block under a deadline ``seconds`` from now (None: none)."""
    token = DEADLINE.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        DEADLINE.reset(token)
