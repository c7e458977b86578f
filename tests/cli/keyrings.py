"""Keyring backends for tests: real ``keyring.backend.KeyringBackend`` subclasses.

They are installed with ``keyring.set_keyring`` (see the ``use_keyring`` fixture in conftest),
so ots's real :class:`~ots_cli.local.keystore.KeyringStore` runs against them exactly as against the
system's. None of them is ever chosen by keyring's own backend discovery: their ``priority``
raises, which makes them "not viable".
"""

from __future__ import annotations

import threading

from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.compat import properties
from keyring.errors import PasswordDeleteError


class _TestOnly(KeyringBackend):
    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("a test backend is never chosen by discovery")


class MemoryKeyring(_TestOnly):
    """A keyring in a dict, recording every call (service, user name) it gets."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.passwords: dict[tuple[str, str], str] = {}
        self.calls: list[tuple[str, str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.calls.append(("get", service, username))
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls.append(("set", service, username))
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.calls.append(("delete", service, username))
        if self.passwords.pop((service, username), None) is None:
            raise PasswordDeleteError("no such password")


class RaisingKeyring(_TestOnly):
    """Every call raises ``error`` (a keyring error, or any backend's own exception)."""

    def __init__(self, error: Exception) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise self.error

    def delete_password(self, service: str, username: str) -> None:
        raise self.error


class BlockingKeyring(_TestOnly):
    """Every call blocks until :meth:`release` (a keyring waiting for an unseen prompt)."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.entered = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        self._released.set()

    def _block(self) -> None:
        self.entered.set()
        self._released.wait(60)

    def get_password(self, service: str, username: str) -> str | None:
        self._block()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._block()

    def delete_password(self, service: str, username: str) -> None:
        self._block()


def fail_keyring() -> KeyringBackend:
    """keyring's own backend for "no keyring here": every call raises ``NoKeyringError``."""
    return fail.Keyring()  # type: ignore[no-untyped-call]


def null_keyring() -> KeyringBackend:
    """keyring's own backend that accepts everything and keeps nothing."""
    return null.Keyring()  # type: ignore[no-untyped-call]
