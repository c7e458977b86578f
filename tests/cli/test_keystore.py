"""The keystore over real keyring backends, and the pure parts of token handling.

Backends are installed with ``keyring.set_keyring`` (restored by the conftest fixture): an
in-memory one, keyring's own ``fail`` and ``null`` backends, ones that raise each keyring
error or a foreign exception, and one that blocks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend
from keyring.errors import InitError, KeyringLocked, PasswordDeleteError, PasswordSetError

from ots_cli.core import b64
from ots_cli.errors import ConfigError, UsageError
from ots_cli.local.keystore import KeyringStore, MemoryKeystore
from ots_cli.local.tokens import (
    Credential,
    TokenFiles,
    check_token,
    keyring_service,
    read_token_file,
    resolve_credential,
    server_identity,
)

from .keyrings import (
    BlockingKeyring,
    MemoryKeyring,
    RaisingKeyring,
    fail_keyring,
    null_keyring,
)

Install = Callable[[KeyringBackend], KeyringBackend]
TOKEN = "ots_" + b64.encode(bytes(range(32)))


def test_a_round_trip_through_a_real_backend(use_keyring: Install) -> None:
    ring = MemoryKeyring()
    use_keyring(ring)
    store = KeyringStore(timeout=5)
    assert store.get("ots:a") is None
    store.put("ots:a", TOKEN)
    assert ring.passwords == {("ots:a", "token"): TOKEN}
    assert store.get("ots:a") == TOKEN
    assert store.delete("ots:a") is True
    assert store.delete("ots:a") is False
    assert ring.passwords == {}


def test_the_memory_keystore_behaves_alike() -> None:
    store = MemoryKeystore()
    store.put("ots:a", TOKEN)
    assert store.get("ots:a") == TOKEN
    assert store.delete("ots:a") is True
    assert store.delete("ots:a") is False
    assert store.get("ots:a") is None


def _refusal(store: KeyringStore, call: str) -> ConfigError:
    calls: dict[str, Callable[[], object]] = {
        "get": lambda: store.get("ots:a"),
        "put": lambda: store.put("ots:a", TOKEN),
        "delete": lambda: store.delete("ots:a"),
    }
    with pytest.raises(ConfigError) as caught:
        calls[call]()
    error = caught.value
    hints = " ".join(error.hints)
    for alternative in ("OTS_TOKEN", "--token-file", "--insecure-storage"):
        assert alternative in hints
    assert TOKEN not in error.message + hints
    return error


@pytest.mark.parametrize("call", ["get", "put", "delete"])
def test_no_keyring(use_keyring: Install, call: str) -> None:
    use_keyring(fail_keyring())
    error = _refusal(KeyringStore(timeout=5), call)
    assert error.message == "no system keyring is available to keep the token"
    assert error.exit_code == 3


def test_a_keyring_that_keeps_nothing(use_keyring: Install) -> None:
    use_keyring(null_keyring())
    store = KeyringStore(timeout=5)
    assert store.get("ots:a") is None
    assert "did not keep the token" in _refusal(store, "put").message
    assert store.delete("ots:a") is False


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (KeyringLocked("x"), "the system keyring is locked"),
        (InitError("x"), "the system keyring could not be opened"),
        (PasswordSetError("x"), "could not {action} the system keyring (PasswordSetError)"),
        (PasswordDeleteError("x"), "could not {action} the system keyring (PasswordDeleteError)"),
        # A backend's own exception, quoting what it was given: the message is not shown.
        (RuntimeError(f"dbus said {TOKEN}"), "could not {action} the system keyring"),
    ],
)
@pytest.mark.parametrize(
    ("call", "action"),
    [
        ("get", "read the token from"),
        ("put", "store the token in"),
        ("delete", "remove the token from"),
    ],
)
def test_every_keyring_error_becomes_a_config_error(
    use_keyring: Install, error: Exception, message: str, call: str, action: str
) -> None:
    use_keyring(RaisingKeyring(error))
    refused = _refusal(KeyringStore(timeout=5), call)
    assert refused.message.startswith(message.format(action=action))


def test_a_hanging_keyring_is_abandoned_after_the_timeout(use_keyring: Install) -> None:
    ring = BlockingKeyring()
    use_keyring(ring)
    try:
        started = time.monotonic()
        error = _refusal(KeyringStore(timeout=0.2), "get")
        elapsed = time.monotonic() - started
    finally:
        ring.release()
    assert ring.entered.is_set()
    assert 0.2 <= elapsed < 0.2 + 1.0  # the timeout, and a margin for a loaded machine
    assert error.message.startswith("the system keyring did not answer within 0.2 seconds")


# -- tokens ------------------------------------------------------------------------------------


def test_token_shape() -> None:
    assert check_token(TOKEN, source="x") == TOKEN
    for bad in ("", "ots_", TOKEN[:-1], TOKEN + "A", TOKEN.upper(), "OTS_" + TOKEN[4:],
                TOKEN[:-1] + "B", TOKEN[:-1] + "=", TOKEN + "\n", "ots_" + "é" * 43):  # fmt: skip
        with pytest.raises(ConfigError) as caught:
            check_token(bad, source="OTS_TOKEN")
        assert caught.value.message.startswith("OTS_TOKEN does not hold an ots account token")
        if len(bad) > 8:
            assert bad not in caught.value.message
    with pytest.raises(UsageError):
        check_token("nope", source="the token given", error=UsageError)


@pytest.mark.parametrize(
    ("url", "identity"),
    [
        ("https://ots.example.com", "ots.example.com"),
        ("https://OTS.Example.com:443/", "ots.example.com"),
        ("https://ots.example.com:8443", "ots.example.com:8443"),
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://localhost:80", "localhost"),
        ("http://[::1]:8000", "[::1]:8000"),
        ("https://[::1]", "[::1]"),
    ],
)
def test_server_identity(url: str, identity: str) -> None:
    assert server_identity(url) == identity
    assert keyring_service(identity) == f"ots:{identity}"


def test_token_files_are_named_safely_and_apart(tmp_path: Path) -> None:
    files = TokenFiles(tmp_path / "tokens")
    names = {
        identity: files.insecure_path(identity).name
        for identity in ("a.example", "a.example:8000", "[::1]:8000", "a%3A8000")
    }
    assert len(set(names.values())) == len(names)
    for name in names.values():
        assert not set(name) & set("/:[]")
    assert names["[::1]:8000"] == "%5B%3A%3A1%5D%3A8000.token"


def test_token_file_reading(tmp_path: Path) -> None:
    path = tmp_path / "t"
    path.write_text(f"  {TOKEN}  \r\nsecond line\n")
    assert read_token_file(str(path)) == TOKEN
    path.write_bytes(b"x" * 5000)
    with pytest.raises(UsageError):
        read_token_file(str(path))
    path.write_bytes(b"")
    with pytest.raises(UsageError):
        read_token_file(str(path))
    with pytest.raises(UsageError, match="no such file"):
        read_token_file(str(tmp_path / "missing"))


def test_resolution_without_a_marker_never_opens_the_keystore(tmp_path: Path) -> None:
    files = TokenFiles(tmp_path / "tokens")

    def no_keystore() -> MemoryKeystore:
        raise AssertionError("the keystore was opened")

    found = resolve_credential(
        identity="h", explicit=True, env={}, token_file=None, files=files, keystore=no_keystore
    )
    assert found is None
    store = MemoryKeystore()
    store.put("ots:h", TOKEN)
    files.mark_keyring("h")
    found = resolve_credential(
        identity="h", explicit=False, env={"OTS_TOKEN": "ignored: not explicit"},
        token_file=None, files=files, keystore=lambda: store,
    )  # fmt: skip
    assert found is not None
    assert (found.token, found.source) == (TOKEN, "keyring")
    assert TOKEN not in repr(found)
    store.put("ots:h", "ots_damaged")
    with pytest.raises(ConfigError, match="the keyring entry ots:h"):
        resolve_credential(
            identity="h", explicit=False, env={}, token_file=None, files=files,
            keystore=lambda: store,
        )  # fmt: skip


def test_a_credential_never_shows_its_token() -> None:
    credential = Credential(TOKEN, "OTS_TOKEN")
    assert TOKEN not in repr(credential)
    assert TOKEN not in str(credential)
