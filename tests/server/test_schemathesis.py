"""The served OpenAPI document stays true: schemathesis fuzzes every operation in process
(no 5xx; status codes, content types, headers and bodies as documented), and the success
answers of a real secret's lifecycle, and of a request's, are validated against the same
document."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ots_server.app import create_app
from ots_server.settings import Settings
from ots_server.store.sqlite.store import SQLiteStore

from .request_support import SimRequest, sealed_answer
from .support import CREATE_TYPE, SimAccount, SimSecret


def negative_data_rejected(ctx: Any, response: Any, case: Any) -> bool | None:
    """schemathesis's negative_data_rejection, with 413 also a rejection: a generated body
    past an endpoint's documented byte limit (8 KiB for a receipt batch, say: a few hundred
    long items) is refused for its size before its shape is read, and status_code_conformance
    still holds the 413 to the document."""
    if response.status_code == 413:
        return None
    return negative_data_rejection(ctx, response, case)


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejected,
]


# schemathesis's lazy fixture loader does not work with pytest 9, so the schema (and the app
# and store behind it) are built at import, on a temporary directory removed after the module.
schemathesis.serializer.alias(CREATE_TYPE, "application/octet-stream")
_DIR = Path(tempfile.mkdtemp(prefix="ots-schemathesis-"))
_STORE = SQLiteStore(_DIR / "fuzz.sqlite3")
_APP = create_app(Settings(data_dir=_DIR, rate_limit_per_minute=0), _STORE)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _APP)


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    _STORE.close_sync()
    shutil.rmtree(_DIR, ignore_errors=True)


@pytest.fixture
def api_schema() -> Any:
    return schema


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_description(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


def test_lifecycle_answers_match_the_description(api_schema: Any) -> None:
    """Fuzzing cannot know a proof; a scripted lifecycle covers the 2xx and 4xx answers."""
    secret = SimSecret.make(passphrase=True)
    sid = {"id": secret.sid}

    def call(path: str, method: str, status: int, **kwargs: Any) -> Any:
        case = api_schema[path][method].Case(**kwargs)
        response = case.call()
        assert response.status_code == status, response.text
        case.validate_response(response, checks=CHECKS[:-1])
        return response

    created = call(
        "/api/v1/secrets", "POST", 201, body=secret.frame(views=2), media_type=CREATE_TYPE
    )
    receipt = {"receipt": created.json()["receipt"]}
    call("/api/v1/secrets", "POST", 409, body=secret.frame(), media_type=CREATE_TYPE)
    call("/api/v1/secrets", "POST", 422, body=secret.frame(ttl=1), media_type=CREATE_TYPE)
    call("/api/v1/secrets/{id}/peek", "POST", 200, path_parameters=sid, body=secret.proof_body())
    call("/api/v1/secrets/{id}/reveal", "POST", 401, path_parameters=sid, body=secret.proof_body())
    wrong = secret.reveal_body(passphrase_proof=b"\x01" * 32)
    call("/api/v1/secrets/{id}/reveal", "POST", 403, path_parameters=sid, body=wrong)
    call("/api/v1/secrets/{id}/reveal", "POST", 200, path_parameters=sid, body=secret.reveal_body())
    call("/api/v1/receipts/status", "POST", 200, body=receipt)
    forged = "otsr_" + "A" * 43
    batch = call(
        "/api/v1/receipts/status/batch",
        "POST",
        200,
        body={"receipts": [receipt["receipt"], forged]},
    )
    assert [r and r["state"] for r in batch.json()["receipts"]] == ["pending", None]
    too_many = {"receipts": [forged] * 101}
    call("/api/v1/receipts/status/batch", "POST", 422, body=too_many)
    call("/api/v1/secrets/{id}/burn", "POST", 200, path_parameters=sid, body=secret.proof_body())
    call("/api/v1/secrets/{id}/peek", "POST", 410, path_parameters=sid, body=secret.proof_body())
    call("/api/v1/receipts/burn", "POST", 200, body=receipt)


def test_account_answers_match_the_description(api_schema: Any) -> None:
    """Fuzzing cannot know a token either: the account endpoints, a create under the account
    limits, and 401s for a bad token on endpoints where a token is optional."""
    account = SimAccount.make()
    asyncio.run(_STORE.create_account(account.new_account(int(time.time()))))
    bad = {"Authorization": "Bearer ots_" + "A" * 43}
    secret = SimSecret.make()
    sid = {"id": secret.sid}

    def call(path: str, method: str, status: int, **kwargs: Any) -> Any:
        case = api_schema[path][method].Case(**kwargs)
        response = case.call()
        assert response.status_code == status, response.text
        case.validate_response(response, checks=CHECKS[:-1])
        return response

    month = secret.frame(ttl=30 * 24 * 3600)
    call(
        "/api/v1/secrets", "POST", 201, body=month, media_type=CREATE_TYPE, headers=account.headers
    )
    call("/api/v1/secrets", "POST", 401, body=month, media_type=CREATE_TYPE, headers=bad)
    call("/api/v1/limits", "GET", 200, headers=account.headers)
    call("/api/v1/limits", "GET", 401, headers=bad)
    call("/api/v1/account", "GET", 200, headers=account.headers)
    call("/api/v1/account", "GET", 401)
    receipts = call("/api/v1/account/receipts", "GET", 200, headers=account.headers)
    assert [r["id"] for r in receipts.json()["receipts"]] == [secret.sid]
    call("/api/v1/account/receipts", "GET", 200, headers=account.headers, query={"limit": 1})
    call(
        "/api/v1/secrets/{id}/reveal",
        "POST",
        401,
        path_parameters=sid,
        body=secret.proof_body(),
        headers=bad,
    )
    call("/api/v1/receipts/status", "POST", 401, body={"receipt": "otsr_" + "A" * 43}, headers=bad)


def test_request_answers_match_the_description(api_schema: Any) -> None:
    """The request endpoints' lifecycle (fuzzing cannot know their proofs either)."""
    request = SimRequest.make()
    rid = {"id": request.rid}

    def call(path: str, status: int, **kwargs: Any) -> Any:
        case = api_schema[path]["POST"].Case(**kwargs)
        response = case.call()
        assert response.status_code == status, response.text
        case.validate_response(response, checks=CHECKS[:-1])
        return response

    base = "/api/v1/requests/{id}"
    call("/api/v1/requests", 201, body=request.create_body(ttl=None))
    call("/api/v1/requests", 409, body=request.create_body())
    call("/api/v1/requests", 422, body=SimRequest.make().create_body(ttl=1))
    call(f"{base}/peek", 200, path_parameters=rid, body=request.answer_proof_body())
    call(f"{base}/status", 200, path_parameters=rid, body=request.owner_body())
    short = request.answer_body(sealed_answer()[:95])
    call(f"{base}/answer", 400, path_parameters=rid, body=short)
    call(f"{base}/answer", 201, path_parameters=rid, body=request.answer_body(sealed_answer()))
    call(f"{base}/answer", 409, path_parameters=rid, body=request.answer_body(sealed_answer()))
    answered = call(f"{base}/status", 200, path_parameters=rid, body=request.owner_body())
    assert answered.json()["state"] == "answered"
    call(f"{base}/peek", 404, path_parameters=rid, body=request.owner_body())
    call(f"{base}/close", 200, path_parameters=rid, body=request.owner_body())
    call(f"{base}/close", 410, path_parameters=rid, body=request.owner_body())
    call(f"{base}/peek", 410, path_parameters=rid, body=request.answer_proof_body())
