"""The operating system's keyring behind a small protocol, with a timeout on every call.

:class:`Keystore` is what the rest of ots sees: ``get``, ``put`` and ``delete`` of one token per
keyring service (``ots:<host[:port]>``, user name ``token``). Two implementations:

- :class:`KeyringStore`: the ``keyring`` package. Every call runs in a daemon thread and is
  waited for at most ``timeout`` seconds, because a keyring can block for ever (a locked
  collection waiting for an unlock prompt nobody sees, a D-Bus service that never answers).
  The thread is abandoned on timeout; being a daemon it cannot keep the process alive.
- :class:`MemoryKeystore`: a dict, for tests of the code above this one.

Invariants:

- No keyring exception leaves this module: a missing, locked, failing, silent or hanging
  keyring becomes a :class:`~ots_cli.errors.ConfigError` (exit 3) whose hints name the
  alternatives (``OTS_TOKEN``, ``--token-file``, ``ots login --insecure-storage``). There is
  never a silent fallback to a plain file.
- A stored token is read back and compared before ``put`` returns, so a backend that accepts
  and forgets (keyring's ``null`` backend) is an error, not a lost login.
- Messages name the keyring's failure by its kind only: a backend's own message is not shown
  (it is foreign text, and may quote what it was given).
- Importing this module imports nothing of ``keyring``; :class:`KeyringStore` imports it on
  first use, so commands that need no keyring never pay for it.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Callable
from typing import Protocol, TypeVar

from ots_cli.errors import ConfigError

__all__ = [
    "ALTERNATIVES",
    "DEFAULT_TIMEOUT",
    "USERNAME",
    "KeyringStore",
    "Keystore",
    "MemoryKeystore",
]

#: The user name of every ots entry; the service name says which server it is for.
USERNAME = "token"
#: Seconds to wait for one keyring call (``OTS_KEYRING_TIMEOUT`` changes it).
DEFAULT_TIMEOUT = 10.0
#: What to do instead, in every keyring error.
ALTERNATIVES = (
    "for this command, give the token in OTS_TOKEN or with --token-file PATH instead",
    "or keep it in a plain file that only you can read: ots login --insecure-storage",
)

T = TypeVar("T")


class Keystore(Protocol):
    """One token per service; every method raises only :class:`ConfigError`."""

    def get(self, service: str) -> str | None:
        """The token stored for ``service``, or None."""
        ...

    def put(self, service: str, token: str) -> None:
        """Store ``token`` for ``service``, replacing any earlier one."""
        ...

    def delete(self, service: str) -> bool:
        """Remove the token of ``service``; False when there was none."""
        ...


class MemoryKeystore:
    """A :class:`Keystore` in a dict (tests)."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}

    def get(self, service: str) -> str | None:
        return self.tokens.get(service)

    def put(self, service: str, token: str) -> None:
        self.tokens[service] = token

    def delete(self, service: str) -> bool:
        return self.tokens.pop(service, None) is not None


class KeyringStore:
    """The system keyring through the ``keyring`` package, each call bounded by ``timeout``."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout

    def get(self, service: str) -> str | None:
        return self._call("read the token from", lambda ring: ring.get_password(service, USERNAME))

    def put(self, service: str, token: str) -> None:
        def store(ring: _Backend) -> bool:
            ring.set_password(service, USERNAME, token)
            stored = ring.get_password(service, USERNAME)
            return stored is not None and hmac.compare_digest(stored, token)

        if not self._call("store the token in", store):
            raise ConfigError(
                "the system keyring did not keep the token (is it the 'null' keyring backend?)",
                hints=ALTERNATIVES,
            )

    def delete(self, service: str) -> bool:
        def remove(ring: _Backend) -> bool:
            if ring.get_password(service, USERNAME) is None:
                return False
            ring.delete_password(service, USERNAME)
            return True

        return self._call("remove the token from", remove)

    def _call(self, action: str, operation: Callable[[_Backend], T]) -> T:
        # keyring itself is imported here, on the calling thread: an import abandoned half-way
        # in a timed-out thread would hold the module's import lock. Choosing and opening the
        # backend (D-Bus and so on) happens in the thread, under the timeout.
        import keyring

        outcome: list[T] = []
        failure: list[BaseException] = []

        def work() -> None:
            try:
                outcome.append(operation(keyring.get_keyring()))
            except BaseException as exc:  # handed to the calling thread below
                failure.append(exc)

        worker = threading.Thread(target=work, name="ots-keyring", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            raise ConfigError(
                f"the system keyring did not answer within {_seconds(self.timeout)} "
                "(it may be locked and waiting for an unlock prompt)",
                hints=(
                    *ALTERNATIVES,
                    "or allow it more time with OTS_KEYRING_TIMEOUT=SECONDS",
                ),
            )
        if failure:
            raise _translate(failure[0], action) from failure[0]
        return outcome[0]


class _Backend(Protocol):
    def get_password(self, service: str, username: str) -> str | None: ...

    def set_password(self, service: str, username: str, password: str) -> None: ...

    def delete_password(self, service: str, username: str) -> None: ...


def _translate(error: BaseException, action: str) -> ConfigError:
    from keyring.errors import InitError, KeyringLocked, NoKeyringError

    if isinstance(error, NoKeyringError):
        return ConfigError(
            "no system keyring is available to keep the token",
            hints=(
                *ALTERNATIVES,
                "on Linux, a Secret Service (GNOME Keyring, KeePassXC) in a D-Bus session "
                "provides one",
            ),
        )
    if isinstance(error, KeyringLocked):
        return ConfigError(
            "the system keyring is locked", hints=("unlock it and try again", *ALTERNATIVES)
        )
    if isinstance(error, InitError):
        return ConfigError("the system keyring could not be opened", hints=ALTERNATIVES)
    # PasswordSetError, PasswordDeleteError, a D-Bus error, a backend's own exception...
    return ConfigError(
        f"could not {action} the system keyring ({type(error).__name__})", hints=ALTERNATIVES
    )


def _seconds(value: float) -> str:
    text = f"{value:g}"
    return f"{text} second" if text == "1" else f"{text} seconds"
