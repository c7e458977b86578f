"""The API description served at ``/api/v1/openapi.json``, written by hand to match docs/API.md.

tests/server/test_schemathesis.py runs schemathesis against the app with this document, so a
status code, content type, header or body shape the app sends but this document does not
declare (or the reverse, for valid data) fails the suite. The component schemas are in
:mod:`ots_server.openapi_schemas`; the request endpoints' paths in
:mod:`ots_server.openapi_requests`, the operational endpoints' and the pages' in
:mod:`ots_server.openapi_pages`.
"""

from __future__ import annotations

from typing import Any

from ots_server.bodies import CREATE_MEDIA_TYPE, MAX_HEADER_LENGTH, MAX_META_BYTES
from ots_server.codec import MAX_BATCH_RECEIPTS
from ots_server.openapi_pages import page_paths
from ots_server.openapi_requests import request_paths, request_schemas
from ots_server.openapi_schemas import ID_PATTERN, build_schemas, ref

#: Every /api/v1 operation takes an optional account token; the account ones require it.
OPTIONAL_TOKEN: list[dict[str, list[str]]] = [{}, {"bearer": []}]
TOKEN: list[dict[str, list[str]]] = [{"bearer": []}]


def _json(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    content = {"application/json": {"schema": schema}}
    return {"description": description, "content": content, **extra}


def _error(description: str, schema: str = "Error", **extra: Any) -> dict[str, Any]:
    return _json(ref(schema), description, **extra)


_WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "schema": {"type": "string", "pattern": "^Bearer"},
        "required": False,
        "description": "With error unauthorized or account_required",
    }
}


def _errors(*statuses: int) -> dict[str, Any]:
    known = {
        400: _error("Malformed body, field, base64, frame or query"),
        401: _error(
            "The account token is malformed, unknown or revoked (unauthorized), or missing where"
            " one is needed (unauthorized; account_required on create)",
            headers=_WWW_AUTHENTICATE,
        ),
        403: _error("Wrong passphrase proof; one attempt spent", "AttemptsError"),
        404: _error("Unknown, malformed, not matching, or gone without proof of key"),
        405: _error("Method not allowed"),
        408: _error("The request body did not arrive within the upload timeout"),
        409: _error("The id exists"),
        410: _error("The caller proved the key and the secret is gone", "GoneError"),
        413: _error("Body larger than the limit", "TooLargeError"),
        415: _error("Wrong Content-Type"),
        422: _error("TTL, views or attempts out of the published range", "RangeError"),
        429: _error(
            "Rate limited, or (create) too many uploads in progress from this client or account",
            "RateLimitedError",
            headers={
                "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "required": True}
            },
        ),
        503: _error(
            "The store is unavailable, (create) too many uploads are in progress, or the"
            " process has too many open connections",
            headers={
                "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "required": False}
            },
        ),
        507: _error("The store is full (its quota, its disk, or Redis's maxmemory)"),
    }
    return {str(status): known[status] for status in statuses}


def _id_param() -> dict[str, Any]:
    return {
        "name": "id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": ID_PATTERN},
        "description": "Secret id: 16 bytes, unpadded base64url. Malformed ids answer 404.",
    }


def _proof_body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": ref(schema)}}}


#: A bound secret's peek and reveal carry the CI ID token here (docs/API.md, Bindings).
_ID_TOKEN_PARAM = {
    "name": "Ots-Id-Token",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 16384},
    "description": "The CI ID token (a JWT) for a secret bound to a CI identity; see "
    "docs/API.md, Bindings",
}
_JSON_ERRORS = (400, 404, 405, 408, 413, 415, 429, 503)


def _add_authentication(paths: dict[str, Any]) -> None:
    """Every /api operation takes a token (401 for a bad one, 503 if the store cannot check
    it); reveal's 401 is also ``passphrase_required``."""
    for path, item in paths.items():
        if not path.startswith("/api/"):
            continue
        for operation in item.values():
            operation.setdefault("security", OPTIONAL_TOKEN)
            responses = operation["responses"]
            auth = _errors(401, 503)
            if "401" in responses:
                auth["401"] = _error(
                    "Passphrase proof required, nothing spent (passphrase_required); or the "
                    "account token is malformed, unknown or revoked (unauthorized)",
                    "AuthOrAttemptsError",
                    headers=_WWW_AUTHENTICATE,
                )
            responses.update({status: auth[status] for status in auth if status != "503"})
            responses.setdefault("503", auth["503"])


def build_openapi() -> dict[str, Any]:
    schemas = {**build_schemas(), **request_schemas()}
    secret_path = "/api/v1/secrets/{id}"  # noqa: S105 (a URL path)
    paths: dict[str, Any] = {
        "/api/v1/secrets": {
            "post": {
                "operationId": "createSecret",
                "summary": "Store a secret (201 only after a durable commit)",
                "description": (
                    f"Body: u32 big-endian meta_length (1..{MAX_META_BYTES}), meta (UTF-8 JSON "
                    "object: id, ttl, views, header_length (1.."
                    f"{MAX_HEADER_LENGTH}), link_verifier, passphrase_verifier, attempts, "
                    "binding), then the blob. See docs/API.md."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        CREATE_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}
                    },
                },
                "responses": {
                    "201": _json(ref("Created"), "Stored"),
                    **_errors(400, 405, 408, 409, 413, 415, 422, 429, 503, 507),
                },
            }
        },
        f"{secret_path}/peek": {
            "post": {
                "operationId": "peekSecret",
                "summary": "Describe a live secret to a key holder; changes nothing",
                "parameters": [_id_param(), _ID_TOKEN_PARAM],
                "requestBody": _proof_body("ProofRequest"),
                "responses": {
                    "200": _json(ref("Peek"), "The secret is live"),
                    **_errors(*_JSON_ERRORS, 410),
                    "403": _error(
                        "A bound secret without a verified CI ID token: id_token_required "
                        "(with binding, whom the secret is for) or id_token_rejected",
                        "BindingError",
                    ),
                },
            }
        },
        f"{secret_path}/reveal": {
            "post": {
                "operationId": "revealSecret",
                "summary": "Consume one view and return the blob",
                "parameters": [_id_param(), _ID_TOKEN_PARAM],
                "requestBody": _proof_body("RevealRequest"),
                "responses": {
                    "200": {
                        "description": "The blob, streamed; the view is consumed",
                        "headers": {
                            "Ots-Views-Left": {
                                "required": True,
                                "schema": {"type": "integer", "minimum": 0},
                            },
                            "Content-Length": {
                                "required": True,
                                "schema": {"type": "integer", "minimum": 1},
                            },
                        },
                        "content": {
                            "application/octet-stream": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    },
                    **_errors(*_JSON_ERRORS, 401, 410, 507),
                    "403": _error(
                        "Wrong passphrase proof, one attempt spent (wrong_passphrase); or a "
                        "bound secret without a verified CI ID token (id_token_required, "
                        "id_token_rejected), nothing spent",
                        "AttemptsOrBindingError",
                    ),
                },
            }
        },
        f"{secret_path}/burn": {
            "post": {
                "operationId": "burnSecret",
                "summary": "Delete a live secret on behalf of a key holder",
                "parameters": [_id_param()],
                "requestBody": _proof_body("ProofRequest"),
                "responses": {
                    "200": _json(ref("Burned"), "Burned now"),
                    **_errors(*_JSON_ERRORS, 410, 507),
                },
            }
        },
        "/api/v1/receipts/status": {
            "post": {
                "operationId": "receiptStatus",
                "summary": "What happened to a secret, for its sender",
                "requestBody": _proof_body("ReceiptRequest"),
                "responses": {
                    "200": _json(ref("Receipt"), "The receipt"),
                    **_errors(*_JSON_ERRORS),
                },
            }
        },
        "/api/v1/receipts/status/batch": {
            "post": {
                "operationId": "receiptStatuses",
                "summary": "What happened to up to 100 secrets, for their sender",
                "description": (
                    f"Up to {MAX_BATCH_RECEIPTS} receipt tokens in one request (one rate-limit"
                    " token). Answers in the request's order: each receipt as /receipts/status"
                    " answers it, or null where that answers 404 (unknown, forged or purged)."
                ),
                "requestBody": _proof_body("ReceiptBatchRequest"),
                "responses": {
                    "200": _json(ref("ReceiptBatch"), "The receipts, in order"),
                    **_errors(*_JSON_ERRORS),
                    "422": _error(
                        f"More than {MAX_BATCH_RECEIPTS} receipts (too_many_receipts)",
                        "RangeError",
                    ),
                },
            }
        },
        "/api/v1/receipts/burn": {
            "post": {
                "operationId": "receiptBurn",
                "summary": "Burn a pending secret by its receipt (idempotent)",
                "requestBody": _proof_body("ReceiptRequest"),
                "responses": {
                    "200": _json(ref("Receipt"), "The receipt after the burn"),
                    **_errors(*_JSON_ERRORS, 507),
                },
            }
        },
        **request_paths(_json, _errors, _JSON_ERRORS),
        "/api/v1/limits": {
            "get": {
                "operationId": "limits",
                "summary": "The server's published limits",
                "responses": {"200": _json(ref("Limits"), "Limits"), **_errors(405)},
            }
        },
        "/api/v1/account": {
            "get": {
                "operationId": "account",
                "summary": "The account of the token: email, limits, token names",
                "security": TOKEN,
                "responses": {"200": _json(ref("Account"), "The account"), **_errors(405)},
            }
        },
        "/api/v1/account/receipts": {
            "get": {
                "operationId": "accountReceipts",
                "summary": "Receipts of the account's secrets, newest first",
                "security": TOKEN,
                "parameters": [
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                        "description": "How many receipts at most (default 100)",
                    }
                ],
                "responses": {
                    "200": _json(ref("Receipts"), "The receipts"),
                    **_errors(400, 405),
                },
            }
        },
        **page_paths(_json, _errors),
    }
    _add_authentication(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ots",
            "version": "1",
            "description": "One-time secrets; the server stores only ciphertext. See docs/API.md.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An account token: ots_ followed by 43 base64url characters",
                }
            },
        },
    }
