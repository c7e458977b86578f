"""Privacy and browser safety: headers on every response (errors and 500s included), never a
cookie, a link page that echoes nothing, and access logs without ids, proofs or addresses."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.types import Message, Receive, Scope, Send

from ots_server.app import create_app
from ots_server.logs import ACCESS_LOGGER, JsonFormatter
from ots_server.middleware.headers import SecurityHeaders
from ots_server.settings import Settings
from ots_server.store import SecretInfo
from ots_server.store.memory.store import MemoryStore
from ots_server.store.sqlite.store import SQLiteStore

from .support import FakeClock, SimSecret, b64, create, post

EXPECTED = {
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
}


def assert_safe_headers(response: httpx.Response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    csp = response.headers["content-security-policy"]
    assert csp.startswith("default-src 'none'")
    assert "frame-ancestors 'none'" in csp
    assert "set-cookie" not in response.headers


def _every_kind_of_response(client: TestClient) -> list[httpx.Response]:
    secret = SimSecret.make(passphrase=True)
    responses = [create(client, secret), create(client, secret)]  # 201, 409
    receipt = responses[0].json()["receipt"]
    responses += [
        post(client, secret, "peek", secret.proof_body()),
        post(client, secret, "reveal", secret.proof_body()),  # 401
        post(client, secret, "reveal", secret.reveal_body(passphrase_proof=os.urandom(32))),
        post(client, secret, "reveal", secret.reveal_body(proof=os.urandom(32))),  # 404
        post(client, secret, "reveal", secret.reveal_body()),  # 200
        post(client, secret, "burn", secret.proof_body()),  # 410
        client.post("/api/v1/receipts/status", json={"receipt": receipt}),
        client.post("/api/v1/receipts/burn", json={"receipt": receipt}),
        client.post("/api/v1/secrets", content=b"x", headers={"Content-Type": "text/plain"}),
        client.post("/api/v1/secrets/x/peek", content=b"{"),  # 404: malformed id
        client.post(
            f"/api/v1/secrets/{secret.sid}/peek",
            content=b"{",
            headers={"Content-Type": "application/json"},
        ),
        create(client, SimSecret.make(), ttl=1),  # 422
        create(client, SimSecret.make(2_000_000)),  # 413
        client.get("/api/v1/limits"),
        client.get("/api/v1/openapi.json"),
        client.get("/healthz"),
        client.get("/readyz"),
        client.get("/metrics"),
        client.get(f"/s/{secret.sid}"),
        client.head(f"/s/{secret.sid}"),
        client.options(f"/s/{secret.sid}"),
        client.get("/nowhere"),
        client.put("/api/v1/limits"),
        client.options("/api/v1/secrets"),
    ]
    return responses


def test_every_response_has_the_headers_and_no_cookie(client: TestClient) -> None:
    responses = _every_kind_of_response(client)
    statuses = {r.status_code for r in responses}
    assert statuses >= {200, 201, 204, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422}
    for response in responses:
        assert_safe_headers(response)


def test_server_errors_get_the_headers_and_the_error_shape(tmp_path: Path) -> None:
    class Broken(MemoryStore):
        async def peek(self, id: bytes, link_check: bytes, now: int) -> SecretInfo:
            raise RuntimeError("a bug")

    app = create_app(Settings(data_dir=tmp_path), Broken())
    secret = SimSecret.make()
    with TestClient(app, raise_server_exceptions=False) as client:
        response = post(client, secret, "peek", secret.proof_body())
    assert response.status_code == 500
    assert response.json()["error"] == "internal_error"
    assert_safe_headers(response)


@pytest.mark.anyio
async def test_set_cookie_from_any_route_is_dropped() -> None:
    async def cookie_app(scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"set-cookie", b"a=b"), (b"cache-control", b"public")],
            }
        )
        await send({"type": "http.response.body", "body": b""})

    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await SecurityHeaders(cookie_app)({"type": "http", "method": "GET"}, receive, send)
    headers = dict(sent[0]["headers"])
    assert b"set-cookie" not in headers
    assert headers[b"cache-control"] == b"no-store"


def test_link_page_is_fixed_and_echoes_nothing(client: TestClient) -> None:
    first, second = SimSecret.make(), SimSecret.make()
    page = client.get(f"/s/{first.sid}")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "ots get" in page.text
    assert first.sid not in page.text
    assert client.get(f"/s/{second.sid}").content == page.content
    assert client.get("/s/%3Cscript%3Ealert(1)%3C%5Cscript%3E").content == page.content
    csp = page.headers["content-security-policy"]
    # The reveal page (docs/web.md): its own scripts and libsodium's WebAssembly, nothing inline.
    assert "script-src 'self' 'wasm-unsafe-eval';" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval'" not in csp.replace("'wasm-unsafe-eval'", "")
    assert client.head(f"/s/{first.sid}").content == b""
    options = client.options(f"/s/{first.sid}")
    assert (options.status_code, options.headers["allow"]) == (204, "GET, HEAD, OPTIONS")


def test_link_page_changes_no_state(client: TestClient) -> None:
    secret = SimSecret.make()
    create(client, secret)
    for _ in range(20):
        for method in ("GET", "HEAD", "OPTIONS"):
            assert client.request(method, f"/s/{secret.sid}").status_code in {200, 204}
    assert post(client, secret, "reveal", secret.reveal_body()).content == secret.blob


def test_access_log_has_templates_and_nothing_from_the_request(
    tmp_path: Path, sqlite_store: SQLiteStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    address = "198.51.100.23"
    app = create_app(Settings(data_dir=tmp_path, rate_limit_burst=5), sqlite_store, clock=clock)
    secret = SimSecret.make(passphrase=True)
    caplog.set_level(logging.DEBUG)
    with TestClient(app, client=(address, 40123)) as client:
        receipt = create(client, secret).json()["receipt"]
        post(client, secret, "peek", secret.proof_body())
        post(client, secret, "reveal", secret.reveal_body())
        post(client, secret, "reveal", secret.reveal_body(proof=os.urandom(32)))
        client.get(f"/s/{secret.sid}?q=querytext")
        client.get(f"/nowhere/{secret.sid}")
        for _ in range(3):
            client.post("/api/v1/receipts/status", json={"receipt": receipt})  # some 429
    # The test's own HTTP client (httpx) logs full URLs; only the server's records count.
    server_records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    lines = [JsonFormatter().format(record) for record in server_records]
    text = "\n".join(lines)
    forbidden = [
        secret.sid,
        b64(secret.proof),
        b64(secret.link_check),
        b64(secret.passphrase_proof or b""),
        receipt,
        receipt[5:],
        address,
        "40123",
        "querytext",
        "nowhere",
    ]
    for value in forbidden:
        assert value not in text, value
    access = [json.loads(line) for line in lines if f'"logger":"{ACCESS_LOGGER}"' in line]
    assert len(access) == 9
    for entry in access:
        assert set(entry) == {
            "ts", "level", "logger", "pid", "msg", "method", "route", "status", "duration_ms"
        }  # fmt: skip
    routes = {(e["method"], e["route"], e["status"]) for e in access}
    assert ("POST", "/api/v1/secrets/{id}/reveal", 404) in routes
    assert ("GET", "/s/{id}", 200) in routes
    assert ("GET", "unmatched", 404) in routes
    assert ("POST", "/api/v1/receipts/status", 429) in routes
