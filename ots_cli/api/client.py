"""Typed client for the ots HTTP API v1 (docs/API.md) over an injected ``httpx.Client``.

Invariants:

- Never prints. Every transport failure and every HTTP status outside the contract becomes an
  :class:`~ots_cli.errors.OtsError` (``raise ... from exc``); no httpx exception escapes.
- Talks only to the server it was built for: ``https://``, or ``http://`` to a loopback host
  (anything else only with ``insecure=True``). Redirects are never followed, even by an injected
  client that would follow them; a 3xx is an error.
- Sends the id in URL paths and nothing else secret-related outside request bodies: proofs,
  verifiers and receipt tokens travel in JSON bodies or the create frame. It never sees a key.
- An account token goes in ``Authorization: Bearer`` only to the server this client was built
  for, and only on the requests an account changes: create (a secret or a request), limits
  and the account endpoints. Reading, burning, answering a request and receipt checks never
  need an account and never carry it, so a reader's token is not tied to what they read. The
  token is resolved on the first such request (:data:`TokenProvider`), so requests without
  one never open a keyring.
- Reads at most the size the server announced (plus the frame), so a hostile server cannot make
  the client buffer without bound: a JSON answer or an error body at most
  :data:`MAX_ANSWER_BYTES`, a revealed blob at most the size its peek announced, bytes as they
  came off the wire (``Accept-Encoding: identity``; an answer in another encoding is refused, so
  no decompression can inflate it). Past the cap: :class:`ProtocolError`, "the server sent more
  than expected", and nothing more is read.
- Every request has an overall deadline (:class:`Deadlines`, ``OTS_REQUEST_TIMEOUT``): connect,
  headers and a JSON body together, with an upload's time added at ``OTS_MIN_DOWNLOAD_RATE``.
  A blob must arrive at that average rate, measured over windows of network waiting time as
  long as the deadline. Sockets of :func:`new_http_client` never wait past the deadline
  (:class:`_DeadlineBackend`), so a server that dribbles bytes cannot hold a request open.
"""

from __future__ import annotations

import ipaddress
import json
import struct
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

import httpcore
import httpx

from ots_cli import __version__
from ots_cli.api.answers import (
    Account,
    Burned,
    Created,
    Limits,
    Peeked,
    ReceiptStatus,
    Revealed,
    error_for,
    field_bool,
    field_int,
    field_optional_int,
    field_str,
    parse_account,
    parse_receipt_status,
)
from ots_cli.core import b64
from ots_cli.errors import (
    ConfigError,
    FormatError,
    InsecureHttp,
    NotFound,
    ProtocolError,
    Unavailable,
)

if TYPE_CHECKING:
    from ots_cli.api.request_answers import (
        AnswerPosted,
        RequestClosed,
        RequestCreated,
        RequestPeeked,
        RequestStatus,
    )
    from ots_cli.local.tokens import Credential

__all__ = [
    "MAX_RECEIPTS_PER_REQUEST",
    "USER_AGENT",
    "Account",
    "Api",
    "Burned",
    "Created",
    "Deadlines",
    "Limits",
    "Peeked",
    "ReceiptStatus",
    "Revealed",
    "TokenProvider",
    "check_server_url",
    "new_http_client",
]

USER_AGENT = f"ots/{__version__}"
SECRET_MEDIA_TYPE = "application/vnd.ots.secret"  # noqa: S105 - a media type
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: The most a JSON answer or an error body may hold (a page of 100 receipts is ~20 KiB).
MAX_ANSWER_BYTES = 64 * 1024
_TOO_MUCH = "the server sent more than expected"
#: When the current request must be done (``time.monotonic``), or None: read by the sockets of
#: :func:`new_http_client` before every wait, set by :class:`Api` around every request.
_DEADLINE: ContextVar[float | None] = ContextVar("ots_deadline", default=None)


class Deadlines(NamedTuple):
    """How long a request may take. ``request``: seconds for an answer (connect, headers, a
    JSON body); ``min_rate``: bytes per second an upload is allowed and a blob must average,
    over each window of ``request`` seconds spent waiting for the network."""

    request: float = 30.0
    min_rate: int = 1024


#: The integer fields of ``GET /limits``.
_NUMBERS = frozenset(Limits._fields) - {"require_account", "public_url"}
#: Receipts one batch status request carries at most (the server's cap, docs/API.md).
MAX_RECEIPTS_PER_REQUEST = 100
#: Called once, on the first request that may carry a token: the token for this server, or None.
TokenProvider = Callable[[], "Credential | None"]


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
    deadline = _DEADLINE.get()
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


class Api:
    """One server's API. ``server`` is the base URL (links are ``{server}/s/{id}#{key}``)."""

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

    # -- endpoints ----------------------------------------------------------------------------

    def limits(self) -> Limits:
        """The limits for this client: the account's with a token, else the anonymous ones."""
        data = self._json(self._request("GET", "/limits", auth=True))
        numbers = {name: field_int(data, name) for name in Limits._fields if name in _NUMBERS}
        public_url = data.get("public_url")
        if public_url is not None and not isinstance(public_url, str):
            raise ProtocolError("the server's answer lacks a valid 'public_url'")
        return Limits(
            **numbers, require_account=data.get("require_account") is True, public_url=public_url
        )

    def account(self) -> Account:
        """``GET /account``: the account the token belongs to (the caller checks there is one)."""
        data = self._json(self._request("GET", "/account", subject="account", auth=True))
        return parse_account(data)

    def account_receipts(self) -> list[ReceiptStatus]:
        """The newest receipts of the secrets this account created (newest first)."""
        response = self._request("GET", "/account/receipts", subject="account", auth=True)
        receipts = self._json(response).get("receipts")
        if not isinstance(receipts, list):
            raise ProtocolError("the server's answer lacks a valid 'receipts'")
        return [parse_receipt_status(item) for item in receipts]

    def create(
        self,
        *,
        id: bytes,
        blob: bytes | Iterable[bytes],
        length: int | None = None,
        header_length: int,
        link_verifier: bytes,
        passphrase_verifier: bytes | None = None,
        attempts: int | None = None,
        ttl: int | None = None,
        views: int | None = None,
    ) -> Created:
        """Upload a sealed blob. An iterable blob streams: with its ``length`` (bytes it yields)
        the request has a Content-Length, so a server can refuse it before it is sent;
        without, it is sent chunked."""
        meta: dict[str, Any] = {
            "id": b64.encode(id),
            "header_length": header_length,
            "link_verifier": b64.encode(link_verifier),
        }
        if ttl is not None:
            meta["ttl"] = ttl
        if views is not None:
            meta["views"] = views
        if passphrase_verifier is not None:
            meta["passphrase_verifier"] = b64.encode(passphrase_verifier)
            if attempts is not None:
                meta["attempts"] = attempts
        meta_bytes = json.dumps(meta, separators=(",", ":")).encode("utf-8")
        prefix = struct.pack(">I", len(meta_bytes)) + meta_bytes
        content = prefix + blob if isinstance(blob, bytes) else _chain(prefix, blob)
        size = None if isinstance(blob, bytes) or length is None else len(prefix) + length
        response = self._request(
            "POST",
            "/secrets",
            content=content,
            content_type=SECRET_MEDIA_TYPE,
            content_length=size,
            ttl=ttl,
            auth=True,
        )
        data = self._json(response, expected=201)
        return Created(
            id=field_str(data, "id"),
            receipt=field_str(data, "receipt"),
            created_at=field_int(data, "created_at"),
            expires_at=field_int(data, "expires_at"),
            views=field_int(data, "views"),
            attempts=field_optional_int(data, "attempts"),
        )

    def peek(self, id: bytes, proof: bytes) -> Peeked:
        response = self._request("POST", f"/secrets/{b64.encode(id)}/peek", body={"proof": proof})
        data = self._json(response)
        try:
            header = b64.decode(field_str(data, "header"))
        except FormatError as exc:
            raise ProtocolError("the server sent a malformed header") from exc
        self._announced[id] = field_int(data, "size")
        return Peeked(
            id=field_str(data, "id"),
            header=header,
            size=field_int(data, "size"),
            created_at=field_int(data, "created_at"),
            expires_at=field_int(data, "expires_at"),
            views_left=field_int(data, "views_left"),
            passphrase=field_bool(data, "passphrase"),
            attempts_left=field_optional_int(data, "attempts_left"),
        )

    def reveal(
        self, id: bytes, proof: bytes, passphrase_proof: bytes | None = None, *, max_bytes: int
    ) -> Revealed:
        """Consume one view and return the whole blob (at most ``max_bytes``)."""
        with self.reveal_stream(id, proof, passphrase_proof, max_bytes=max_bytes) as (
            views_left,
            chunks,
        ):
            blob = b"".join(chunks)
        return Revealed(blob=blob, views_left=views_left)

    @contextmanager
    def reveal_stream(
        self,
        id: bytes,
        proof: bytes,
        passphrase_proof: bytes | None = None,
        *,
        max_bytes: int | None = None,
    ) -> Iterator[tuple[int | None, Iterator[bytes]]]:
        """Consume one view; yield ``(views_left, chunks)`` while the response streams.

        ``max_bytes``: the blob's size as the peek announced it; a byte more is
        :class:`ProtocolError` before it is yielded. Without it, the size the last peek of
        ``id`` announced."""
        body: dict[str, bytes] = {"proof": proof}
        if passphrase_proof is not None:
            body["passphrase_proof"] = passphrase_proof
        with self._stream("POST", f"/secrets/{b64.encode(id)}/reveal", body=body) as response:
            views_left = _header_int(response, "Ots-Views-Left")
            limit = self._announced.get(id) if max_bytes is None else max_bytes
            yield views_left, self._chunks(response, limit)

    def burn(self, id: bytes, proof: bytes) -> Burned:
        response = self._request("POST", f"/secrets/{b64.encode(id)}/burn", body={"proof": proof})
        data = self._json(response)
        return Burned(
            id=field_str(data, "id"), state=field_str(data, "state"), at=field_int(data, "at")
        )

    def receipt_status(self, receipt: str) -> ReceiptStatus:
        return self._receipt("/receipts/status", receipt)

    def receipt_statuses(self, receipts: Sequence[str]) -> list[ReceiptStatus | None]:
        """The state of up to :data:`MAX_RECEIPTS_PER_REQUEST` receipts in one request, in
        order; ``None`` for a receipt the server does not know (never issued, or purged).
        A server older than the batch endpoint answers it 404: then one request each."""
        if not 0 < len(receipts) <= MAX_RECEIPTS_PER_REQUEST:
            raise ValueError("between 1 and MAX_RECEIPTS_PER_REQUEST receipts")
        body = json.dumps({"receipts": list(receipts)}, separators=(",", ":")).encode()
        try:
            response = self._request(
                "POST",
                "/receipts/status/batch",
                content=body,
                content_type="application/json",
                subject="receipt",
            )
        except NotFound:
            return [self._receipt_or_none(receipt) for receipt in receipts]
        items = self._json(response).get("receipts")
        if not isinstance(items, list) or len(items) != len(receipts):
            raise ProtocolError("the server's answer lacks a valid 'receipts'")
        return [None if item is None else parse_receipt_status(item) for item in items]

    def _receipt_or_none(self, receipt: str) -> ReceiptStatus | None:
        try:
            return self.receipt_status(receipt)
        except NotFound:
            return None

    def receipt_burn(self, receipt: str) -> ReceiptStatus:
        return self._receipt("/receipts/burn", receipt)

    def _receipt(self, path: str, receipt: str) -> ReceiptStatus:
        response = self._request("POST", path, body={"receipt": receipt}, subject="receipt")
        return parse_receipt_status(self._json(response))

    # -- requests (docs/API.md, "Requests"; answers in ots_cli.api.request_answers) ---------------

    def create_request(
        self, *, id: bytes, ttl: int | None, answer_verifier: bytes, owner_verifier: bytes
    ) -> RequestCreated:
        """Register a request: its id, lifetime (None: the server's default) and the SHA-256
        hashes of both proofs. Like a secret's create, it carries the account token."""
        from ots_cli.api.request_answers import parse_request_created

        body = {
            "id": b64.encode(id),
            "ttl": ttl,
            "answer_verifier": b64.encode(answer_verifier),
            "owner_verifier": b64.encode(owner_verifier),
        }
        response = self._request(
            "POST",
            "/requests",
            content=json.dumps(body, separators=(",", ":")).encode("utf-8"),
            content_type="application/json",
            subject="request-owner",
            ttl=ttl,
            auth=True,
        )
        return parse_request_created(self._json(response, expected=201))

    def peek_request(self, id: bytes, answer_proof: bytes) -> RequestPeeked:
        """A request's state, as the holder of its link sees it; changes nothing."""
        from ots_cli.api.request_answers import parse_request_peeked

        response = self._request(
            "POST",
            f"/requests/{b64.encode(id)}/peek",
            body={"proof": answer_proof},
            subject="request",
        )
        return parse_request_peeked(self._json(response))

    def answer_request(self, id: bytes, answer_proof: bytes, sealed: bytes) -> AnswerPosted:
        """Post the sealed answer; the server takes one per request (409 ``answered``)."""
        from ots_cli.api.request_answers import parse_answer_posted

        response = self._request(
            "POST",
            f"/requests/{b64.encode(id)}/answer",
            body={"proof": answer_proof, "sealed": sealed},
            subject="request",
        )
        return parse_answer_posted(self._json(response, expected=201))

    def request_status(self, id: bytes, owner_proof: bytes) -> RequestStatus:
        """The request's state and, once answered, its sealed answer (the requester only)."""
        from ots_cli.api.request_answers import parse_request_status

        response = self._request(
            "POST",
            f"/requests/{b64.encode(id)}/status",
            body={"proof": owner_proof},
            subject="request-owner",
        )
        return parse_request_status(self._json(response))

    def close_request(self, id: bytes, owner_proof: bytes) -> RequestClosed:
        """Close the request: the server deletes it and its answer (the requester only)."""
        from ots_cli.api.request_answers import parse_request_closed

        response = self._request(
            "POST",
            f"/requests/{b64.encode(id)}/close",
            body={"proof": owner_proof},
            subject="request-owner",
        )
        return parse_request_closed(self._json(response))

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
        )
        seconds: float | None = self._deadlines.request
        if content_length is not None:  # an upload: its time at the minimum rate on top
            seconds = self._deadlines.request + content_length / self._deadlines.min_rate
        elif content is not None and not isinstance(content, bytes):
            seconds = None  # chunked, of unknown length: each write bounded by httpx alone
        with _until(seconds), self._translate():
            streamed = self._http.send(request, follow_redirects=False, stream=True)
            try:
                if seconds is None:  # the upload is over: the answer gets the usual deadline
                    _DEADLINE.set(time.monotonic() + self._deadlines.request)
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
        self, method: str, path: str, *, body: dict[str, bytes]
    ) -> Iterator[httpx.Response]:
        request = self._build(method, path, body=dict(body))
        with _until(self._deadlines.request), self._translate():
            response = self._http.send(request, follow_redirects=False, stream=True)
        try:
            if not 200 <= response.status_code < 300:
                with _until(self._deadlines.request), self._translate():
                    content = self._read_capped(response, MAX_ANSWER_BYTES)
                self._check(
                    httpx.Response(response.status_code, headers=response.headers, content=content),
                    subject="secret",
                )
            _check_identity(response)
            yield response
        finally:
            response.close()

    def _read_capped(self, response: httpx.Response, limit: int) -> bytes:
        """The whole body, at most ``limit`` bytes, by the current deadline."""
        _check_identity(response)
        declared = _header_int(response, "Content-Length")
        if declared is not None and declared > limit:
            raise ProtocolError(_TOO_MUCH)
        parts: list[bytes] = []
        received = 0
        for chunk in response.iter_bytes():
            received += len(chunk)
            if received > limit:
                raise ProtocolError(_TOO_MUCH)
            deadline = _DEADLINE.get()
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
                token = _DEADLINE.set(start + window - waited)
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
                except httpx.TimeoutException:
                    raise self._too_slow() from None
                finally:
                    _DEADLINE.reset(token)
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
            deadline = _DEADLINE.get()
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


@contextmanager
def _until(seconds: float | None) -> Iterator[None]:
    """Run the block under a deadline ``seconds`` from now (None: none)."""
    token = _DEADLINE.set(None if seconds is None else time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _check_identity(response: httpx.Response) -> None:
    """Refuse a body in a content encoding: ots asked for identity, and decompressing would
    let a small answer inflate past every cap. After this check ``iter_bytes`` yields the
    bytes as they came (and also works on an answer an injected client already read)."""
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise ProtocolError("the server sent a compressed answer, which ots did not ask for")


def _chain(prefix: bytes, rest: Iterable[bytes]) -> Iterator[bytes]:
    yield prefix
    yield from rest


def _header_int(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None or not value.isascii() or not value.isdigit():
        return None
    return int(value)
