"""The transport of :class:`~ots_cli.api.client.Api`: building requests, reading bounded
answers, and turning every transport failure and unexpected status into an ``OtsError``.

Invariants:

- No httpx exception escapes (:meth:`Transport._translate`; ``raise ... from exc``).
- Reads at most the size the server announced (plus the frame): a JSON answer or an error body
  at most :data:`MAX_ANSWER_BYTES`, bytes as they came off the wire (``Accept-Encoding:
  identity``; an answer in another encoding is refused by :func:`check_identity`, so no
  decompression can inflate it). Past the cap: :class:`ProtocolError`, and nothing more is read.
- A blob must arrive at ``OTS_MIN_DOWNLOAD_RATE`` on average, measured over windows of network
  waiting time as long as the request deadline (:mod:`ots_cli.api.http`).
- An account token is sent only when the endpoint method passes one (``credential=``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from ots_cli.api.answers import error_for
from ots_cli.api.http import DEADLINE, TIMEOUT, USER_AGENT, Deadlines, check_server_url, until
from ots_cli.core import b64
from ots_cli.errors import ConfigError, ProtocolError, Unavailable

if TYPE_CHECKING:
    from ots_cli.local.tokens import Credential

__all__ = ["MAX_ANSWER_BYTES", "TokenProvider", "Transport", "check_identity", "header_int"]

#: The most a JSON answer or an error body may hold (a page of 100 receipts is ~20 KiB).
MAX_ANSWER_BYTES = 64 * 1024
_TOO_MUCH = "the server sent more than expected"
#: Called once, on the first request that may carry a token: the token for this server, or None.
TokenProvider = Callable[[], "Credential | None"]


class Transport:
    """One server's HTTP transport; :class:`~ots_cli.api.client.Api` adds the endpoints."""

    def __init__(
        self,
        http: httpx.Client,
        server: str,
        *,
        insecure: bool = False,
        credential: TokenProvider | None = None,
        deadlines: Deadlines | None = None,
    ) -> None:
        self.server = check_server_url(server, insecure=insecure)
        self._deadlines = deadlines or Deadlines()
        #: The blob size each peek announced, by id: the cap of its reveal.
        self._announced: dict[bytes, int] = {}
        #: CI ID tokens of bound secrets by id, sent with their reveal (never logged).
        self.id_tokens: dict[bytes, str] = {}
        self._http = http
        self._api = f"{self.server}/api/v1"
        self._host = urlsplit(self.server).netloc
        self._provider = credential
        self._credential: Credential | None = None
        self._resolved = credential is None

    def credential(self) -> Credential | None:
        """The account token for this server (resolved once), or None."""
        if not self._resolved:
            assert self._provider is not None
            self._credential = self._provider()
            self._resolved = True
        return self._credential

    # -- transport ----------------------------------------------------------------------------

    def _build(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, bytes | str] | None = None,
        content: bytes | Iterator[bytes] | None = None,
        content_type: str | None = None,
        content_length: int | None = None,
        credential: Credential | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Request:
        # identity: bytes are counted as they come off the wire, never after decompression.
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": "identity",
        }
        if content_length is not None:
            headers["Content-Length"] = str(content_length)
        if credential is not None:
            headers["Authorization"] = f"Bearer {credential.token}"
        if extra_headers:
            headers.update(extra_headers)
        if body is not None:
            content = json.dumps(
                {k: v if isinstance(v, str) else b64.encode(v) for k, v in body.items()},
                separators=(",", ":"),
            ).encode("utf-8")
            content_type = "application/json"
        if content_type is not None:
            headers["Content-Type"] = content_type
        try:
            return self._http.build_request(
                method, self._api + path, content=content, headers=headers, timeout=TIMEOUT
            )
        except httpx.InvalidURL as exc:
            raise ConfigError("the server URL is not valid") from exc

    def _request(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, bytes] | dict[str, str] | None = None,
        content: bytes | Iterator[bytes] | None = None,
        content_type: str | None = None,
        content_length: int | None = None,
        subject: str = "secret",
        ttl: int | None = None,
        auth: bool = False,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        credential = self.credential() if auth else None
        request = self._build(
            method,
            path,
            body=dict(body) if body else None,
            content=content,
            content_type=content_type,
            content_length=content_length,
            credential=credential,
            extra_headers=headers,
        )
        seconds: float | None = self._deadlines.request
        if content_length is not None:  # an upload: its time at the minimum rate on top
            seconds = self._deadlines.request + content_length / self._deadlines.min_rate
        elif content is not None and not isinstance(content, bytes):
            seconds = None  # chunked, of unknown length: each write bounded by httpx alone
        with until(seconds), self._translate():
            streamed = self._http.send(request, follow_redirects=False, stream=True)
            try:
                if seconds is None:  # the upload is over: the answer gets the usual deadline
                    DEADLINE.set(time.monotonic() + self._deadlines.request)
                answer = self._read_capped(streamed, MAX_ANSWER_BYTES)
            finally:
                streamed.close()
        response = httpx.Response(
            streamed.status_code, headers=streamed.headers, content=answer, request=request
        )
        self._check(
            response,
            subject=subject,
            ttl=ttl,
            token_source=None if credential is None else credential.source,
        )
        return response

    @contextmanager
    def _stream(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, bytes],
        headers: dict[str, str] | None = None,
    ) -> Iterator[httpx.Response]:
        request = self._build(method, path, body=dict(body), extra_headers=headers)
        with until(self._deadlines.request), self._translate():
            response = self._http.send(request, follow_redirects=False, stream=True)
        try:
            if not 200 <= response.status_code < 300:
                with until(self._deadlines.request), self._translate():
                    content = self._read_capped(response, MAX_ANSWER_BYTES)
                self._check(
                    httpx.Response(response.status_code, headers=response.headers, content=content),
                    subject="secret",
                )
            check_identity(response)
            yield response
        finally:
            response.close()

    def _read_capped(self, response: httpx.Response, limit: int) -> bytes:
        """The whole body, at most ``limit`` bytes, by the current deadline."""
        check_identity(response)
        declared = header_int(response, "Content-Length")
        if declared is not None and declared > limit:
            raise ProtocolError(_TOO_MUCH)
        parts: list[bytes] = []
        received = 0
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > limit:
                raise ProtocolError(_TOO_MUCH)
            deadline = DEADLINE.get()
            if deadline is not None and time.monotonic() > deadline:
                raise self._late()
            parts.append(chunk)
        return b"".join(parts)

    def _chunks(self, response: httpx.Response, limit: int | None) -> Iterator[bytes]:
        """The blob as it arrives: at most ``limit`` bytes, at least ``min_rate`` bytes per
        second over each window of ``request`` seconds spent waiting for the network (time
        the caller spends between chunks, writing them out, does not count)."""
        window = self._deadlines.request
        quota = self._deadlines.min_rate * window
        waited, arrived, received = 0.0, 0, 0
        chunks = response.iter_bytes()
        with self._translate():
            while True:
                start = time.monotonic()
                token = DEADLINE.set(start + window - waited)
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
                except httpx.TimeoutException:
                    raise self._too_slow() from None
                finally:
                    DEADLINE.reset(token)
                waited += time.monotonic() - start
                received += len(chunk)
                if limit is not None and received > limit:
                    raise ProtocolError(_TOO_MUCH)
                if waited > window:
                    raise self._too_slow()
                arrived += len(chunk)
                if arrived >= quota:
                    waited, arrived = 0.0, 0
                yield chunk

    def _late(self) -> Unavailable:
        return Unavailable(
            f"the server {self._host} did not answer within {self._deadlines.request:g} s",
            hints=(
                "the server or the network is too slow, or the server stalls on purpose; "
                "OTS_REQUEST_TIMEOUT sets the limit",
            ),
        )

    def _too_slow(self) -> Unavailable:
        rate, window = self._deadlines.min_rate, self._deadlines.request
        return Unavailable(
            f"the server {self._host} sent the secret too slowly "
            f"(under {rate} bytes/s over {window:g} s)",
            hints=("OTS_MIN_DOWNLOAD_RATE and OTS_REQUEST_TIMEOUT set these limits",),
        )

    @contextmanager
    def _translate(self) -> Iterator[None]:
        """httpx transport errors → :class:`Unavailable`, naming the host and nothing else."""
        try:
            yield
        except httpx.TimeoutException as exc:
            deadline = DEADLINE.get()
            if deadline is not None and time.monotonic() >= deadline - 0.05:
                raise self._late() from exc
            raise Unavailable(
                f"the server {self._host} did not answer in time",
                hints=("try again later; the server or the network may be overloaded",),
            ) from exc
        except httpx.ConnectError as exc:
            raise Unavailable(
                f"cannot connect to the server {self._host}",
                hints=(
                    "check that the server is running and the address is right (--server, "
                    "OTS_SERVER, or `ots config get server`)",
                ),
            ) from exc
        except httpx.UnsupportedProtocol as exc:
            raise ConfigError("the server URL must start with https://") from exc
        except httpx.TransportError as exc:
            raise Unavailable(
                f"the connection to the server {self._host} failed ({type(exc).__name__})",
                hints=("try again; if it keeps failing, the server may be down",),
            ) from exc
        except httpx.StreamError as exc:  # pragma: no cover - a bug in this module
            raise ProtocolError("the response could not be read") from exc

    def _check(
        self,
        response: httpx.Response,
        *,
        subject: str,
        ttl: int | None = None,
        token_source: str | None = None,
    ) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        if 300 <= status < 400:
            raise ConfigError(
                f"the server {self._host} answered with a redirect (HTTP {status})",
                hints=(
                    "ots follows no redirects; use the final address as the server, "
                    "e.g. https:// instead of http://",
                ),
            )
        if subject in ("request", "request-owner"):
            from ots_cli.api.request_answers import request_error

            raise request_error(
                status,
                response.content,
                owner=subject == "request-owner",
                host=self._host,
                server=self.server,
                ttl=ttl,
                retry_after=response.headers.get("Retry-After"),
                token_source=token_source,
            )
        raise error_for(
            status,
            response.content,
            host=self._host,
            server=self.server,
            subject=subject,
            ttl=ttl,
            retry_after=response.headers.get("Retry-After"),
            token_source=token_source,
        )

    @staticmethod
    def _json(response: httpx.Response, *, expected: int = 200) -> dict[str, Any]:
        if response.status_code != expected:
            raise ProtocolError(f"unexpected HTTP status {response.status_code} from the server")
        try:
            data = response.json()
        except ValueError as exc:
            raise ProtocolError("the server's answer is not JSON") from exc
        if not isinstance(data, dict):
            raise ProtocolError("the server's answer is not a JSON object")
        return data


def check_identity(response: httpx.Response) -> None:
    """Refuse a body in a content encoding: ots asked for identity, and decompressing would
    let a small answer inflate past every cap. After this check ``iter_bytes`` yields the
    bytes as they came (and also works on an answer an injected client already read)."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise ProtocolError("the server sent a compressed answer, which ots did not ask for")


def header_int(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None or not value.isascii() or not value.isdigit():
        return None
    return int(value)
