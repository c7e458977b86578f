"""The API description served at ``/api/v1/openapi.json``, written by hand to match docs/API.md.

tests/server/test_schemathesis.py runs schemathesis against the app with this document, so a
status code, content type, header or body shape the app sends but this document does not
declare (or the reverse, for valid data) fails the suite. The base64url patterns encode
canonical form: the last character of a 16-byte value carries 4 zero bits, of a 32-byte
value 2 zero bits.
"""

from __future__ import annotations

from typing import Any

from ots_server.bodies import CREATE_MEDIA_TYPE, MAX_HEADER_LENGTH, MAX_META_BYTES

ID_PATTERN = "^[A-Za-z0-9_-]{21}[AQgw]$"
B32_PATTERN = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"
RECEIPT_PATTERN = "^otsr_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"

_TIME = {"type": "integer", "description": "Unix seconds"}
_NULLABLE_TIME = {"type": ["integer", "null"], "description": "Unix seconds"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    content = {"application/json": {"schema": schema}}
    return {"description": description, "content": content, **extra}


def _error(description: str, schema: str = "Error", **extra: Any) -> dict[str, Any]:
    return _json(_ref(schema), description, **extra)


def _errors(*statuses: int) -> dict[str, Any]:
    known = {
        400: _error("Malformed body, field, base64 or frame"),
        401: _error("Passphrase proof required; nothing was spent", "AttemptsError"),
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
            "Rate limited",
            "RateLimitedError",
            headers={
                "Retry-After": {"schema": {"type": "integer", "minimum": 1}, "required": True}
            },
        ),
        503: _error(
            "The store is unavailable, or (create) too many uploads are in progress",
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
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


_LIMITS = (
    "api_version",
    "ttl_min",
    "ttl_max",
    "ttl_default",
    "max_bytes",
    "max_views",
    "max_attempts",
    "default_attempts",
    "rate_limit_per_minute",
    "rate_limit_burst",
)
_JSON_ERRORS = (400, 404, 405, 408, 413, 415, 429, 503)


def build_openapi() -> dict[str, Any]:
    b32 = {"type": "string", "pattern": B32_PATTERN}
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error", "detail"],
            "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
        },
        "AttemptsError": {
            "allOf": [
                _ref("Error"),
                {
                    "type": "object",
                    "required": ["attempts_left"],
                    "properties": {
                        "attempts_left": {"type": "integer", "minimum": 0},
                        "burned": {"type": "boolean"},
                    },
                },
            ]
        },
        "GoneError": {
            "allOf": [
                _ref("Error"),
                {
                    "type": "object",
                    "required": ["state", "at"],
                    "properties": {
                        "state": {"enum": ["consumed", "burned", "expired"]},
                        "at": _TIME,
                    },
                },
            ]
        },
        "TooLargeError": {
            "allOf": [
                _ref("Error"),
                {"type": "object", "required": ["max_bytes"],
                 "properties": {"max_bytes": {"type": "integer"}}},
            ]
        },
        "RangeError": {
            "allOf": [
                _ref("Error"),
                {"type": "object", "required": ["min", "max"],
                 "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}}},
            ]
        },
        "RateLimitedError": {
            "allOf": [
                _ref("Error"),
                {"type": "object", "required": ["retry_after"],
                 "properties": {"retry_after": {"type": "integer", "minimum": 1}}},
            ]
        },
        "ProofRequest": {
            "type": "object",
            "required": ["proof"],
            "additionalProperties": False,
            "properties": {"proof": b32},
        },
        "RevealRequest": {
            "type": "object",
            "required": ["proof"],
            "additionalProperties": False,
            "properties": {"proof": b32, "passphrase_proof": {"anyOf": [b32, {"type": "null"}]}},
        },
        "ReceiptRequest": {
            "type": "object",
            "required": ["receipt"],
            "additionalProperties": False,
            "properties": {"receipt": {"type": "string", "pattern": RECEIPT_PATTERN}},
        },
        "Created": {
            "type": "object",
            "required": ["id", "receipt", "created_at", "expires_at", "views", "attempts"],
            "properties": {
                "id": {"type": "string", "pattern": ID_PATTERN},
                "receipt": {"type": "string", "pattern": RECEIPT_PATTERN},
                "created_at": _TIME,
                "expires_at": _TIME,
                "views": {"type": "integer", "minimum": 1},
                "attempts": {"type": ["integer", "null"], "minimum": 1},
            },
        },
        "Peek": {
            "type": "object",
            "required": [
                "id", "header", "size", "created_at", "expires_at", "views_left",
                "passphrase", "attempts_left",
            ],
            "properties": {
                "id": {"type": "string", "pattern": ID_PATTERN},
                "header": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$"},
                "size": {"type": "integer", "minimum": 1},
                "created_at": _TIME,
                "expires_at": _TIME,
                "views_left": {"type": "integer", "minimum": 1},
                "passphrase": {"type": "boolean"},
                "attempts_left": {"type": ["integer", "null"], "minimum": 1},
            },
        },
        "Burned": {
            "type": "object",
            "required": ["id", "state", "at"],
            "properties": {
                "id": {"type": "string", "pattern": ID_PATTERN},
                "state": {"const": "burned"},
                "at": _TIME,
            },
        },
        "Receipt": {
            "type": "object",
            "required": [
                "id", "state", "created_at", "expires_at", "views", "views_left",
                "read_at", "burned_at",
            ],
            "properties": {
                "id": {"type": "string", "pattern": ID_PATTERN},
                "state": {"enum": ["pending", "read", "burned", "expired"]},
                "created_at": _TIME,
                "expires_at": _TIME,
                "views": {"type": "integer", "minimum": 1},
                "views_left": {"type": "integer", "minimum": 0},
                "read_at": _NULLABLE_TIME,
                "burned_at": _NULLABLE_TIME,
            },
        },
        "Limits": {
            "type": "object",
            "required": [*_LIMITS, "public_url"],
            "properties": {
                **{name: {"type": "integer", "minimum": 0} for name in _LIMITS},
                "public_url": {"type": ["string", "null"]},
            },
        },
        "Status": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string"}},
        },
    }  # fmt: skip
    secret_path = "/api/v1/secrets/{id}"  # noqa: S105 (a URL path)
    paths: dict[str, Any] = {
        "/api/v1/secrets": {
            "post": {
                "operationId": "createSecret",
                "summary": "Store a secret (201 only after a durable commit)",
                "description": (
                    f"Body: u32 big-endian meta_length (1..{MAX_META_BYTES}), meta (UTF-8 JSON "
                    "object: id, ttl, views, header_length (1.."
                    f"{MAX_HEADER_LENGTH}), link_verifier, passphrase_verifier, attempts), then "
                    "the blob. See docs/API.md."
                ),
                "requestBody": {
                    "required": True,
                    "content": {
                        CREATE_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}
                    },
                },
                "responses": {
                    "201": _json(_ref("Created"), "Stored"),
                    **_errors(400, 405, 408, 409, 413, 415, 422, 429, 503, 507),
                },
            }
        },
        f"{secret_path}/peek": {
            "post": {
                "operationId": "peekSecret",
                "summary": "Describe a live secret to a key holder; changes nothing",
                "parameters": [_id_param()],
                "requestBody": _proof_body("ProofRequest"),
                "responses": {
                    "200": _json(_ref("Peek"), "The secret is live"),
                    **_errors(*_JSON_ERRORS, 410),
                },
            }
        },
        f"{secret_path}/reveal": {
            "post": {
                "operationId": "revealSecret",
                "summary": "Consume one view and return the blob",
                "parameters": [_id_param()],
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
                    **_errors(*_JSON_ERRORS, 401, 403, 410, 507),
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
                    "200": _json(_ref("Burned"), "Burned now"),
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
                    "200": _json(_ref("Receipt"), "The receipt"),
                    **_errors(*_JSON_ERRORS),
                },
            }
        },
        "/api/v1/receipts/burn": {
            "post": {
                "operationId": "receiptBurn",
                "summary": "Burn a pending secret by its receipt (idempotent)",
                "requestBody": _proof_body("ReceiptRequest"),
                "responses": {
                    "200": _json(_ref("Receipt"), "The receipt after the burn"),
                    **_errors(*_JSON_ERRORS, 507),
                },
            }
        },
        "/api/v1/limits": {
            "get": {
                "operationId": "limits",
                "summary": "The server's published limits",
                "responses": {"200": _json(_ref("Limits"), "Limits"), **_errors(405)},
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1"), **_errors(405)},
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness",
                "responses": {"200": _json(_ref("Status"), "Serving"), **_errors(405)},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Readiness: the store answers",
                "responses": {"200": _json(_ref("Status"), "Ready"), **_errors(405, 503)},
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus text format; no ids",
                "responses": {
                    "200": {
                        "description": "Metrics",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **_errors(405),
                },
            }
        },
        "/s/{id}": {
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "Any value; the page is the same for every id",
                }
            ],
            **{
                method: {
                    "operationId": f"linkPage{method.title()}",
                    "summary": "A fixed HTML page for browsers; no data call, no state change",
                    "responses": {
                        "200": {
                            "description": "The page",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        },
                        **_errors(405),
                    },
                }
                for method in ("get", "head")
            },
            "options": {
                "operationId": "linkPageOptions",
                "summary": "Allowed methods",
                "responses": {"204": {"description": "No content"}, **_errors(405)},
            },
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ots",
            "version": "1",
            "description": "One-time secrets; the server stores only ciphertext. See docs/API.md.",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }
