"""Accounts and privacy: the email (and any token) never reaches a server log line or a metric,
in process and in a real ``ots-server serve`` whose accounts are managed by the operator
command while it runs; and no account response sets a cookie."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
from pathlib import Path

import httpx
import pytest
from processes import running_server, server_command
from starlette.testclient import TestClient

from ots_server.app import create_app
from ots_server.cli import main
from ots_server.logs import JsonFormatter
from ots_server.settings import Settings
from ots_server.store.sqlite.store import SQLiteStore

from .support import CREATE_TYPE, FakeClock, SimSecret

EMAIL = "Quentin.Private@Example.org"


def _forbidden(token: str) -> list[str]:
    return [
        EMAIL,
        EMAIL.lower(),
        "Quentin.Private",
        token,
        token[4:],
        hashlib.sha256(token.encode()).hexdigest(),
    ]


def _other(token: str) -> str:
    """A well-formed token that differs from ``token`` in its last character."""
    # A 43-character base64url ending is one of A, E, I, …: "A" itself 1 time in 16.
    return token[:-1] + ("E" if token.endswith("A") else "A")


def test_no_email_or_token_in_logs_or_metrics(
    tmp_path: Path,
    sqlite_store: SQLiteStore,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OTS_STORE_URL", f"sqlite://{sqlite_store.path}")
    assert main(["accounts", "add", EMAIL]) == 0
    token = capsys.readouterr().out.strip()
    headers = {"Authorization": f"Bearer {token}"}
    settings = Settings(data_dir=tmp_path, rate_limit_burst=3, account_rate_limit_burst=3)
    app = create_app(settings, sqlite_store, clock=clock)
    responses: list[httpx.Response] = []
    with TestClient(app, client=("203.0.113.5", 5000)) as client:
        secret = SimSecret.make()
        frame = {"Content-Type": CREATE_TYPE, **headers}
        responses.append(client.post("/api/v1/secrets", content=secret.frame(), headers=frame))
        responses += [
            client.get("/api/v1/account", headers=headers),
            client.get("/api/v1/account/receipts", headers=headers),
            client.get("/api/v1/limits", headers=headers),
            client.get("/api/v1/account/receipts?limit=0", headers=headers),
            client.get("/api/v1/account", headers={"Authorization": f"Bearer {_other(token)}"}),
        ]
        for _ in range(4):  # the account's rate limit: 429
            responses.append(client.post("/api/v1/receipts/status", json={}, headers=headers))
        assert main(["accounts", "token", "add", EMAIL, "--token-name", "ci"]) == 0
        assert main(["accounts", "list"]) == 0
        assert main(["accounts", "token", "revoke", EMAIL, "--token-name", "ci"]) == 0
        assert main(["accounts", "delete", EMAIL, "--yes"]) == 0
        responses.append(client.get("/api/v1/account", headers=headers))
        metrics = client.get("/metrics").text
    capsys.readouterr()
    statuses = [response.status_code for response in responses]
    assert statuses[:5] == [201, 200, 200, 200, 400]
    assert statuses[5:] == [401, 400, 400, 429, 429, 401]  # the create took one token too
    for response in responses:
        assert "set-cookie" not in response.headers
    records = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]
    text = "\n".join(JsonFormatter().format(record) for record in records)
    assert '"route":"/api/v1/account"' in text  # the inspection sees the account requests
    for value in _forbidden(token):
        assert value not in text, value
        assert value not in metrics, value


def test_a_real_server_never_logs_the_email(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")}
    db = tmp_path / "ots.sqlite3"
    env["OTS_STORE_URL"] = f"sqlite://{db}"

    def operator(*argv: str) -> str:
        result = subprocess.run(
            [*server_command(), "accounts", *argv],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=True,
        )
        return result.stdout.strip()

    with running_server(tmp_path, env={"OTS_LOG_LEVEL": "debug"}) as server:
        token = operator("add", EMAIL)
        headers = {"Authorization": f"Bearer {token}"}
        secret = SimSecret.make()
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            created = client.post(
                "/api/v1/secrets",
                content=secret.frame(),
                headers={"Content-Type": CREATE_TYPE, **headers},
            )
            assert created.status_code == 201
            assert client.get("/api/v1/account", headers=headers).json()["email"] == (
                "Quentin.Private@example.org"
            )
            listed = client.get("/api/v1/account/receipts", headers=headers).json()["receipts"]
            assert [receipt["id"] for receipt in listed] == [secret.sid]
            operator("token", "revoke", EMAIL, "--token-name", "default")
            assert client.get("/api/v1/account", headers=headers).status_code == 401
            operator("delete", EMAIL, "--yes")
        server.stop()
        log = server.output()
    assert '"route":"/api/v1/account/receipts"' in log
    for value in _forbidden(token):
        assert value not in log, value
