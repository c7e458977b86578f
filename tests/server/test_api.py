"""The HTTP API of docs/API.md, in process (TestClient, real SQLite file, fake clock)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from ots_server.app import create_app
from ots_server.settings import DAY, Settings
from ots_server.store import Store
from ots_server.store.sqlite.store import SQLiteStore

from .support import START, FakeClock, SimSecret, assert_error, b64, create, post, reveal_messages


def test_create_answers_201_with_receipt(client: TestClient) -> None:
    secret = SimSecret.make()
    response = create(client, secret, ttl=120, views=2)
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == secret.sid
    assert re.fullmatch(r"otsr_[A-Za-z0-9_-]{43}", body["receipt"])
    assert (body["created_at"], body["expires_at"]) == (START, START + 120)
    assert (body["views"], body["attempts"]) == (2, None)


def test_create_defaults(client: TestClient) -> None:
    secret = SimSecret.make(passphrase=True)
    body = create(client, secret).json()
    assert body["expires_at"] - body["created_at"] == DAY
    assert (body["views"], body["attempts"]) == (1, 5)


def test_create_existing_id_is_409(client: TestClient) -> None:
    secret = SimSecret.make()
    assert create(client, secret).status_code == 201
    assert_error(create(client, secret), 409, "exists")


def test_receipts_are_unique(client: TestClient) -> None:
    receipts = {create(client, SimSecret.make()).json()["receipt"] for _ in range(5)}
    assert len(receipts) == 5


def test_peek_then_reveal_then_gone(client: TestClient) -> None:
    secret = SimSecret.make(200)
    create(client, secret, ttl=300)
    peek = post(client, secret, "peek", secret.proof_body())
    assert peek.status_code == 200
    assert peek.json() == {
        "id": secret.sid,
        "header": b64(secret.blob[:8]),
        "size": 200,
        "created_at": START,
        "expires_at": START + 300,
        "views_left": 1,
        "passphrase": False,
        "attempts_left": None,
        "binding": None,
    }
    reveal = post(client, secret, "reveal", secret.reveal_body())
    assert reveal.status_code == 200
    assert reveal.headers["content-type"] == "application/octet-stream"
    assert reveal.headers["ots-views-left"] == "0"
    assert reveal.content == secret.blob
    gone = assert_error(post(client, secret, "reveal", secret.reveal_body()), 410, "gone")
    assert (gone["state"], gone["at"]) == ("consumed", START)


def test_views_left_header_counts_down(client: TestClient) -> None:
    secret = SimSecret.make()
    create(client, secret, views=3)
    lefts = [post(client, secret, "reveal", secret.reveal_body()) for _ in range(3)]
    assert [r.headers["ots-views-left"] for r in lefts] == ["2", "1", "0"]
    assert all(r.content == secret.blob for r in lefts)


@pytest.mark.anyio
async def test_reveal_streams_the_blob_in_slices_with_content_length(
    settings: Settings, sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    app = create_app(settings, sqlite_store, clock=clock)
    secret = SimSecret.make(200_000)
    await sqlite_store.create(secret.new_secret(START))
    sent = await reveal_messages(app, secret)
    start, *bodies = sent
    headers = dict(start["headers"])
    assert start["status"] == 200
    assert headers[b"content-length"] == b"200000"
    assert b"transfer-encoding" not in headers
    pieces = [bytes(m["body"]) for m in bodies if m.get("body")]
    assert [len(piece) for piece in pieces] == [65536, 65536, 65536, 200_000 - 3 * 65536]
    assert b"".join(pieces) == secret.blob


def test_blob_of_exactly_max_bytes_round_trips(tmp_path: Path, clock: FakeClock) -> None:
    store = SQLiteStore(tmp_path / "max.sqlite3")
    app = create_app(Settings(data_dir=tmp_path, max_bytes=50_000), store, clock=clock)
    try:
        with TestClient(app) as client:
            secret = SimSecret.make(50_000)
            assert create(client, secret).status_code == 201
            assert post(client, secret, "reveal", secret.reveal_body()).content == secret.blob
            assert_error(create(client, SimSecret.make(50_001)), 413, "too_large")
    finally:
        store.close_sync()


def _not_found_answers(client: TestClient, clock: FakeClock) -> list[httpx.Response]:
    """Every case a caller without the key must not be able to tell apart."""
    consumed, expired, burned, live = (SimSecret.make() for _ in range(4))
    for secret in (consumed, expired, burned, live):
        create(client, secret, ttl=60)
    post(client, consumed, "reveal", consumed.reveal_body())
    post(client, burned, "burn", burned.proof_body())
    wrong = os.urandom(32)
    answers = [
        post(client, SimSecret.make(), "reveal", SimSecret.make().reveal_body()),  # never existed
        post(client, live, "reveal", live.reveal_body(proof=wrong)),
        post(client, consumed, "reveal", consumed.reveal_body(proof=wrong)),
        post(client, burned, "reveal", burned.reveal_body(proof=wrong)),
        post(client, SimSecret.make(), "peek", SimSecret.make().proof_body()),
        post(client, SimSecret.make(), "burn", SimSecret.make().proof_body()),
        post(client, live, "peek", live.proof_body(proof=wrong)),
        post(client, live, "burn", live.proof_body(proof=wrong)),
        client.post("/api/v1/secrets/not-an-id/reveal", json=live.reveal_body()),
        client.post(f"/api/v1/secrets/{live.sid}=/reveal", json=live.reveal_body()),
        client.post(f"/api/v1/secrets/{live.sid[:-1]}/peek", json=live.proof_body()),
        # Paths under /api/v1/secrets/ that are no endpoint: answered by the router.
        client.post(f"/api/v1/secrets/{live.sid}", json=live.reveal_body()),
        client.post(f"/api/v1/secrets/{live.sid}/open", json=live.reveal_body()),
        client.post(f"/api/v1/secrets/{live.sid}/reveal/", json=live.reveal_body()),
        client.post(f"/api/v1/secrets/{live.sid}/reveal/again", json=live.reveal_body()),
        client.post("/api/v1/secrets/", json=live.reveal_body()),
        client.get(f"/api/v1/secrets/{live.sid}"),
        # Unknown receipts and paths get the same bytes too.
        client.post("/api/v1/receipts/status", json={"receipt": "otsr_" + b64(wrong)}),
        client.post("/api/v1/receipts/burn", json={"receipt": "otsr_" + b64(wrong)}),
        client.get("/nowhere"),
    ]
    clock.advance(61)
    answers.append(post(client, expired, "reveal", expired.reveal_body(proof=wrong)))
    answers.append(post(client, expired, "peek", expired.proof_body(proof=wrong)))
    return answers


def test_everyone_without_the_key_gets_the_identical_404(
    client: TestClient, clock: FakeClock
) -> None:
    answers = _not_found_answers(client, clock)
    first = answers[0]
    assert_error(first, 404, "not_found")
    assert (
        first.content == b'{"error":"not_found","detail":"not found, or the proof does not match"}'
    )
    for index, answer in enumerate(answers[1:], start=1):
        assert answer.status_code == 404, index
        assert answer.content == first.content, (index, answer.content)
        assert answer.headers.items() == first.headers.items(), index


def test_key_holder_learns_each_state(client: TestClient, clock: FakeClock) -> None:
    consumed, burned, expired = (SimSecret.make() for _ in range(3))
    for secret in (consumed, burned, expired):
        create(client, secret, ttl=60)
    clock.advance(5)
    post(client, consumed, "reveal", consumed.reveal_body())
    burn = post(client, burned, "burn", burned.proof_body())
    assert burn.json() == {"id": burned.sid, "state": "burned", "at": START + 5}
    clock.advance(60)
    for secret, state, at in (
        (consumed, "consumed", START + 5),
        (burned, "burned", START + 5),
        (expired, "expired", START + 60),
    ):
        for action in ("peek", "reveal", "burn"):
            body = assert_error(post(client, secret, action, secret.reveal_body()), 410, "gone")
            assert (body["state"], body["at"]) == (state, at), (action, state)


def test_peek_and_burn_with_wrong_proof_change_nothing(client: TestClient) -> None:
    secret = SimSecret.make()
    create(client, secret)
    wrong = secret.proof_body(os.urandom(32))
    for action in ("peek", "burn", "reveal"):
        assert_error(post(client, secret, action, wrong), 404, "not_found")
    assert post(client, secret, "reveal", secret.reveal_body()).content == secret.blob


# -- passphrase ------------------------------------------------------------------------------


def _attempts_left(client: TestClient, secret: SimSecret) -> int:
    return int(post(client, secret, "peek", secret.proof_body()).json()["attempts_left"])


def test_wrong_link_proof_spends_no_attempt(client: TestClient) -> None:
    secret = SimSecret.make(passphrase=True)
    create(client, secret, attempts=3)
    for _ in range(10):
        answer = post(
            client,
            secret,
            "reveal",
            secret.reveal_body(proof=os.urandom(32), passphrase_proof=os.urandom(32)),
        )
        assert_error(answer, 404, "not_found")
    assert _attempts_left(client, secret) == 3


def test_missing_passphrase_proof_is_401_and_spends_nothing(client: TestClient) -> None:
    secret = SimSecret.make(passphrase=True)
    create(client, secret, attempts=3)
    for body in (secret.proof_body(), {**secret.proof_body(), "passphrase_proof": None}):
        answer = assert_error(post(client, secret, "reveal", body), 401, "passphrase_required")
        assert answer["attempts_left"] == 3
    assert _attempts_left(client, secret) == 3


def test_wrong_passphrase_spends_exactly_one_and_the_last_burns(client: TestClient) -> None:
    secret = SimSecret.make(passphrase=True)
    create(client, secret, attempts=3)
    wrong = secret.reveal_body(passphrase_proof=os.urandom(32))
    for left in (2, 1):
        answer = assert_error(post(client, secret, "reveal", wrong), 403, "wrong_passphrase")
        assert (answer["attempts_left"], answer["burned"]) == (left, False)
        assert _attempts_left(client, secret) == left
    answer = assert_error(post(client, secret, "reveal", wrong), 403, "wrong_passphrase")
    assert (answer["attempts_left"], answer["burned"]) == (0, True)
    gone = assert_error(post(client, secret, "reveal", secret.reveal_body()), 410, "gone")
    assert gone["state"] == "burned"


def test_right_passphrase_reveals(client: TestClient) -> None:
    secret = SimSecret.make(passphrase=True)
    create(client, secret)
    post(client, secret, "reveal", secret.reveal_body(passphrase_proof=os.urandom(32)))
    answer = post(client, secret, "reveal", secret.reveal_body())
    assert (answer.status_code, answer.content) == (200, secret.blob)


@pytest.mark.anyio
async def test_concurrent_wrong_passphrases_never_go_below_zero(
    settings: Settings, sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    app = create_app(settings, sqlite_store, clock=clock)
    secret = SimSecret.make(passphrase=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ots.test") as client:
        created = await client.post(
            "/api/v1/secrets",
            content=secret.frame(attempts=4),
            headers={"Content-Type": "application/vnd.ots.secret"},
        )
        assert created.status_code == 201
        wrong = secret.reveal_body(passphrase_proof=os.urandom(32))
        answers = await asyncio.gather(
            *(client.post(f"/api/v1/secrets/{secret.sid}/reveal", json=wrong) for _ in range(24))
        )
    tries = sorted(
        (a.json()["attempts_left"], a.json()["burned"]) for a in answers if a.status_code == 403
    )
    assert tries == [(0, True), (1, False), (2, False), (3, False)]
    assert sorted({a.status_code for a in answers}) == [403, 410]


# -- expiry and receipts ---------------------------------------------------------------------


def test_expiry_follows_the_clock(client: TestClient, clock: FakeClock) -> None:
    secret = SimSecret.make()
    create(client, secret, ttl=60)
    clock.advance(59)
    assert post(client, secret, "peek", secret.proof_body()).status_code == 200
    clock.advance(1)
    gone = assert_error(post(client, secret, "reveal", secret.reveal_body()), 410, "gone")
    assert (gone["state"], gone["at"]) == ("expired", START + 60)


def _receipt(client: TestClient, action: str, receipt: str) -> httpx.Response:
    response: httpx.Response = client.post(f"/api/v1/receipts/{action}", json={"receipt": receipt})
    return response


def test_receipt_status_and_burn(client: TestClient, clock: FakeClock) -> None:
    secret = SimSecret.make()
    receipt = create(client, secret, views=2, ttl=100).json()["receipt"]
    status = _receipt(client, "status", receipt)
    assert status.json() == {
        "id": secret.sid,
        "state": "pending",
        "created_at": START,
        "expires_at": START + 100,
        "views": 2,
        "views_left": 2,
        "read_at": None,
        "burned_at": None,
    }
    clock.advance(3)
    post(client, secret, "reveal", secret.reveal_body())
    status = _receipt(client, "status", receipt).json()
    assert (status["state"], status["views_left"], status["read_at"]) == ("pending", 1, START + 3)
    clock.advance(1)
    burned = _receipt(client, "burn", receipt).json()
    assert (burned["state"], burned["burned_at"], burned["read_at"]) == (
        "burned",
        START + 4,
        START + 3,
    )
    assert _receipt(client, "burn", receipt).json() == burned
    assert post(client, secret, "reveal", secret.reveal_body()).json()["state"] == "burned"


def test_receipt_read_and_expired_states(client: TestClient, clock: FakeClock) -> None:
    read, expired = SimSecret.make(), SimSecret.make()
    read_receipt = create(client, read, ttl=60).json()["receipt"]
    expired_receipt = create(client, expired, ttl=60).json()["receipt"]
    post(client, read, "reveal", read.reveal_body())
    clock.advance(60)
    assert _receipt(client, "status", read_receipt).json()["state"] == "read"
    assert _receipt(client, "burn", read_receipt).json()["state"] == "read"
    assert _receipt(client, "status", expired_receipt).json()["state"] == "expired"
    assert _receipt(client, "burn", expired_receipt).json()["state"] == "expired"


def test_receipt_is_purged_after_grace(client: TestClient, clock: FakeClock) -> None:
    receipt = create(client, SimSecret.make(), ttl=60).json()["receipt"]
    clock.advance(60 + 7 * DAY - 1)
    assert _receipt(client, "status", receipt).status_code == 200
    clock.advance(1)
    assert_error(_receipt(client, "status", receipt), 404, "not_found")


def test_unknown_receipt_is_404(client: TestClient) -> None:
    unknown = "otsr_" + b64(os.urandom(32))
    assert_error(_receipt(client, "status", unknown), 404, "not_found")
    assert_error(_receipt(client, "burn", unknown), 404, "not_found")


def test_limits_are_published(tmp_path: Path, sqlite_store: SQLiteStore) -> None:
    settings = Settings(
        data_dir=tmp_path,
        ttl_min=120,
        ttl_max=DAY,
        ttl_default=3600,
        rate_limit_per_minute=30,
        public_url="https://ots.example.org",
    )
    with TestClient(create_app(settings, sqlite_store)) as client:
        limits = client.get("/api/v1/limits").json()
    assert limits == {
        "api_version": 1,
        "ttl_min": 120,
        "ttl_max": DAY,
        "ttl_default": 3600,
        "max_bytes": 1024 * 1024,
        "max_views": 100,
        "max_attempts": 10,
        "default_attempts": 5,
        "rate_limit_per_minute": 30,
        "rate_limit_burst": 30,
        "public_url": "https://ots.example.org",
        "require_account": False,
    }


class _CountingStore:
    """A real store that counts calls, to prove some requests never reach it."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.inner, name)


def test_malformed_ids_never_touch_the_store(
    settings: Settings, sqlite_store: SQLiteStore, clock: FakeClock
) -> None:
    counting = _CountingStore(sqlite_store)
    app = create_app(settings, counting, clock=clock)
    counting.calls.clear()  # building the app may look for a shared rate limiter
    body = SimSecret.make().reveal_body()
    ids = ["x", "A" * 21, "A" * 23, "A" * 21 + "B", "A" * 20 + "=" * 2, "%00" * 16, "é" * 22]
    client = TestClient(app)  # no lifespan: no background sweep or checkpoint to count
    for bad in ids:
        for action in ("peek", "reveal", "burn"):
            response = client.post(f"/api/v1/secrets/{bad}/{action}", json=body)
            assert_error(response, 404, "not_found")
    assert counting.calls == []


def _api_md_peek_fields() -> set[str]:
    """The fields docs/API.md's peek table names (first column, backticked)."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "API.md").read_text()
    section = text[text.index("## Peek:") : text.index("## Reveal:")]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`(\w+)`", row.split("|")[1])}


def test_peek_fields_are_documented_as_the_app_answers(client: TestClient) -> None:
    """docs/API.md and the OpenAPI description say what peek returns, field for field."""
    secret = dataclasses.replace(SimSecret.make(300, passphrase=True), header_length=20)
    create(client, secret)
    answer = post(client, secret, "peek", secret.proof_body()).json()
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]["Peek"]
    assert set(answer) == set(schema["properties"]) == _api_md_peek_fields()
    # header: the blob's first header_length bytes, and header_length itself is not returned.
    header = base64.urlsafe_b64decode(answer["header"] + "=" * (-len(answer["header"]) % 4))
    assert header == secret.blob[: secret.header_length]
    assert "header_length" not in answer
    api_md = (Path(__file__).resolve().parents[2] / "docs" / "API.md").read_text()
    assert "returned by peek" not in api_md
    # size: the whole blob, exactly what a reveal sends.
    revealed = post(client, secret, "reveal", secret.reveal_body())
    assert answer["size"] == len(secret.blob) == len(revealed.content)
    assert answer["size"] == int(revealed.headers["content-length"])
    assert "whole blob" in schema["properties"]["size"]["description"]
    assert "first header_length bytes" in schema["properties"]["header"]["description"]


# -- receipts in a batch ----------------------------------------------------------------------

BATCH = "/api/v1/receipts/status/batch"


def _forged_receipt() -> str:
    return "otsr_" + b64(os.urandom(32))


def test_batch_status_answers_each_receipt_as_the_single_status_does(
    client: TestClient, clock: FakeClock
) -> None:
    read, burned, live = SimSecret.make(), SimSecret.make(), SimSecret.make()
    receipts = [
        create(client, s, views=2 if s is live else 1).json()["receipt"]
        for s in (read, burned, live)
    ]
    post(client, read, "reveal", read.reveal_body())
    client.post("/api/v1/receipts/burn", json={"receipt": receipts[1]})
    asked = [*receipts, _forged_receipt(), receipts[0]]
    answer = client.post(BATCH, json={"receipts": asked})
    assert answer.status_code == 200
    singles = []
    for receipt in asked:
        single = client.post("/api/v1/receipts/status", json={"receipt": receipt})
        singles.append(single.json() if single.status_code == 200 else None)
    assert answer.json() == {"receipts": singles}
    assert [None if r is None else r["state"] for r in singles] == [
        "read", "burned", "pending", None, "read"
    ]  # fmt: skip


def test_batch_status_tells_a_forged_receipt_from_a_purged_one_in_no_way(
    client: TestClient, settings: Settings, clock: FakeClock
) -> None:
    secret = SimSecret.make()
    purged = create(client, secret, ttl=60).json()["receipt"]
    clock.advance(60 + settings.receipt_grace)
    forged = client.post(BATCH, json={"receipts": [_forged_receipt()]})
    gone = client.post(BATCH, json={"receipts": [purged]})
    assert (forged.status_code, forged.content) == (gone.status_code, gone.content)
    assert gone.json() == {"receipts": [None]}
    assert dict(forged.headers) == dict(gone.headers)


def test_batch_status_limits(client: TestClient) -> None:
    receipt = create(client, SimSecret.make()).json()["receipt"]
    full = client.post(BATCH, json={"receipts": [receipt] * 100})
    assert full.status_code == 200
    assert len(full.json()["receipts"]) == 100
    over = assert_error(
        client.post(BATCH, json={"receipts": [receipt] * 101}), 422, "too_many_receipts"
    )
    assert (over["min"], over["max"]) == (1, 100)
    assert "at most 100 receipts" in over["detail"]
    huge = client.post(
        BATCH,
        content=b'{"receipts": [' + b" " * 8200 + b"]}",
        headers={"Content-Type": "application/json"},
    )
    assert assert_error(huge, 413, "too_large")["max_bytes"] == 8192
    bodies: list[dict[str, Any]] = [
        {"receipts": []},
        {"receipts": "otsr_"},
        {"receipts": [receipt, "otsr_x"]},
        {"receipt": receipt},
        {"receipts": [receipt], "more": 1},
    ]
    for body in bodies:
        detail = assert_error(client.post(BATCH, json=body), 400, "bad_request")["detail"]
        assert receipt not in detail
