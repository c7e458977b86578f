"""What the request endpoints of the ots API answer, as typed values and errors: pure.

:mod:`ots_cli.api.client` sends the requests (``/api/v1/requests…``, docs/API.md "Requests"); this
module turns their JSON answers into records and their failures into the one
:class:`~ots_cli.errors.OtsError` each means. Everything else (rate limits, accounts, a server
that is down) is decided as for secrets, by :func:`ots_cli.api.answers.error_for`.

Invariants:

- A field of the wrong type, or missing, is a :class:`~ots_cli.errors.ProtocolError`; so is a
  state the API does not define, an ``answered`` status without its sealed answer, or a
  sealed answer that is not canonical base64url. Its length is the opener's business
  (:func:`ots_cli.core.request_crypto.open_answer`: a wrong one is a tampered answer).
- ``owner`` says who asked: the requester (owner proof: ``status``, ``close``) or whoever holds
  the link (answer proof: ``peek``, ``answer``); the messages differ, the exit codes do not.
- Messages never quote an id, a proof or a sealed answer.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from ots_cli.api.answers import error_for, field_int, field_optional_int, field_str
from ots_cli.core import b64
from ots_cli.errors import (
    FormatError,
    NotFound,
    OtsError,
    ProtocolError,
    RequestAnswered,
    RequestOver,
)

__all__ = [
    "REQUEST_STATES",
    "AnswerPosted",
    "RequestClosed",
    "RequestCreated",
    "RequestPeeked",
    "RequestStatus",
    "parse_answer_posted",
    "parse_request_closed",
    "parse_request_created",
    "parse_request_peeked",
    "parse_request_status",
    "request_error",
]

#: The states of a live request; ``expired`` and ``closed`` come as 410 errors.
REQUEST_STATES = ("open", "answered")


class RequestCreated(NamedTuple):
    id: str
    created_at: int
    expires_at: int


class RequestPeeked(NamedTuple):
    id: str
    created_at: int
    expires_at: int
    state: str
    answered_at: int | None


class AnswerPosted(NamedTuple):
    id: str
    answered_at: int
    expires_at: int


class RequestStatus(NamedTuple):
    id: str
    created_at: int
    expires_at: int
    state: str
    answered_at: int | None
    #: The sealed answer (raw bytes), present exactly when ``state`` is ``answered``.
    sealed: bytes | None


class RequestClosed(NamedTuple):
    id: str
    state: str
    at: int


def parse_request_created(data: dict[str, Any]) -> RequestCreated:
    return RequestCreated(
        id=field_str(data, "id"),
        created_at=field_int(data, "created_at"),
        expires_at=field_int(data, "expires_at"),
    )


def parse_request_peeked(data: dict[str, Any]) -> RequestPeeked:
    return RequestPeeked(
        id=field_str(data, "id"),
        created_at=field_int(data, "created_at"),
        expires_at=field_int(data, "expires_at"),
        state=_state(data),
        answered_at=field_optional_int(data, "answered_at"),
    )


def parse_answer_posted(data: dict[str, Any]) -> AnswerPosted:
    return AnswerPosted(
        id=field_str(data, "id"),
        answered_at=field_int(data, "answered_at"),
        expires_at=field_int(data, "expires_at"),
    )


def parse_request_status(data: dict[str, Any]) -> RequestStatus:
    state = _state(data)
    raw = data.get("sealed")
    if raw is not None and not isinstance(raw, str):
        raise ProtocolError("the server's answer lacks a valid 'sealed'")
    if (raw is None) != (state == "open"):
        raise ProtocolError("the server's request status contradicts its state")
    sealed = None
    if raw is not None:
        try:
            sealed = b64.decode(raw)
        except FormatError as exc:
            raise ProtocolError("the server sent a malformed sealed answer") from exc
    return RequestStatus(
        id=field_str(data, "id"),
        created_at=field_int(data, "created_at"),
        expires_at=field_int(data, "expires_at"),
        state=state,
        answered_at=field_optional_int(data, "answered_at"),
        sealed=sealed,
    )


def parse_request_closed(data: dict[str, Any]) -> RequestClosed:
    state = field_str(data, "state")
    if state != "closed":
        raise ProtocolError("the server reported an unknown request state")
    return RequestClosed(id=field_str(data, "id"), state=state, at=field_int(data, "at"))


def _state(data: dict[str, Any]) -> str:
    state = field_str(data, "state")
    if state not in REQUEST_STATES:
        raise ProtocolError("the server reported an unknown request state")
    return state


def request_error(
    status: int,
    body: bytes,
    *,
    owner: bool,
    host: str,
    server: str | None = None,
    ttl: int | None = None,
    retry_after: str | None = None,
    token_source: str | None = None,
) -> OtsError:
    """The error for a failed request call: 404, 409 ``answered`` and 410 ``gone`` here, the
    rest as for secrets."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    code = data.get("error") if isinstance(data, dict) else None
    if isinstance(data, dict) and isinstance(code, str):
        if status == 404 and code == "not_found":
            return _not_found(owner)
        if status == 410 and code == "gone":
            return _over(data.get("state"), _lenient_int(data, "at"), owner)
        if status == 409 and code == "answered":
            return RequestAnswered(
                "the request was already answered",
                at=_lenient_int(data, "at"),
                hints=("a request takes one answer; if yours was not it, tell the requester",),
            )
    return error_for(
        status,
        body,
        host=host,
        server=server,
        ttl=ttl,
        retry_after=retry_after,
        token_source=token_source,
    )


def _not_found(owner: bool) -> NotFound:
    if owner:
        return NotFound(
            "the server does not know this request",
            hints=("it forgets a request some time after it expired",),
        )
    return NotFound(
        "no such request, or the link's key does not match",
        hints=(
            "check that the link was copied whole: the part after '#' may be cut off or mistyped",
        ),
    )


def _over(state: object, at: int | None, owner: bool) -> OtsError:
    if state == "expired":
        if owner:
            return RequestOver(
                "the request expired before its answer was read",
                state="expired",
                at=at,
                hints=("an answer, if one came, expired with it; make a new request",),
            )
        return RequestOver(
            "the request expired: it can no longer be answered",
            state="expired",
            at=at,
            hints=("ask the requester for a new request",),
        )
    if state == "closed":
        if owner:
            return RequestOver("the request was closed (cancelled)", state="closed", at=at)
        return RequestOver(
            "the requester closed this request: it can no longer be answered",
            state="closed",
            at=at,
        )
    return ProtocolError("the server reported an unknown request state")


def _lenient_int(data: dict[str, Any], name: str) -> int | None:
    """An optional detail of an error answer: a wrong type is ignored, not an error."""
    value = data.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
