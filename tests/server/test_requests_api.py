"""The request endpoints of docs/API.md "Requests", in process (TestClient, real SQLite file,
fake clock): the lifecycle, the account rule, and hostile input answered with declared errors
only, changing nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from ots_server.app import create_app
from ots_server.logs import JsonFormatter
from ots_server.middleware.auth import CHALLENGE
from ots_server.settings import DAY, Settings
from ots_server.store.sqlite.store import SQLiteStore

from .request_support import SimRequest, create_request, request_post, sealed_answer
from .support import START, FakeClock, SimAccount, SimSecret, assert_error, b64, call_asgi, create
from .test_privacy import assert_safe_headers

ACTIONS = ("peek", "answer", "status", "close")


def _bodies(request: SimRequest) -> dict[str, dict[str, str]]:
    """A body each action accepts, with the right proof."""
    return {
        "peek": request.answer_proof_body(),
        "answer": request.answer_body(sealed_answer()),
        "status": request.owner_body(),
        "close": request.owner_body(),
    }


def _gone_everywhere(client: TestClient, request: SimRequest) -> list[tuple[str, int]]:
    found = []
    for action, body in _bodies(request).items():
        gone = assert_error(request_post(client, request, action, body), 410, "gone")
        found.append((gone["state"], gone["at"]))
    return found


def test_lifecycle(client: TestClient, clock: FakeClock) -> None:
    request = SimRequest.make()
    created = create_request(client, request, ttl=600)
    assert created.status_code == 201
    assert created.json() == {"id": request.rid, "created_at": START, "expires_at": START + 600}
    described = {"id": request.rid, "created_at": START, "expires_at": START + 600}
    peek = request_post(client, request, "peek", request.answer_proof_body())
    assert peek.json() == {**described, "state": "open", "answered_at": None}
    status = request_post(client, request, "status", request.owner_body())
    assert status.json() == {**described, "state": "open", "answered_at": None, "sealed": None}
    clock.advance(5)
    sealed = sealed_answer()
    answered = request_post(client, request, "answer", request.answer_body(sealed))
    assert answered.status_code == 201
    assert answered.json() == {
        "id": request.rid,
        "answered_at": START + 5,
        "expires_at": START + 600,
    }
    again = request_post(client, request, "answer", request.answer_body(sealed_answer()))
    assert assert_error(again, 409, "answered")["at"] == START + 5
    peek = request_post(client, request, "peek", request.answer_proof_body())
    assert peek.json() == {**described, "state": "answered", "answered_at": START + 5}
    status = request_post(client, request, "status", request.owner_body())
    assert status.json() == {
        **described,
        "state": "answered",
        "answered_at": START + 5,
        "sealed": b64(sealed),
    }
    clock.advance(1)
    closed = request_post(client, request, "close", request.owner_body())
    assert closed.json() == {"id": request.rid, "state": "closed", "at": START + 6}
    assert _gone_everywhere(client, request) == [("closed", START + 6)] * 4
    assert_error(create_request(client, request), 409, "exists")  # a tombstone holds its id


def test_create_defaults_and_ttl_range(client: TestClient) -> None:
    default = create_request(client, SimRequest.make()).json()
    assert default["expires_at"] - default["created_at"] == DAY
    explicit_null = create_request(client, SimRequest.make(), ttl=None).json()
    assert explicit_null["expires_at"] - explicit_null["created_at"] == DAY
    for ttl in (60, 7 * DAY):
        assert create_request(client, SimRequest.make(), ttl=ttl).status_code == 201
    for ttl in (59, 7 * DAY + 1, 0, -1):
        refused = SimRequest.make()
        error = assert_error(create_request(client, refused, ttl=ttl), 422, "invalid_ttl")
        assert (error["min"], error["max"]) == (60, 7 * DAY)
        assert request_post(client, refused, "peek", refused.answer_proof_body()).status_code == 404
    for wrong in (True, 60.0, "60"):
        assert_error(create_request(client, SimRequest.make(), ttl=wrong), 400, "bad_request")


def test_colliding_ids_are_409_and_change_nothing(client: TestClient) -> None:
    request = SimRequest.make()
    assert create_request(client, request).status_code == 201
    impostor = SimRequest(request.id, os.urandom(32), os.urandom(32))
    assert_error(create_request(client, impostor), 409, "exists")
    assert request_post(client, request, "peek", request.answer_proof_body()).status_code == 200
    assert request_post(client, impostor, "peek", impostor.answer_proof_body()).status_code == 404
    # A secret and a request may share an id: separate namespaces.
    secret = SimSecret(request.id, os.urandom(32), os.urandom(64))
    assert create(client, secret).status_code == 201


def test_expiry_at_exactly_expires_at(client: TestClient, clock: FakeClock) -> None:
    request = SimRequest.make()
    create_request(client, request, ttl=60)
    request_post(client, request, "answer", request.answer_body(sealed_answer()))
    clock.advance(59)
    assert request_post(client, request, "status", request.owner_body()).json()["sealed"]
    clock.advance(1)
    assert _gone_everywhere(client, request) == [("expired", START + 60)] * 4


def test_unknown_request_and_wrong_proofs_get_the_one_404(client: TestClient) -> None:
    secret = SimSecret.make()
    reference = client.post(f"/api/v1/secrets/{secret.sid}/peek", json=secret.proof_body())
    assert reference.status_code == 404
    request = SimRequest.make()
    answers = [request_post(client, request, a, b) for a, b in _bodies(request).items()]
    create_request(client, request)
    crossed = SimRequest(request.id, request.owner_proof, request.answer_proof)
    answers += [request_post(client, crossed, a, b) for a, b in _bodies(crossed).items()]
    for malformed in ("x", request.rid + "A", request.rid[:-1] + "B", "%00", request.rid + "="):
        answers += [
            client.post(f"/api/v1/requests/{malformed}/{action}", json=body)
            for action, body in _bodies(request).items()
        ]
    answers += [client.post(f"/api/v1/requests/{request.rid}", json={})]
    answers += [client.post(f"/api/v1/requests/{request.rid}/nothing", json={})]
    for answer in answers:
        assert (answer.status_code, answer.content) == (404, reference.content)
        assert answer.headers == reference.headers
    status = request_post(client, request, "status", request.owner_body()).json()
    assert (status["state"], status["sealed"]) == ("open", None)  # nothing changed


@pytest.mark.parametrize("size", [0, 1, 48, 95, 97, 128, 1000])
def test_sealed_of_the_wrong_length_is_400_and_changes_nothing(
    client: TestClient, size: int
) -> None:
    request = SimRequest.make()
    create_request(client, request)
    body = request.answer_body(os.urandom(size))
    assert_error(request_post(client, request, "answer", body), 400, "bad_request")
    peek = request_post(client, request, "peek", request.answer_proof_body())
    assert peek.json()["state"] == "open"


@pytest.mark.parametrize(
    "sealed",
    [
        b64(os.urandom(96)) + "=",  # padded
        "+" + b64(os.urandom(96))[1:],  # not base64url
        b64(os.urandom(96))[:-1] + "!",
        None,
        96,
        ["x"],
    ],
)
def test_malformed_sealed_is_400(client: TestClient, sealed: Any) -> None:
    request = SimRequest.make()
    create_request(client, request)
    body = {"proof": b64(request.answer_proof), "sealed": sealed}
    assert_error(request_post(client, request, "answer", body), 400, "bad_request")
    assert request_post(client, request, "status", request.owner_body()).json()["sealed"] is None


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b"{}",
        b'{"proof": null}',
        b'{"proof": 12}',
        b'{"proof": "short"}',
        json.dumps({"proof": b64(os.urandom(32)), "extra": 1}).encode(),
        json.dumps({"proof": b64(os.urandom(32)) + "="}).encode(),
        json.dumps({"proof": b64(os.urandom(33))}).encode(),
        b'{"proof": "x", "proof": "y"}',
        b'{"proof": NaN}',
        b"\xff\xfe",
    ],
)
def test_malformed_proof_bodies_are_400(client: TestClient, body: bytes) -> None:
    request = SimRequest.make()
    create_request(client, request)
    for action in ACTIONS:
        response = client.post(
            f"/api/v1/requests/{request.rid}/{action}",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert_error(response, 400, "bad_request")
    assert request_post(client, request, "peek", request.answer_proof_body()).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"id": ...},
        {"answer_verifier": ...},
        {"owner_verifier": ...},
        {"id": b64(os.urandom(15))},
        {"id": b64(os.urandom(16)) + "="},
        {"answer_verifier": b64(os.urandom(31))},
        {"owner_verifier": "B" * 43},  # non-canonical: the last character's low bits set
        {"extra": 1},
        {"proof": b64(os.urandom(32))},
    ],
)
def test_malformed_creates_are_400_and_store_nothing(
    client: TestClient, change: dict[str, Any]
) -> None:
    request = SimRequest.make()
    assert_error(create_request(client, request, **change), 400, "bad_request")
    assert request_post(client, request, "peek", request.answer_proof_body()).status_code == 404


def test_json_bodies_need_json(client: TestClient) -> None:
    request = SimRequest.make()
    body = json.dumps(request.create_body()).encode()
    for content_type in ("text/plain", "application/json; charset=latin-1", ""):
        headers = {"Content-Type": content_type} if content_type else {}
        response = client.post("/api/v1/requests", content=body, headers=headers)
        assert_error(response, 415, "unsupported_media_type")


def test_oversized_bodies_are_413(client: TestClient) -> None:
    request = SimRequest.make()
    create_request(client, request)
    padded = {**request.answer_body(sealed_answer()), "pad": "x" * 5000}
    paths = ["/api/v1/requests", *(f"/api/v1/requests/{request.rid}/{a}" for a in ACTIONS)]
    for path in paths:
        response = client.post(path, content=json.dumps(padded).encode(), headers=_JSON)
        assert assert_error(response, 413, "too_large")["max_bytes"] == 4096
        assert response.headers["connection"] == "close"

    def chunks() -> Iterator[bytes]:
        yield b'{"proof": "'
        for _ in range(10):
            yield b"A" * 1000

    for path in paths:  # chunked: cut off at the limit while streaming
        assert_error(client.post(path, content=chunks(), headers=_JSON), 413, "too_large")
    peek = request_post(client, request, "peek", request.answer_proof_body())
    assert peek.json()["state"] == "open"


_JSON = {"Content-Type": "application/json"}


def test_wrong_methods_are_405(client: TestClient) -> None:
    request = SimRequest.make()
    for method, path in [
        ("GET", "/api/v1/requests"),
        ("PUT", "/api/v1/requests"),
        *(("GET", f"/api/v1/requests/{request.rid}/{a}") for a in ACTIONS),
        ("DELETE", f"/api/v1/requests/{request.rid}/close"),
    ]:
        response = client.request(method, path)
        assert_error(response, 405, "method_not_allowed")
        assert response.headers["allow"] == "POST"


def test_every_answer_has_the_security_headers(client: TestClient) -> None:
    request = SimRequest.make()
    responses = [create_request(client, request), create_request(client, request)]
    responses += [request_post(client, request, a, b) for a, b in _bodies(request).items()]
    responses += [request_post(client, request, a, b) for a, b in _bodies(request).items()]
    responses += [create_request(client, SimRequest.make(), ttl=1)]
    assert {r.status_code for r in responses} == {200, 201, 409, 410, 422}
    for response in responses:
        assert_safe_headers(response)


# -- accounts, rate limits, a full store, logs -------------------------------------------------


@pytest.fixture
def strict(tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, rate_limit_per_minute=0, require_account=True)
    with TestClient(create_app(settings, sqlite_store, clock=clock)) as client:
        yield client


def test_require_account_refuses_anonymous_creates_only(
    strict: TestClient, sqlite_store: SQLiteStore
) -> None:
    account = SimAccount.make()
    asyncio.run(sqlite_store.create_account(account.new_account(START)))
    refused = create_request(strict, SimRequest.make())
    assert_error(refused, 401, "account_required")
    assert refused.headers["www-authenticate"] == CHALLENGE
    assert refused.headers["connection"] == "close"
    request = SimRequest.make()
    created = strict.post("/api/v1/requests", json=request.create_body(), headers=account.headers)
    assert created.status_code == 201
    # Answering and everything else never need an account (the requester holds the token).
    for action, body in _bodies(request).items():
        assert request_post(strict, request, action, body).status_code in {200, 201}
    # An account's longer TTL range applies to its requests.
    month = request.create_body(id=b64(os.urandom(16)), ttl=30 * DAY)
    assert strict.post("/api/v1/requests", json=month, headers=account.headers).status_code == 201


@pytest.mark.anyio
async def test_require_account_answers_before_reading_the_body(
    tmp_path: Path, sqlite_store: SQLiteStore
) -> None:
    app = create_app(Settings(data_dir=tmp_path, require_account=True), sqlite_store)
    body = json.dumps(SimRequest.make().create_body()).encode()
    status, headers, _, pulled = await call_asgi(
        app, "/api/v1/requests", {"Content-Type": "application/json"}, [body[:10], body[10:]]
    )
    assert (status, pulled) == (401, 0)
    assert headers["connection"] == "close"


def test_request_endpoints_are_rate_limited(
    tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    settings = Settings(data_dir=tmp_path, rate_limit_per_minute=60, rate_limit_burst=3)
    with TestClient(create_app(settings, sqlite_store, clock=clock)) as client:
        request = SimRequest.make()
        statuses = [create_request(client, request).status_code]
        statuses += [
            request_post(client, request, "peek", request.answer_proof_body()).status_code
            for _ in range(3)
        ]
        assert statuses == [201, 200, 200, 429]
        clock.advance(1)
        assert request_post(client, request, "status", request.owner_body()).status_code == 200


def test_a_full_store_refuses_new_requests_with_507(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "full.sqlite3"
    first = SQLiteStore(path)
    asked = SimRequest.make()
    asyncio.run(first.create_request(asked.new_request(START)))
    used = asyncio.run(first.used_bytes())
    first.close_sync()
    store = SQLiteStore(path, max_store_bytes=used + 100)
    try:
        settings = Settings(data_dir=tmp_path, rate_limit_per_minute=0)
        with TestClient(create_app(settings, store, clock=clock)) as client:
            refused = create_request(client, SimRequest.make())
            assert_error(refused, 507, "insufficient_storage")
            answer = request_post(client, asked, "answer", asked.answer_body(sealed_answer()))
            assert answer.status_code == 201
    finally:
        store.close_sync()


def test_logs_hold_no_id_proof_verifier_or_answer(
    tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    request = SimRequest.make()
    sealed = sealed_answer()
    with TestClient(create_app(Settings(data_dir=tmp_path), sqlite_store, clock=clock)) as client:
        create_request(client, request)
        request_post(client, request, "peek", request.answer_proof_body())
        request_post(client, request, "answer", request.answer_body(sealed))
        request_post(client, request, "answer", request.answer_body(sealed))
        request_post(client, request, "status", request.owner_body())
        request_post(client, request, "close", request.owner_body())
        request_post(client, request, "status", request.owner_body())
        request_post(client, request, "status", {"proof": "x"})
    records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    text = "\n".join(JsonFormatter().format(record) for record in records)
    assert "/api/v1/requests/{id}/answer" in text
    for value in (
        request.rid,
        b64(request.answer_proof),
        b64(request.owner_proof),
        b64(request.answer_check),
        b64(request.owner_check),
        b64(sealed),
    ):
        assert value not in text, value


def test_metrics_count_request_events(client: TestClient) -> None:
    request = SimRequest.make()
    create_request(client, request)
    request_post(client, request, "answer", request.answer_body(sealed_answer()))
    request_post(client, request, "close", request.owner_body())
    metrics = client.get("/metrics").text
    for event in ("request_created", "request_answered", "request_closed"):
        assert f'ots_events_total{{event="{event}"}} 1' in metrics
    assert request.rid not in metrics
