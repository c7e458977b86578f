"""How the benchmark starts each contender, all on 127.0.0.1 and free ports.

- ``redis``: a Redis the benchmark owns: no persistence (``appendonly no``, ``save ""``, as
  SnapPass's quick start and a plain ``redis-server`` run), ``maxmemory-policy noeviction``
  (which ots requires), no memory limit. ots uses database 0, SnapPass database 1.
- ``ots``: ``ots-server serve`` from the project's virtual environment, on SQLite (a
  temporary data directory) or on that Redis, with the full protocol; the rate limit is on,
  at ``RATE_LIMIT`` requests per minute with a burst of ``RATE_LIMIT``, so it is checked on
  every POST but never trips; log level ``warning`` (no line per request; SnapPass under
  gunicorn writes no access log either).
- ``snappass``: SnapPass under gunicorn (its own venv), ``NO_SSL=True`` so links are plain
  http, ``REDIS_URL`` pointing at database 1. Workers are gunicorn's ``gthread`` with
  ``SNAPPASS_THREADS`` threads, which keep connections alive: about 25 % more pairs per second
  than the default ``sync`` workers (which close every connection) when this was written, so
  SnapPass gets its fastest configuration.
- ``ceiling``: bench/ceiling.py under uvicorn with the options ``ots-server serve`` passes.
- ``floor``: bench/floor.py (the smallest app doing what ots's create and reveal must) under
  the same uvicorn options, on a SQLite file or on the benchmark's Redis (database 0).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench.procs import Proc, Processes, free_port, wait_http, wait_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: ots rate limit for the benchmark: checked on every POST, far above what a run sends.
RATE_LIMIT = 1_000_000
#: ``OTS_MAX_UPLOADS_PER_CLIENT`` of the servers measured: every upload slot for one client.
UPLOAD_SHARE = 100_000
#: gunicorn threads per SnapPass worker (``--worker-class gthread``).
SNAPPASS_THREADS = 4


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    return {name: os.environ[name] for name in keep if name in os.environ}


def start_redis(procs: Processes, data_dir: Path) -> Proc:
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--protected-mode",
        "yes",
        "--dir",
        str(data_dir),
        "--appendonly",
        "no",
        "--save",
        "",
        "--maxmemory",
        "0",
        "--maxmemory-policy",
        "noeviction",
        "--databases",
        "2",
    ]
    proc = procs.start("redis", argv, _base_env(), port)
    wait_port(proc)
    return proc


def redis_url(redis: Proc, db: int) -> str:
    return f"redis://127.0.0.1:{redis.port}/{db}"


def start_ots(
    procs: Processes,
    name: str,
    *,
    workers: int,
    store_url: str | None,
    data_dir: Path,
    extra_env: dict[str, str] | None = None,
) -> Proc:
    """``extra_env``: more environment for the server (bench/ab.py: ``PYTHONPATH`` to run
    another checkout's ``backend``, or settings)."""
    port = free_port()
    env = {
        **_base_env(),
        "OTS_DATA_DIR": str(data_dir),
        "OTS_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
        "OTS_RATE_LIMIT_BURST": str(RATE_LIMIT),
        # The load comes from one address: no share of the upload slots per client.
        "OTS_MAX_UPLOADS_PER_CLIENT": str(UPLOAD_SHARE),
        "OTS_LOG_LEVEL": "warning",
    }
    if store_url is not None:
        env["OTS_STORE_URL"] = store_url
    env.update(extra_env or {})
    argv = [
        str(BIN / "ots-server"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    proc = procs.start(name, argv, env, port)
    wait_http(proc, "/readyz")
    return proc


def start_snappass(procs: Processes, name: str, *, venv: Path, workers: int, url: str) -> Proc:
    port = free_port()
    env = {**_base_env(), "REDIS_URL": url, "NO_SSL": "True"}
    argv = [
        str(venv / "bin" / "gunicorn"),
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(SNAPPASS_THREADS),
        "--bind",
        f"127.0.0.1:{port}",
        "--no-control-socket",
        "--log-level",
        "warning",
        "snappass.main:app",
    ]
    proc = procs.start(name, argv, env, port)
    wait_http(proc, "/")
    return proc


def _uvicorn(app: str, port: int, workers: int) -> list[str]:
    """uvicorn with the options ``ots-server serve`` passes (access log, server header and
    proxy headers off, log level warning)."""
    return [
        str(BIN / "python"),
        "-m",
        "uvicorn",
        "--app-dir",
        str(ROOT),
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--no-server-header",
        "--no-proxy-headers",
        "--log-level",
        "warning",
    ]


def start_ceiling(procs: Processes) -> Proc:
    port = free_port()
    proc = procs.start("ceiling", _uvicorn("bench.ceiling:app", port, 1), _base_env(), port)
    wait_http(proc, "/json")
    return proc


def start_floor(procs: Processes, name: str, *, workers: int, store: str) -> Proc:
    """bench/floor.py on ``store``: a SQLite file path or a ``redis://`` URL."""
    port = free_port()
    env = {**_base_env(), "FLOOR_STORE": store}
    proc = procs.start(name, _uvicorn("bench.floor:app", port, workers), env, port)
    wait_http(proc, "/readyz")
    return proc
