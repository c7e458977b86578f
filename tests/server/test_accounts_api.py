"""Accounts over HTTP, on a real SQLite file, with accounts made by the operator command on the
same file while the app runs: bearer authentication on every API endpoint, the account
endpoints, revocation on the next request, OTS_REQUIRE_ACCOUNT, account limits and the
per-account rate limit."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from ots_server.accounts import day_text, new_token
from ots_server.app import create_app
from ots_server.cli import main
from ots_server.middleware.auth import CHALLENGE, INVALID
from ots_server.settings import DAY, Settings
from ots_server.store.rules import day
from ots_server.store.sqlite.store import SQLiteStore

from .support import FakeClock, SimSecret, assert_error, create, create_as, post

VALID_SHAPE_UNKNOWN = new_token()[0]


class Operator:
    """``ots-server accounts …`` run in process against the app's store."""

    def __init__(self, url: str, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
        self.url = url
        self.monkeypatch = monkeypatch
        self.capsys = capsys

    def run(self, *argv: str) -> tuple[int, str, str]:
        self.monkeypatch.setenv("OTS_STORE_URL", self.url)
        self.capsys.readouterr()
        code = main(["accounts", *argv])
        out, err = self.capsys.readouterr()
        return code, out, err

    def add(self, email: str, *extra: str) -> dict[str, str]:
        code, out, _ = self.run("add", email, *extra)
        assert code == 0
        return {"Authorization": f"Bearer {out.strip()}"}

    def token(self, email: str, name: str) -> dict[str, str]:
        code, out, _ = self.run("token", "add", email, "--token-name", name)
        assert code == 0
        return {"Authorization": f"Bearer {out.strip()}"}


@pytest.fixture
def operator(
    sqlite_store: SQLiteStore, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Operator:
    return Operator(f"sqlite://{sqlite_store.path}", monkeypatch, capsys)


def _app(tmp_path: Path, store: SQLiteStore, clock: FakeClock, **overrides: Any) -> TestClient:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "rate_limit_per_minute": 0,
        "account_rate_limit_per_minute": 0,
        **overrides,
    }
    app = create_app(Settings(**values), store, clock=clock)
    return TestClient(app, base_url="http://ots.test", client=("192.0.2.7", 4000))


@pytest.fixture
def client(tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock) -> Iterator[TestClient]:
    with _app(tmp_path, sqlite_store, clock) as test_client:
        yield test_client


# -- bad tokens --------------------------------------------------------------------------------

BAD_AUTHORIZATIONS: list[list[tuple[str, str]]] = [
    [("Authorization", f"Bearer {VALID_SHAPE_UNKNOWN}")],  # well formed, never issued
    [("Authorization", f"bearer {VALID_SHAPE_UNKNOWN}")],
    [("Authorization", f"Bearer {VALID_SHAPE_UNKNOWN[:-1]}B")],  # non-canonical base64
    [("Authorization", f"Bearer {VALID_SHAPE_UNKNOWN[:-1]}")],
    [("Authorization", f"Bearer {VALID_SHAPE_UNKNOWN} ")],
    [("Authorization", f"Bearer  {VALID_SHAPE_UNKNOWN}")],
    [("Authorization", f"Token {VALID_SHAPE_UNKNOWN}")],
    [("Authorization", "Basic b3RzOm90cw==")],
    [("Authorization", "Bearer")],
    [("Authorization", "")],
    [("Authorization", "Bearer otsr_" + "A" * 43)],  # a receipt is no token
]


def _every_api_request(client: TestClient, secret: SimSecret, headers: Any) -> list[httpx.Response]:
    receipt = {"receipt": "otsr_" + "A" * 43}
    json_headers = [*headers, ("Content-Type", "application/json")]
    create_headers = [*headers, ("Content-Type", "application/vnd.ots.secret")]
    return [
        client.post("/api/v1/secrets", content=secret.frame(), headers=create_headers),
        client.post(f"/api/v1/secrets/{secret.sid}/peek", content=b"{}", headers=json_headers),
        client.post(f"/api/v1/secrets/{secret.sid}/reveal", content=b"{}", headers=json_headers),
        client.post(f"/api/v1/secrets/{secret.sid}/burn", content=b"{}", headers=json_headers),
        client.post("/api/v1/receipts/status", json=receipt, headers=headers),
        client.post("/api/v1/receipts/burn", json=receipt, headers=headers),
        client.get("/api/v1/limits", headers=headers),
        client.get("/api/v1/openapi.json", headers=headers),
        client.get("/api/v1/account", headers=headers),
        client.get("/api/v1/account/receipts", headers=headers),
        client.get("/api/v1/nowhere", headers=headers),
        client.put("/api/v1/limits", headers=headers),
    ]


@pytest.mark.parametrize("headers", BAD_AUTHORIZATIONS)
def test_every_api_endpoint_refuses_a_bad_token(
    client: TestClient, headers: list[tuple[str, str]]
) -> None:
    secret = SimSecret.make()
    assert create(client, secret).status_code == 201
    for response in _every_api_request(client, secret, headers):
        assert_error(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == INVALID
        assert "set-cookie" not in response.headers
    # Nothing happened to the secret, and pages outside the API ignore the header.
    assert client.get("/healthz", headers=headers).status_code == 200
    assert client.get(f"/s/{secret.sid}", headers=headers).status_code == 200
    assert post(client, secret, "reveal", secret.reveal_body()).content == secret.blob
    assert 'event="unauthorized"} 12' in client.get("/metrics").text


def test_two_authorization_headers_are_refused(client: TestClient, operator: Operator) -> None:
    good = operator.add("twice@example.org")["Authorization"]
    headers = [("Authorization", good), ("Authorization", good)]
    response = client.get("/api/v1/account", headers=headers)
    assert_error(response, 401, "unauthorized")
    assert client.get("/api/v1/account", headers=[("Authorization", good)]).status_code == 200


# -- the account endpoint ----------------------------------------------------------------------


def test_account_answers_email_limits_and_token_names(
    client: TestClient, operator: Operator, clock: FakeClock
) -> None:
    anonymous = client.get("/api/v1/account")
    assert_error(anonymous, 401, "unauthorized")
    assert anonymous.headers["www-authenticate"] == CHALLENGE
    assert_error(client.get("/api/v1/account/receipts"), 401, "unauthorized")
    headers = operator.add(" Frank@Example.ORG ")
    operator.token("frank@example.org", "ci")
    body = client.get("/api/v1/account", headers=headers).json()
    assert body["email"] == "Frank@example.org"
    assert isinstance(body["created_at"], int)
    assert body["limits"]["ttl_max"] == 30 * DAY
    assert body["limits"]["max_bytes"] == 4 * 1024 * 1024
    today = day_text(day(int(clock())))
    # Oldest first, then by name: both were made in the same second here.
    assert [(t["name"], t["last_used"]) for t in body["tokens"]] == [
        ("ci", None),
        ("default", today),
    ]
    assert all(set(token) == {"name", "created_at", "last_used"} for token in body["tokens"])
    assert headers["Authorization"][7:] not in client.get("/api/v1/account", headers=headers).text


def test_revocation_and_deletion_take_effect_on_the_next_request(
    client: TestClient, operator: Operator
) -> None:
    default = operator.add("grace@example.org")
    ci = operator.token("grace@example.org", "ci")
    assert client.get("/api/v1/account", headers=ci).status_code == 200
    assert operator.run("token", "revoke", "grace@example.org", "--token-name", "ci")[0] == 0
    assert_error(client.get("/api/v1/account", headers=ci), 401, "unauthorized")
    assert client.get("/api/v1/account", headers=default).status_code == 200
    secret = SimSecret.make()
    assert create_as(client, secret, default).status_code == 201
    assert operator.run("delete", "grace@example.org", "--yes")[0] == 0
    assert_error(client.get("/api/v1/limits", headers=default), 401, "unauthorized")
    assert_error(create_as(client, SimSecret.make(), default), 401, "unauthorized")
    # The deleted account's secret still works, for anyone with the link.
    assert post(client, secret, "reveal", secret.reveal_body()).content == secret.blob


# -- policy and limits -------------------------------------------------------------------------


def test_require_account_blocks_anonymous_creates_only(
    tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock, operator: Operator
) -> None:
    headers = operator.add("holder@example.org")
    with _app(tmp_path, sqlite_store, clock, require_account=True) as client:
        refused = create(client, SimSecret.make())
        assert_error(refused, 401, "account_required")
        assert refused.headers["www-authenticate"] == CHALLENGE
        assert refused.headers["connection"] == "close"
        assert client.get("/api/v1/limits").json()["require_account"] is True
        secret = SimSecret.make()
        created = create_as(client, secret, headers, views=2)
        assert created.status_code == 201
        receipt = {"receipt": created.json()["receipt"]}
        # Reading never needs an account.
        assert post(client, secret, "peek", secret.proof_body()).status_code == 200
        assert post(client, secret, "reveal", secret.reveal_body()).content == secret.blob
        assert client.post("/api/v1/receipts/status", json=receipt).status_code == 200
        assert post(client, secret, "burn", secret.proof_body()).status_code == 200
        assert client.post("/api/v1/receipts/burn", json=receipt).json()["state"] == "burned"


def test_account_limits_apply_with_a_token_only(
    tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock, operator: Operator
) -> None:
    headers = operator.add("ivan@example.org")
    settings: dict[str, Any] = {"max_bytes": 1000, "rate_limit_per_minute": 30}
    with _app(tmp_path, sqlite_store, clock, **settings) as client:
        anonymous = client.get("/api/v1/limits").json()
        account = client.get("/api/v1/limits", headers=headers).json()
        assert (anonymous["ttl_max"], anonymous["max_bytes"]) == (7 * DAY, 1000)
        assert (account["ttl_max"], account["max_bytes"]) == (30 * DAY, 4000)
        assert anonymous["rate_limit_per_minute"] == 30
        assert (account["rate_limit_per_minute"], account["rate_limit_burst"]) == (0, 120)
        month = 30 * DAY
        refused = assert_error(create(client, SimSecret.make(), ttl=month), 422, "invalid_ttl")
        assert refused["max"] == 7 * DAY
        created = create_as(client, SimSecret.make(), headers, ttl=month)
        assert created.status_code == 201
        assert created.json()["expires_at"] - created.json()["created_at"] == month
        too_long = create_as(client, SimSecret.make(), headers, ttl=month + 1)
        assert assert_error(too_long, 422, "invalid_ttl")["max"] == month
        big = SimSecret.make(3000)
        assert assert_error(create(client, big), 413, "too_large")["max_bytes"] == 1000
        assert create_as(client, big, headers).status_code == 201
        huge = create_as(client, SimSecret.make(4001), headers)
        assert assert_error(huge, 413, "too_large")["max_bytes"] == 4000


def test_rate_limit_follows_the_account_not_the_address(
    tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock, operator: Operator
) -> None:
    headers = operator.add("judy@example.org")
    settings = Settings(
        data_dir=tmp_path,
        rate_limit_per_minute=60,
        rate_limit_burst=2,
        account_rate_limit_per_minute=60,
        account_rate_limit_burst=4,
    )
    app = create_app(settings, sqlite_store, clock=clock)
    here = TestClient(app, client=("192.0.2.1", 1000))
    there = TestClient(app, client=("198.51.100.9", 2000))
    receipt = {"receipt": "otsr_" + "A" * 43}
    statuses = [
        client.post("/api/v1/receipts/status", json=receipt, headers=headers).status_code
        for client in (here, there, here, there, here)
    ]
    assert statuses == [404, 404, 404, 404, 429]
    # The address's own bucket was not touched by the account's requests.
    anonymous = [here.post("/api/v1/receipts/status", json=receipt).status_code for _ in range(3)]
    assert anonymous == [404, 404, 429]
    clock.advance(1)
    assert there.post("/api/v1/receipts/status", json=receipt, headers=headers).status_code == 404


# -- receipts of an account --------------------------------------------------------------------


def test_account_receipts_over_http(
    client: TestClient, operator: Operator, clock: FakeClock
) -> None:
    kate = operator.add("kate@example.org")
    leo = operator.add("leo@example.org")
    made = []
    for views in (1, 2, 1):
        secret = SimSecret.make()
        assert create_as(client, secret, kate, views=views).status_code == 201
        made.append(secret)
        clock.advance(1)
    create_as(client, SimSecret.make(), leo)
    create(client, SimSecret.make())
    post(client, made[0], "reveal", made[0].reveal_body())
    post(client, made[1], "reveal", made[1].reveal_body())
    post(client, made[2], "burn", made[2].proof_body())
    listed = client.get("/api/v1/account/receipts", headers=kate).json()["receipts"]
    assert [(r["id"], r["state"], r["views_left"]) for r in listed] == [
        (made[2].sid, "burned", 1),
        (made[1].sid, "pending", 1),
        (made[0].sid, "read", 0),
    ]
    assert set(listed[0]) == {
        "id", "state", "created_at", "expires_at", "views", "views_left", "read_at", "burned_at",
    }  # fmt: skip
    two = client.get("/api/v1/account/receipts?limit=2", headers=kate).json()["receipts"]
    assert [r["id"] for r in two] == [made[2].sid, made[1].sid]
    assert len(client.get("/api/v1/account/receipts", headers=leo).json()["receipts"]) == 1
    for query in ("limit=0", "limit=1001", "limit=01", "limit=x", "limit=1&limit=2", "other=1"):
        response = client.get(f"/api/v1/account/receipts?{query}", headers=kate)
        assert_error(response, 400, "bad_request")


def test_a_secret_made_with_a_token_is_held_to_the_same_rules(
    client: TestClient, operator: Operator
) -> None:
    headers = operator.add("mia@example.org")
    secret = SimSecret.make()
    assert create_as(client, secret, headers).status_code == 201
    assert create_as(client, secret, headers).status_code == 409
    wrong = post(client, secret, "reveal", secret.reveal_body(proof=os.urandom(32)))
    assert_error(wrong, 404, "not_found")
    assert post(client, secret, "reveal", secret.reveal_body()).content == secret.blob
    assert_error(post(client, secret, "reveal", secret.reveal_body()), 410, "gone")
