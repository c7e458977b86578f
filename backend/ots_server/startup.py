"""What ``ots-server`` checks and says before it serves: the directories of a SQLite store, the
listening socket, and the first log line.

Invariants:

- Only ``OTS_DATA_DIR`` is ever created (0700, with its parents), and only when the SQLite file
  is in it (the default store). A SQLite ``OTS_STORE_URL`` elsewhere must name a file in an
  existing directory: a missing one is refused, not created, so a typo in the path cannot put
  secrets somewhere unexpected.
- A directory counts as writable only if a probe file can be created and removed in it: the
  answer is the operating system's (root, read-only mounts, ACLs), not a guess from its mode.
- Every error is a :class:`StartupError` whose message names the setting or flag at fault.
- The listening socket is bound here, before the store is checked and before any worker starts,
  so a port in use is one line and exit status 3 instead of a log line after the app's start-up.
  It is a TCP socket (``IPPROTO_TCP``): asyncio then sets ``TCP_NODELAY`` on every connection,
  with one worker or several (without it, uvicorn issue 3149: every keep-alive response waited
  ~40 ms for the client's delayed ACK).
- :func:`store_description` never shows a credential: a Redis store is shown as its scheme,
  hosts, database and key prefix, never its user, password or options.
"""

from __future__ import annotations

import errno
import os
import socket
import tempfile
from pathlib import Path

from ots_server.settings import Settings
from ots_server.store.redis.url import parse_redis_url


class StartupError(Exception):
    """The server cannot start as configured; the message names the setting or the flag."""


def sqlite_path(settings: Settings) -> Path | None:
    """The SQLite file of the store, or None for Redis."""
    if settings.store_kind != "sqlite":
        return None
    return Path(settings.store_url.removeprefix("sqlite://"))


def _in_data_dir(settings: Settings, path: Path) -> bool:
    return path.parent == settings.data_dir


def prepare_directories(settings: Settings) -> None:
    """Create ``OTS_DATA_DIR`` if the store is in it; check the SQLite file's directory."""
    path = sqlite_path(settings)
    if path is None:
        return
    if _in_data_dir(settings, path):
        setting = "OTS_DATA_DIR"
        _make_directory(settings.data_dir, setting)
    else:
        setting = "OTS_STORE_URL"
        if not path.parent.exists():
            raise StartupError(
                f"{setting}: the directory {path.parent} does not exist; create it first "
                "(ots-server creates only OTS_DATA_DIR)"
            )
    if not path.parent.is_dir():
        raise StartupError(f"{setting}: {path.parent} is not a directory")
    _probe(path.parent, setting)
    if path.exists() and not path.is_file():
        raise StartupError(f"{setting}: {path} is not a file")


def _make_directory(directory: Path, setting: str) -> None:
    if directory.exists() and not directory.is_dir():
        raise StartupError(f"{setting}: {directory} is not a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise StartupError(f"{setting}: cannot create {directory}: {exc.strerror}") from None


def _probe(directory: Path, setting: str) -> None:
    """Create and remove a file in ``directory``; SQLite needs that for its -wal and -shm."""
    try:
        fd, name = tempfile.mkstemp(prefix=".ots-write-check-", dir=directory)
    except OSError as exc:
        raise StartupError(f"{setting}: cannot write in {directory}: {exc.strerror}") from None
    os.close(fd)
    os.unlink(name)


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (not yet listening: each worker's loop does that)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise StartupError(_bind_error(host, port, exc)) from None
    sock.set_inheritable(True)
    return sock


def _bind_error(host: str, port: int, exc: OSError) -> str:
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return (
            f"--port {port}: {where} is already in use (another process listens there); "
            "choose another port with --port"
        )
    if exc.errno == errno.EACCES:
        return f"--port {port}: permission denied (ports below 1024 need privileges)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"--host {host}: no network interface of this machine has that address"
    return f"--host {host} --port {port}: cannot listen on {where}: {exc.strerror or exc}"


def store_description(settings: Settings) -> tuple[str, dict[str, str | None]]:
    """The first log line: which store and which data directory are in use (no credentials)."""
    path = sqlite_path(settings)
    data_dir = str(settings.data_dir)
    if path is not None:
        fields: dict[str, str | None] = {"store": "sqlite", "data_dir": data_dir}
        if _in_data_dir(settings, path):
            return f"starting with the SQLite store {path} in OTS_DATA_DIR {data_dir}", fields
        fields["data_dir"] = None
        return (
            f"starting with the SQLite store {path} (OTS_STORE_URL; OTS_DATA_DIR {data_dir} "
            "is not used)",
            fields,
        )
    target = parse_redis_url(settings.store_url)
    scheme = settings.store_url.partition("://")[0]
    hosts = ",".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in target.hosts)
    where = f"{scheme}://{hosts}" + (f"/{target.service}" if target.service else "")
    if target.mode != "cluster":
        where += f"/{target.db}"
    return (
        f"starting with the Redis store {where} (prefix {target.prefix}); "
        "no data directory (Redis keeps everything)",
        {"store": "redis", "data_dir": None},
    )
