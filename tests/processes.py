"""Real ``ots-server`` processes for every suite (tests/cli, tests/server, tests/web): one free
port helper, one readiness wait, one server-process helper.

``ServerProcess`` runs ``ots-server serve`` in a process group of its own on a free 127.0.0.1
port, on the SQLite file ``db_path`` unless ``env`` names another store, with its output in
``log_path``. Its environment is the test's minus every ``OTS_*`` variable (the suites'
isolation sets some for the CLI, never meant for a server), plus the rate limit off and a
per-client upload cap no single-address test reaches, plus ``env``. ``kill`` and ``stop``
signal the whole group, so no uvicorn worker outlives its test; :func:`running_server` always
kills it. A start that loses the race for its port (another process took it between
:func:`free_port` and the bind) is retried on a new port, up to three times.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx


def free_port() -> int:
    """A 127.0.0.1 TCP port nothing listens on now (the kernel's choice, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_command() -> list[str]:
    """``ots-server`` as installed next to this interpreter (or its entry point, run by it)."""
    script = Path(sys.executable).with_name("ots-server")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from ots_server.cli import entry; entry()"]


def wait_until_ready(
    client: httpx.Client,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
) -> bool:
    """Poll ``GET /readyz`` through ``client`` until it answers 200 (True), ``process`` exits
    or ``timeout`` seconds pass (False). Connection errors count as not ready yet: a starting
    server is not listening, a recovering one may drop connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return False
        with contextlib.suppress(httpx.TransportError):
            if client.get("/readyz").status_code == 200:
                return True
        time.sleep(0.05)  # polling another process; there is no clock to inject
    return False


@dataclass
class ServerProcess:
    """``ots-server serve`` on the SQLite file ``db_path``; output appended to ``log_path``."""

    db_path: Path
    log_path: Path
    workers: int = 1
    env: Mapping[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @classmethod
    def in_directory(
        cls,
        directory: Path,
        *,
        name: str = "ots",
        workers: int = 1,
        env: Mapping[str, str] | None = None,
    ) -> ServerProcess:
        """A server (not started) whose database and log are ``directory/name.*``."""
        return cls(
            db_path=directory / f"{name}.sqlite3",
            log_path=directory / f"{name}.log",
            workers=workers,
            env=dict(env or {}),
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The server's process id, which is also its process group's."""
        assert self.process is not None, "the server is not running"
        return self.process.pid

    def start(self, timeout: float = 30.0) -> None:
        assert self.process is None
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("OTS_")}
        env = {
            **inherited,
            "OTS_STORE_URL": f"sqlite://{self.db_path}",
            "OTS_RATE_LIMIT_PER_MINUTE": "0",
            # Load tests send every upload from 127.0.0.1; tests of the share set their own.
            "OTS_MAX_UPLOADS_PER_CLIENT": "100000",
            **self.env,
        }
        # A port chosen in advance (``port``) is kept: a test that must name the server's URL in
        # its settings (OTS_PUBLIC_URL) picks it first.
        preset = self.port
        for _attempt in range(3):
            self.port = preset or free_port()
            with self.log_path.open("ab") as log:
                self.process = subprocess.Popen(
                    [
                        *server_command(),
                        *("serve", "--port", str(self.port), "--workers", str(self.workers)),
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            with httpx.Client(base_url=self.base_url, timeout=1.0) as client:
                if wait_until_ready(client, timeout, self.process):
                    return
            self.kill()
        raise RuntimeError("ots-server did not become ready:\n" + self.output())

    def kill(self) -> None:
        """SIGKILL the whole process group (uvicorn's supervisor and its workers)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        """Graceful stop (SIGTERM to the group), falling back to SIGKILL."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=15)
        self.kill()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(directory: Path, **env: str) -> ServerProcess:
    """A started server on ``directory/ots.sqlite3`` with the settings ``env``; the caller
    stops (or kills) it."""
    server = ServerProcess.in_directory(directory, env=env)
    server.start()
    return server


@contextlib.contextmanager
def running_server(
    tmp: Path, *, workers: int = 1, env: Mapping[str, str] | None = None, name: str = "ots"
) -> Iterator[ServerProcess]:
    """A started server on ``tmp/name.sqlite3``, killed on the way out."""
    server = ServerProcess.in_directory(tmp, name=name, workers=workers, env=env)
    try:
        server.start()
        yield server
    finally:
        server.kill()
