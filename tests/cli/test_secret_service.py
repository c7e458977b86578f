"""The real CLI against a real Secret Service (GNOME Keyring on a private D-Bus session).

Every ``ots`` is a separate process with only the throwaway keyring's environment: login
stores the token in the keyring, whoami and share use it from there, and after logout the
keyring no longer holds it (asked through the ``keyring`` package in yet another process).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from processes import ServerProcess, start_server

from .secret_service import SecretService
from .support import Terminal, add_account

EMAIL = "keyring.user@example.org"

_ASK_KEYRING = """
import json, sys, keyring
ring = keyring.get_keyring()
print(json.dumps([type(ring).__module__, keyring.get_password(sys.argv[1], "token")]))
"""


@pytest.fixture
def secret_service(tmp_path: Path) -> Iterator[SecretService]:
    service = SecretService(tmp_path / "secret-service")
    try:
        yield service
    finally:
        service.stop()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = start_server(tmp_path / "server-data")
    try:
        yield process
    finally:
        process.stop()


def test_login_share_and_logout_with_a_real_secret_service(
    secret_service: SecretService, server: ServerProcess, tmp_path: Path
) -> None:
    token = add_account(tmp_path / "server-data" / "ots.sqlite3", EMAIL)
    env = {
        **secret_service.env,
        "OTS_CONFIG_DIR": str(tmp_path / "ots-config"),
        "OTS_SERVER": server.base_url,
        "NO_COLOR": "1",
    }
    service = f"ots:127.0.0.1:{server.port}"
    outputs: list[bytes] = []

    def ots(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
        done = subprocess.run(
            [sys.executable, "-m", "ots_cli", *argv],
            input=stdin,
            env=env,
            capture_output=True,
            timeout=60,
        )
        outputs.extend((done.stdout, done.stderr))
        return done

    def in_keyring() -> str | None:
        done = subprocess.run(
            [sys.executable, "-c", _ASK_KEYRING, service],
            env=secret_service.env,
            capture_output=True,
            timeout=60,
            check=True,
        )
        backend, value = json.loads(done.stdout)
        assert backend == "keyring.backends.SecretService"
        return value if value is None else str(value)

    login = ots("login", "--with-token", stdin=token.encode() + b"\n")
    assert login.returncode == 0, login.stderr
    assert EMAIL.encode() in login.stderr
    assert in_keyring() == token

    whoami = ots("whoami")
    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout == EMAIL.encode() + b"\n"
    assert b"the token from the system keyring" in whoami.stderr

    shared = ots("--json", "share", stdin=b"shared as the account")
    assert shared.returncode == 0, shared.stderr
    secret_id = json.loads(shared.stdout)["id"]
    remote = ots("--json", "list", "--remote")
    assert remote.returncode == 0, remote.stderr
    assert [r["id"] for r in json.loads(remote.stdout)["receipts"]] == [secret_id]

    logout = ots("logout")
    assert logout.returncode == 0, logout.stderr
    assert b"from the system keyring" in logout.stderr
    assert in_keyring() is None
    assert ots("whoami").returncode == 4
    assert all(token.encode() not in output for output in outputs)
    config = tmp_path / "ots-config"
    assert all(token.encode() not in p.read_bytes() for p in config.rglob("*") if p.is_file())


def test_login_at_a_terminal_asks_only_once_the_keyring_answers(
    secret_service: SecretService, server: ServerProcess, tmp_path: Path
) -> None:
    token = add_account(tmp_path / "server-data" / "ots.sqlite3", EMAIL)
    env = {
        **secret_service.env,
        "OTS_CONFIG_DIR": str(tmp_path / "ots-config"),
        "OTS_SERVER": server.base_url,
        "NO_COLOR": "1",
    }
    asked = Terminal(["login"], env)
    try:
        asked.expect(b"Token for 127.0.0.1:" + str(server.port).encode() + b" (hidden): ")
        asked.type(token.encode() + b"\n")
        assert asked.finish() == 0
        assert b"the token is in the system keyring" in asked.screen
    finally:
        asked.close()
    secret_service.stop()  # the Secret Service goes away: no usable keyring is left
    refused = Terminal(["login"], env)
    try:
        assert refused.finish(timeout=30) == 3
        assert b"Token for" not in refused.screen  # nothing to paste in vain
        assert b"keyring" in refused.screen
        assert b"--insecure-storage" in refused.screen
    finally:
        refused.close()


def test_missing_daemons_fail_the_tests_instead_of_skipping_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither dbus-daemon nor gnome-keyring-daemon
    with pytest.raises(AssertionError, match="dbus-daemon is not installed"):
        SecretService(tmp_path / "secret-service")
