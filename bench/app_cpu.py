"""CPU per request inside the server process: the ots ASGI app called directly, no HTTP server.

    python -m bench.app_cpu                  # memory, SQLite and Redis; creates and pairs
    python -m bench.app_cpu --store sqlite --rounds 7

Builds the real app (``create_app``, full protocol, rate limiter on but never tripping) on each
store and drives it from 16 concurrent tasks with pre-built create frames and reveal bodies
(bench/pool.py), each request a complete ASGI call with its own scope. Reports the process CPU
time (all threads: event loop, SQLite writer, Redis client) per create and per create+reveal
pair: the part of a request's cost that is ots's own code, its store client and the
frameworks under it, without uvicorn or the load generator competing for the two cores. Redis
is a ``redis-server`` of its own on a free 127.0.0.1 port, stopped at the end.

Each figure is the minimum over ``--rounds`` runs (noise on a shared machine only adds time);
the median is printed next to it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import servers
from bench.pool import Prebuilt, prebuilt
from bench.procs import Processes
from ots_server.app import create_app
from ots_server.settings import Settings
from ots_server.store import Store, open_store
from ots_server.store.memory.store import MemoryStore

CONCURRENCY = 16
WARMUP = 400

Receive = Callable[[], Awaitable[dict[str, Any]]]


def _scope(path: str, content_type: bytes, length: int) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", content_type),
            (b"content-length", str(length).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def _post(app: Any, path: str, content_type: bytes, body: bytes, expect: int) -> None:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # a client that stays connected
        raise AssertionError("unreachable")

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(_scope(path, content_type, len(body)), receive, send)
    if statuses != [expect]:
        raise RuntimeError(f"POST {path.split('/')[3]}: {statuses}, expected {expect}")


async def _one(app: Any, secret: Prebuilt, pair: bool) -> None:
    await _post(app, "/api/v1/secrets", b"application/vnd.ots.secret", secret.create_frame, 201)
    if pair:
        path = f"/api/v1/secrets/{secret.id_text}/reveal"
        await _post(app, path, b"application/json", secret.reveal_body, 200)


async def _drive(app: Any, secrets: list[Prebuilt], pair: bool) -> None:
    queue = iter(secrets)

    async def worker() -> None:
        for secret in queue:
            await _one(app, secret, pair)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


def _open(kind: str, data: Path, redis_url: str | None) -> tuple[Settings, Store]:
    env = {
        "OTS_DATA_DIR": str(data),
        "OTS_RATE_LIMIT_PER_MINUTE": str(servers.RATE_LIMIT),
        "OTS_RATE_LIMIT_BURST": str(servers.RATE_LIMIT),
        "OTS_MAX_UPLOADS_PER_CLIENT": str(servers.UPLOAD_SHARE),
        "OTS_LOG_LEVEL": "warning",
    }
    if kind == "redis":
        assert redis_url is not None
        env["OTS_STORE_URL"] = redis_url
    settings = Settings.from_env(env)
    if kind == "memory":
        return settings, MemoryStore()
    return settings, open_store(settings.store_url, max_store_bytes=settings.max_store_bytes)


async def _measure(
    kind: str, data: Path, redis_url: str | None, secrets: list[Prebuilt], pair: bool
) -> float:
    """Process CPU seconds per request unit (a create, or a pair) over ``secrets``."""
    settings, store = _open(kind, data, redis_url)
    app = create_app(settings, store, owns_store=False)
    try:
        await _drive(app, secrets[:WARMUP], pair)
        measured = secrets[WARMUP:]
        started = time.process_time()
        await _drive(app, measured, pair)
        return (time.process_time() - started) / len(measured)
    finally:
        await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["memory", "sqlite", "redis"], action="append")
    parser.add_argument("--count", type=int, default=3000, help="requests per run (creates)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    figures_out: dict[str, dict[str, dict[str, float]]] = {}
    kinds = args.store or ["memory", "sqlite", "redis"]
    work = Path(tempfile.mkdtemp(prefix="ots-app-cpu-"))
    (work / "logs").mkdir()
    procs = Processes(work / "logs")
    try:
        redis_url = None
        if "redis" in kinds:
            redis = servers.start_redis(procs, work / "redis")
            redis_url = servers.redis_url(redis, 0)
        runs = len(kinds) * 2 * args.rounds
        pool = iter(list(prebuilt((args.count + WARMUP) * runs)))
        print(f"{'store':8} {'unit':7} {'min µs':>8} {'median µs':>10}   ({args.rounds} rounds)")
        for kind in kinds:
            for pair in (False, True):
                figures = []
                for round_ in range(args.rounds):
                    secrets = [next(pool) for _ in range(args.count + WARMUP)]
                    data = work / f"{kind}-{pair}-{round_}"
                    data.mkdir()
                    figures.append(asyncio.run(_measure(kind, data, redis_url, secrets, pair)))
                unit = "pair" if pair else "create"
                figures_out.setdefault(kind, {})[unit] = {
                    "min_us": min(figures) * 1e6,
                    "median_us": statistics.median(figures) * 1e6,
                    "rounds": args.rounds,
                    "count": args.count,
                }
                print(
                    f"{kind:8} {unit:7} {min(figures) * 1e6:8.0f} "
                    f"{statistics.median(figures) * 1e6:10.0f}",
                    flush=True,
                )
    finally:
        procs.stop_all()
    if args.json:
        args.json.write_text(json.dumps(figures_out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
