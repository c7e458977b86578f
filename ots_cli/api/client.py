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

import json
import struct
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ots_cli.api.answers import (
    Account,
    Burned,
    Created,
    Limits,
    Peeked,
    ReceiptStatus,
    Revealed,
    field_bool,
    field_int,
    field_optional_int,
    field_str,
    parse_account,
    parse_receipt_status,
)
from ots_cli.api.transport import Transport, header_int
from ots_cli.core import b64
from ots_cli.errors import FormatError, NotFound, ProtocolError

if TYPE_CHECKING:
    from ots_cli.api.request_answers import (
        AnswerPosted,
        RequestClosed,
        RequestCreated,
        RequestPeeked,
        RequestStatus,
    )

__all__ = [
    "MAX_RECEIPTS_PER_REQUEST",
    "Account",
    "Api",
    "Burned",
    "Created",
    "Limits",
    "Peeked",
    "ReceiptStatus",
    "Revealed",
]

SECRET_MEDIA_TYPE = "application/vnd.ots.secret"  # noqa: S105 - a media type
#: The integer fields of ``GET /limits``.
_NUMBERS = frozenset(Limits._fields) - {"require_account", "public_url"}
#: Receipts one batch status request carries at most (the server's cap, docs/API.md).
MAX_RECEIPTS_PER_REQUEST = 100


class Api(Transport):
    """One server's API. ``server`` is the base URL (links are ``{server}/s/{id}#{key}``)."""

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
        binding: str | None = None,
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
        if binding is not None:
            meta["binding"] = binding
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
        """The secret's header and counters; with ``id_tokens[id]`` sent as ``Ots-Id-Token``
        (a bound secret's peek needs it: :class:`IdTokenRequired` names its binding)."""
        token = self.id_tokens.get(id)
        headers = None if token is None else {"Ots-Id-Token": token}
        response = self._request(
            "POST", f"/secrets/{b64.encode(id)}/peek", body={"proof": proof}, headers=headers
        )
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
            binding=field_optional_str(data, "binding"),
        )

    def reveal(
        self,
        id: bytes,
        proof: bytes,
        passphrase_proof: bytes | None = None,
        *,
        max_bytes: int,
        id_token: str | None = None,
    ) -> Revealed:
        """Consume one view and return the whole blob (at most ``max_bytes``)."""
        with self.reveal_stream(
            id, proof, passphrase_proof, max_bytes=max_bytes, id_token=id_token
        ) as (
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
        id_token: str | None = None,
    ) -> Iterator[tuple[int | None, Iterator[bytes]]]:
        """Consume one view; yield ``(views_left, chunks)`` while the response streams.

        ``max_bytes``: the blob's size as the peek announced it; a byte more is
        :class:`ProtocolError` before it is yielded. Without it, the size the last peek of
        ``id`` announced. ``id_token`` (default: ``id_tokens[id]``): a CI ID token for a
        bound secret, sent in the ``Ots-Id-Token`` header (never in the URL or body)."""
        body: dict[str, bytes] = {"proof": proof}
        if passphrase_proof is not None:
            body["passphrase_proof"] = passphrase_proof
        token = self.id_tokens.get(id) if id_token is None else id_token
        headers = None if token is None else {"Ots-Id-Token": token}
        with self._stream(
            "POST", f"/secrets/{b64.encode(id)}/reveal", body=body, headers=headers
        ) as response:
            views_left = header_int(response, "Ots-Views-Left")
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


def _chain(prefix: bytes, rest: Iterable[bytes]) -> Iterator[bytes]:
    yield prefix
    yield from rest


def field_optional_str(data: dict[str, Any], name: str) -> str | None:
    return None if data.get(name) is None else field_str(data, name)
