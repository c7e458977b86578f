"""Support for the CLI suite: the real backend in-process, a runner for ``main(argv)``.

``ots`` runs the real entry point (``ots_cli.__main__.main``) with its own byte streams and
environment, and an injected Starlette ``TestClient`` around the real app on a real SQLite
file, so every request goes through the real client, the real app and the real store. The
server's clock is a :class:`FakeClock` the test can move. Every request the CLI sends is
recorded, so tests can prove what never leaves the process. Accounts are made with the
server's own store API on the same SQLite file (:func:`add_account`), as the operator's
``ots-server accounts`` commands do. Real server processes are tests/processes.py's, shared by
every suite; :class:`Terminal` runs the CLI on pseudo-terminals.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import time
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from clock import FakeClock

from ots_cli.__main__ import main
from ots_cli.local.keystore import Keystore
from ots_cli.local.receipts import Receipt
from ots_server.app import create_app
from ots_server.settings import Settings
from ots_server.store.sqlite.store import SQLiteStore

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 fork for its TestClient; with plain httpx it still works
    # and says so once at import. ots's client is written against httpx.
    warnings.simplefilter("ignore", UserWarning)
    from starlette.testclient import TestClient

T = TypeVar("T")

#: The server URL the CLI is given; the injected TestClient answers for any host, and
#: http:// to a loopback address is what the CLI accepts without --insecure.
SERVER = "http://127.0.0.1:8000"


@dataclass
class Recorded:
    method: str
    url: str
    headers: dict[str, str]
    content: bytes


@dataclass
class Recorder:
    requests: list[Recorded] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> None:
        self.requests.append(
            Recorded(request.method, str(request.url), dict(request.headers), request.read())
        )

    def everything(self) -> bytes:
        """Every byte that left the process: request lines, headers and bodies."""
        parts = []
        for r in self.requests:
            parts.append(f"{r.method} {r.url}\n".encode())
            parts += [f"{k}: {v}\n".encode() for k, v in r.headers.items()]
            parts.append(r.content)
        return b"".join(parts)


@dataclass
class Result:
    code: int
    out: bytes
    err: str

    @property
    def text(self) -> str:
        return self.out.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.out)


class Backend:
    """The real app on SQLite, in-process, with a fake clock and a request recorder."""

    def __init__(self, tmp_path: Path, **overrides: Any) -> None:
        self.clock = FakeClock()
        self.settings = Settings(data_dir=tmp_path / "server", rate_limit_per_minute=0, **overrides)
        self.db = tmp_path / "server" / "ots.sqlite3"
        store = SQLiteStore(self.db)
        self.app = create_app(self.settings, store, clock=self.clock, owns_store=True)
        self.recorder = Recorder()
        self.client = TestClient(self.app)
        self.client.event_hooks = {"request": [self.recorder]}

    def add_account(self, email: str) -> str:
        """A new account with one token named ``default``; returns the token."""
        return add_account(self.db, email)

    def add_token(self, email: str, name: str) -> str:
        return add_token(self.db, email, name)

    def revoke(self, email: str, name: str = "default") -> None:
        revoke_token(self.db, email, name)


def _with_store(db: Path, work: Callable[[SQLiteStore], Awaitable[T]]) -> T:
    """``work(store)`` on a second store over the same SQLite file, as an operator command."""

    async def run() -> T:
        store = SQLiteStore(db)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def add_account(db: Path, email: str) -> str:
    import secrets

    from ots_server.accounts import DEFAULT_TOKEN_NAME, new_token, normalise_email
    from ots_server.store import NewAccount, NewToken

    token, digest = new_token()
    address, key = normalise_email(email)
    now = int(time.time())
    account = NewAccount(
        id=secrets.token_bytes(16),
        email=address,
        email_key=key,
        created_at=now,
        token=NewToken(DEFAULT_TOKEN_NAME, digest, now),
    )
    _with_store(db, lambda store: store.create_account(account))
    return token


def add_token(db: Path, email: str, name: str) -> str:
    from ots_server.accounts import new_token, normalise_email
    from ots_server.store import NewToken

    token, digest = new_token()

    async def work(store: SQLiteStore) -> None:
        account = await store.find_account(normalise_email(email)[1])
        await store.add_token(account.id, NewToken(name, digest, int(time.time())))

    _with_store(db, work)
    return token


def revoke_token(db: Path, email: str, name: str) -> None:
    from ots_server.accounts import normalise_email

    async def work(store: SQLiteStore) -> None:
        account = await store.find_account(normalise_email(email)[1])
        await store.revoke_token(account.id, name)

    _with_store(db, work)


def add_secrets(
    db: Path,
    server: str,
    receipts: Path,
    count: int,
    *,
    now: int | None = None,
    ttl: int = 3600,
    burned: int = 0,
) -> list[Receipt]:
    """``count`` secrets created straight in the server's store (as many ``ots share`` would,
    without spending their rate limit), each with the local receipt ``ots share`` saves in
    ``receipts``, newest last; the first ``burned`` of them burned by their receipt."""
    import hashlib
    import secrets

    from ots_cli.core import b64
    from ots_cli.local.receipts import ReceiptStore
    from ots_server.codec import new_receipt
    from ots_server.store import NewSecret

    start = int(time.time()) if now is None else now
    made = []
    for index in range(count):
        token, receipt_hash = new_receipt()
        id = secrets.token_bytes(16)
        made.append(
            (
                NewSecret(
                    id=id,
                    blob=secrets.token_bytes(64),
                    header_length=8,
                    link_verifier=hashlib.sha256(secrets.token_bytes(32)).digest(),
                    passphrase_verifier=None,
                    attempts=None,
                    views=1,
                    created_at=start + index,
                    expires_at=start + index + ttl,
                    keep_until=start + index + ttl + 7 * 86_400,
                    receipt_hash=receipt_hash,
                ),
                Receipt(
                    id=b64.encode(id),
                    server=server,
                    token=token,
                    created_at=start + index,
                    expires_at=start + index + ttl,
                    views=1,
                    passphrase=False,
                    label=f"secret {index}",
                ),
            )
        )

    async def work(store: SQLiteStore) -> None:
        for index, (secret, _) in enumerate(made):
            await store.create(secret)
            if index < burned:
                await store.burn_by_receipt(secret.receipt_hash, start + index)

    _with_store(db, work)
    local = ReceiptStore(receipts)
    for _, receipt in made:
        local.add(receipt)
    return [receipt for _, receipt in made]


Runner = Callable[..., Result]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment the CLI runs with: the isolated test environment plus test knobs."""
    env = dict(os.environ)
    env["OTS_SERVER"] = SERVER
    # The cheapest Argon2id cost the format accepts; the default is unchanged.
    env["OTS_PASSPHRASE_COST"] = "interactive"
    # ...which readers refuse unless told to expect it (tests/cli/test_kdf_floor.py).
    env["OTS_ALLOW_WEAK_KDF"] = "1"
    # A CLI in a subprocess must not find the keyring of the machine running the tests.
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env.update(extra)
    return env


def run_cli(
    argv: list[str],
    *,
    stdin: bytes = b"",
    env: Mapping[str, str] | None = None,
    http: httpx.Client | None = None,
    keystore: Keystore | None = None,
) -> Result:
    """``main(argv)`` in-process with byte streams (stdout and stderr kept apart)."""
    out, err = io.BytesIO(), io.BytesIO()
    code = main(
        argv,
        stdin=io.BytesIO(stdin),
        stdout=out,
        stderr=err,
        env=cli_env() if env is None else env,
        http_client=http,
        keystore=keystore,
    )
    return Result(code, out.getvalue(), err.getvalue().decode("utf-8"))


def other_key(link: str) -> str:
    """``link`` with a different, well-formed key: the right id, the wrong key."""
    from ots_cli.core import b64
    from ots_cli.core.links import parse_link

    parsed = parse_link(link, allow_insecure_http=True)
    other = bytes([parsed.key[0] ^ 1]) + parsed.key[1:]
    return f"{link.split('#')[0]}#{b64.encode(other)}"


# -- processes on a terminal ------------------------------------------------------------------


def _signals_as_from_a_shell() -> None:
    """In the child: Ctrl-C and Ctrl-\\ as an interactive shell leaves them for a command it
    starts. A test run started in the background of a non-interactive shell (``cmd &``)
    inherits SIGINT ignored, and so would every child; Python then installs no
    KeyboardInterrupt handler and the Ctrl-C tests would wait for an exit that never comes."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)


class Terminal:
    """``python -m ots_cli ARGS`` (or ``command ARGS``) with stdin and stderr on one
    pseudo-terminal (the person's screen and keyboard) and stdout on another pseudo-terminal or
    a pipe."""

    def __init__(
        self,
        argv: list[str],
        env: Mapping[str, str],
        *,
        stdout_tty: bool = False,
        cwd: Path | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        import pty
        import subprocess
        import sys

        self.screen_fd, screen_slave = pty.openpty()
        if stdout_tty:
            self.out_fd, out_slave = pty.openpty()
        else:
            self.out_fd, out_slave = os.pipe()
        self.process = subprocess.Popen(
            [*(command or (sys.executable, "-m", "ots_cli")), *argv],
            stdin=screen_slave,
            stdout=out_slave,
            stderr=screen_slave,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_signals_as_from_a_shell,
        )
        self._screen_path = os.ttyname(screen_slave)
        os.close(screen_slave)
        os.close(out_slave)
        self.screen = b""
        self.out = b""
        self._open = {self.screen_fd, self.out_fd}
        self._held: int | None = None

    def hold_input(self) -> None:
        """Keep the keyboard side open after the process exits, as the shell that started it
        does, so that :meth:`unread_input` can see what the process left unread."""
        self._held = os.open(self._screen_path, os.O_RDWR | os.O_NOCTTY)

    def unread_input(self, timeout: float = 30) -> bytes:
        """After the process exited: the input it left behind, which a shell would read next."""
        import termios

        assert self._held is not None, "call hold_input() while the process runs"
        self.process.wait(timeout=timeout)
        raw = termios.tcgetattr(self._held)
        raw[3] &= ~termios.ICANON  # a partial line counts too
        raw[6][termios.VMIN] = 0
        raw[6][termios.VTIME] = 0
        termios.tcsetattr(self._held, termios.TCSANOW, raw)
        left = os.read(self._held, 65536)
        os.close(self._held)
        self._held = None
        return left

    def _pump(self, timeout: float) -> None:
        import select

        if not self._open:
            return
        ready, _, _ = select.select(list(self._open), [], [], timeout)
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the other side of a pseudo-terminal closed
                data = b""
            if not data:
                self._open.discard(fd)
            elif fd == self.screen_fd:
                self.screen += data
            else:
                self.out += data

    def expect(self, text: bytes, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            if time.monotonic() > deadline or (not self._open):
                raise AssertionError(f"{text!r} not on the screen: {self.screen!r}")
            self._pump(0.1)

    def type(self, data: bytes) -> None:
        os.write(self.screen_fd, data)

    def echo_is_on(self) -> bool:
        import termios

        return bool(termios.tcgetattr(self.screen_fd)[3] & termios.ECHO)

    def finish(self, timeout: float = 30) -> int:
        import subprocess

        deadline = time.monotonic() + timeout
        while self._open and time.monotonic() < deadline:  # until both ends report EOF
            self._pump(0.1)
        try:
            code = self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for fd in (self.screen_fd, self.out_fd, self._held):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
