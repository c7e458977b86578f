"""The request endpoints in the API description (:mod:`ots_server.openapi`): their paths and
component schemas, matching docs/API.md "Requests". The common error answers come from
:func:`ots_server.openapi.build_openapi`'s ``errors`` helper; 409 and 410 differ from the
secret endpoints' and are declared here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ots_server.openapi_schemas import B32_PATTERN, ID_PATTERN, ref
from ots_server.store import SEALED_BYTES

#: Canonical unpadded base64url of exactly 96 bytes: 128 characters, no trailing bits.
SEALED_PATTERN = "^[A-Za-z0-9_-]{128}$"

_TIME = {"type": "integer", "description": "Unix seconds"}
_ID = {"type": "string", "pattern": ID_PATTERN}
_B32 = {"type": "string", "pattern": B32_PATTERN}
_SEALED = {
    "type": "string",
    "pattern": SEALED_PATTERN,
    "description": f"crypto_box_seal of a secret's id and key: {SEALED_BYTES} bytes, base64url",
}

Errors = Callable[..., dict[str, Any]]
Json = Callable[..., dict[str, Any]]


def request_schemas() -> dict[str, Any]:
    described = {
        "id": _ID,
        "created_at": _TIME,
        "expires_at": _TIME,
        "state": {"enum": ["open", "answered"]},
        "answered_at": {"type": ["integer", "null"], "description": "Unix seconds"},
    }
    return {
        "RequestCreate": {
            "type": "object",
            "required": ["id", "answer_verifier", "owner_verifier"],
            "additionalProperties": False,
            "properties": {
                "id": _ID,
                "ttl": {"type": ["integer", "null"]},
                "answer_verifier": _B32,
                "owner_verifier": _B32,
            },
        },
        "RequestCreated": {
            "type": "object",
            "required": ["id", "created_at", "expires_at"],
            "properties": {"id": _ID, "created_at": _TIME, "expires_at": _TIME},
        },
        "RequestPeek": {"type": "object", "required": list(described), "properties": described},
        "RequestStatus": {
            "type": "object",
            "required": [*described, "sealed"],
            "properties": {**described, "sealed": {"anyOf": [_SEALED, {"type": "null"}]}},
        },
        "AnswerRequest": {
            "type": "object",
            "required": ["proof", "sealed"],
            "additionalProperties": False,
            "properties": {"proof": _B32, "sealed": _SEALED},
        },
        "RequestAnswered": {
            "type": "object",
            "required": ["id", "answered_at", "expires_at"],
            "properties": {"id": _ID, "answered_at": _TIME, "expires_at": _TIME},
        },
        "RequestClosed": {
            "type": "object",
            "required": ["id", "state", "at"],
            "properties": {"id": _ID, "state": {"const": "closed"}, "at": _TIME},
        },
        "AnsweredError": {
            "allOf": [
                ref("Error"),
                {"type": "object", "required": ["at"], "properties": {"at": _TIME}},
            ]
        },
        "RequestGoneError": {
            "allOf": [
                ref("Error"),
                {
                    "type": "object",
                    "required": ["state", "at"],
                    "properties": {"state": {"enum": ["expired", "closed"]}, "at": _TIME},
                },
            ]
        },
    }


def _id_param() -> dict[str, Any]:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": ID_PATTERN},
        "description": "Request id: 16 bytes, unpadded base64url. Malformed ids answer 404.",
    }


def request_paths(json: Json, errors: Errors, json_errors: tuple[int, ...]) -> dict[str, Any]:
    """The five request operations; ``json`` and ``errors`` build answers as for secrets."""

    def body(schema: str) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": ref(schema)}}}

    gone = json(ref("RequestGoneError"), "The proof matches and the request is over")

    def action(
        name: str, summary: str, request: str, ok: tuple[str, str, str], **extra: Any
    ) -> dict[str, Any]:
        status, schema, description = ok
        return {
            "post": {
                "operationId": name,
                "summary": summary,
                "parameters": [_id_param()],
                "requestBody": body(request),
                "responses": {
                    status: json(ref(schema), description),
                    **errors(*json_errors),
                    "410": gone,
                    **extra,
                },
            }
        }

    base = "/api/v1/requests/{id}"
    return {
        "/api/v1/requests": {
            "post": {
                "operationId": "createRequest",
                "summary": "Register a request for a secret (201 only after a durable commit)",
                "requestBody": body("RequestCreate"),
                "responses": {
                    "201": json(ref("RequestCreated"), "Registered"),
                    **errors(*json_errors, 422, 507),
                    "409": json(ref("Error"), "A request with this id exists (exists)"),
                },
            }
        },
        f"{base}/peek": action(
            "peekRequest",
            "Describe a live request to a link holder (answer proof); changes nothing",
            "ProofRequest",
            ("200", "RequestPeek", "The request is live"),
        ),
        f"{base}/answer": action(
            "answerRequest",
            "Store the one answer (answer proof); 201 only after a durable commit",
            "AnswerRequest",
            ("201", "RequestAnswered", "Stored: the request is answered"),
            **{
                "409": json(ref("AnsweredError"), "The request has an answer already (answered)"),
                **errors(507),
            },
        ),
        f"{base}/status": action(
            "requestStatus",
            "The request and its sealed answer, for the requester (owner proof)",
            "ProofRequest",
            ("200", "RequestStatus", "The request is live"),
        ),
        f"{base}/close": action(
            "closeRequest",
            "Delete the request and its answer (owner proof), leaving a closed tombstone",
            "ProofRequest",
            ("200", "RequestClosed", "Closed now"),
            **errors(507),
        ),
    }
