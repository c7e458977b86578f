"""The component schemas of the API description (:mod:`ots_server.openapi`).

The base64url patterns encode canonical form: the last character of a 16-byte value carries 4
zero bits, of a 32-byte value 2 zero bits.
"""

from __future__ import annotations

from typing import Any

from ots_server.codec import MAX_BATCH_RECEIPTS

ID_PATTERN = "^[A-Za-z0-9_-]{21}[AQgw]$"
B32_PATTERN = "^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"
RECEIPT_PATTERN = "^otsr_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$"
NAME_PATTERN = "^[A-Za-z0-9._-]{1,64}$"

_TIME = {"type": "integer", "description": "Unix seconds"}
_NULLABLE_TIME = {"type": ["integer", "null"], "description": "Unix seconds"}

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


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def build_schemas() -> dict[str, Any]:
    b32 = {"type": "string", "pattern": B32_PATTERN}
    schemas: dict[str, Any] = {
        "Error": {
            "type": "object",
            "required": ["error", "detail"],
            "properties": {"error": {"type": "string"}, "detail": {"type": "string"}},
        },
        "AttemptsError": {
            "allOf": [
                ref("Error"),
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
                ref("Error"),
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
        "AuthOrAttemptsError": {"anyOf": [ref("AttemptsError"), ref("Error")]},
        "BindingError": {
            "allOf": [
                ref("Error"),
                {
                    "type": "object",
                    "properties": {
                        "error": {"enum": ["id_token_required", "id_token_rejected"]},
                        "binding": {"type": "string", "maxLength": 255},
                    },
                },
            ]
        },
        "AttemptsOrBindingError": {"anyOf": [ref("AttemptsError"), ref("BindingError")]},
        "TooLargeError": {
            "allOf": [
                ref("Error"),
                {"type": "object", "required": ["max_bytes"],
                 "properties": {"max_bytes": {"type": "integer"}}},
            ]
        },
        "RangeError": {
            "allOf": [
                ref("Error"),
                {"type": "object", "required": ["min", "max"],
                 "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}}},
            ]
        },
        "RateLimitedError": {
            "allOf": [
                ref("Error"),
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
        "ReceiptBatchRequest": {
            "type": "object",
            "required": ["receipts"],
            "additionalProperties": False,
            "properties": {
                "receipts": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_BATCH_RECEIPTS,
                    "items": {"type": "string", "pattern": RECEIPT_PATTERN},
                }
            },
        },
        "ReceiptBatch": {
            "type": "object",
            "required": ["receipts"],
            "properties": {
                "receipts": {
                    "type": "array",
                    "items": {"anyOf": [ref("Receipt"), {"type": "null"}]},
                }
            },
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
                "passphrase", "attempts_left", "binding",
            ],
            "properties": {
                "id": {"type": "string", "pattern": ID_PATTERN},
                "header": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9_-]+$",
                    "description": "Unpadded base64url of the blob's first header_length bytes",
                },
                "size": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Length in bytes of the whole blob (header and ciphertext): "
                    "what a reveal sends",
                },
                "created_at": _TIME,
                "expires_at": _TIME,
                "views_left": {"type": "integer", "minimum": 1},
                "passphrase": {"type": "boolean"},
                "attempts_left": {"type": ["integer", "null"], "minimum": 1},
                "binding": {
                    "type": ["string", "null"],
                    "maxLength": 255,
                    "description": "The CI identity the secret is bound to (FORMAT.md, "
                    "Binding), or null",
                },
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
            "required": [*_LIMITS, "public_url", "require_account"],
            "properties": {
                **{name: {"type": "integer", "minimum": 0} for name in _LIMITS},
                "public_url": {"type": ["string", "null"]},
                "require_account": {"type": "boolean"},
            },
        },
        "Account": {
            "type": "object",
            "required": ["email", "created_at", "limits", "tokens"],
            "properties": {
                "email": {"type": "string"},
                "created_at": _TIME,
                "limits": ref("Limits"),
                "tokens": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "created_at", "last_used"],
                        "properties": {
                            "name": {"type": "string", "pattern": NAME_PATTERN},
                            "created_at": _TIME,
                            "last_used": {
                                "anyOf": [
                                    {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                                    {"type": "null"},
                                ],
                                "description": "UTC day of the last request with this token",
                            },
                        },
                    },
                },
            },
        },
        "Receipts": {
            "type": "object",
            "required": ["receipts"],
            "properties": {"receipts": {"type": "array", "items": ref("Receipt")}},
        },
        "Status": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string"}},
        },
    }  # fmt: skip
    return schemas
