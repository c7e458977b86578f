"""Where a create+reveal pair's CPU goes inside the server process, function by function.

    python -m bench.app_profile                       # SQLite, cProfile of the event loop
    python -m bench.app_profile --store memory --top 40
    python -m bench.app_profile --store redis         # a redis-server of its own
    python -m bench.app_profile --sort tottime --callers lane.py

Drives the real app exactly as bench/app_cpu.py does (``create_app``, full protocol, 16
concurrent tasks calling it as ASGI, pre-built create frames and reveal bodies), with the
event loop's thread under cProfile (the SQLite writer thread is not profiled: its CPU is the
process CPU minus the loop thread's, both printed). With ``--store redis`` the store is a
``redis-server`` of its own on a free 127.0.0.1 port, stopped at the end; its CPU is not
counted. Prints the process CPU per pair and the
loop thread's, then the top functions. cProfile inflates Python-level calls relative to C
calls; use it for the shape, and bench/app_cpu.py (no profiler) for the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import resource
import tempfile
import threading
import time
from pathlib import Path

from bench import servers
from bench.app_cpu import WARMUP, _drive, _open
from bench.pool import prebuilt
from bench.procs import Processes
from ots_server.app import create_app

#: Where a function's own time is charged, by its file (first match wins); builtins by name.
PARTS = [
    ("ots_server/middleware/ratelimit.py", "ots: rate limiter (subject, keyed hash, bucket)"),
    ("ots_server/middleware/observe.py", "ots: access log and metrics"),
    ("ots_server/metrics.py", "ots: access log and metrics"),
    ("ots_server/middleware/headers.py", "ots: security headers"),
    ("ots_server/middleware/auth.py", "ots: authentication (no token: a header scan)"),
    ("ots_server/bodies.py", "ots: body reading and checks"),
    ("ots_server/codec.py", "ots: body reading and checks"),
    ("ots_server/store/sqlite/", "ots: store, event-loop side (lane hand-off)"),
    ("ots_server/store/redis/", "ots: Redis store (script calls, replies)"),
    ("redis/asyncio/connection.py", "redis-py: connection (send, read, timeouts)"),
    ("redis/asyncio/", "redis-py: client (pool, retry, script, command)"),
    ("redis/_parsers/", "redis-py: RESP parsing"),
    ("redis/", "redis-py: other"),
    ("ots_server/store/", "ots: store, event-loop side (lane hand-off)"),
    ("ots_server/", "ots: handlers"),
    ("json/", "json (stdlib)"),
    ("base64.py", "base64 (stdlib)"),
    ("starlette/routing.py", "Starlette: routing and request_response"),
    ("starlette/_exception_handler.py", "Starlette: exception wrappers"),
    ("starlette/middleware/", "Starlette: exception wrappers"),
    ("starlette/responses.py", "Starlette: responses"),
    ("starlette/requests.py", "Starlette: Request, headers, stream"),
    ("starlette/datastructures.py", "Starlette: Request, headers, stream"),
    ("starlette/", "Starlette: other"),
    ("asyncio/timeouts.py", "asyncio: upload timeout"),
    ("asyncio/", "asyncio: event loop, tasks, futures"),
    ("concurrent/", "thread hand-off (executor, queue)"),
    ("threading.py", "thread hand-off (executor, queue)"),
    ("bench/", "the driver (bench/app_cpu.py: scopes, receive, send)"),
]
BUILTINS = [
    ("epoll", "waiting (epoll: idle, not CPU)"),
    ("SimpleQueue", "thread hand-off (executor, queue)"),
    ("hmac", "hashing (hmac, sha256) and randomness"),
    ("sha256", "hashing (hmac, sha256) and randomness"),
    ("urandom", "hashing (hmac, sha256) and randomness"),
    ("json", "json (stdlib)"),
    ("binascii", "base64 (stdlib)"),
]


def parts(stats: pstats.Stats, count: int) -> list[tuple[str, float]]:
    """Own time per part, in µs per pair."""
    charged: dict[str, float] = {}
    for (file, _, name), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        label = next((lab for pat, lab in PARTS if pat in file), None)
        if label is None:
            label = next((lab for pat, lab in BUILTINS if pat in name), "other builtins (C)")
        charged[label] = charged.get(label, 0.0) + own
    return sorted(((k, v / count * 1e6) for k, v in charged.items()), key=lambda kv: -kv[1])


def _threads() -> dict[str, tuple[float, float]]:
    """(user, system) CPU seconds of each thread of this process, summed by thread name."""
    tick = os.sysconf("SC_CLK_TCK")
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    out: dict[str, tuple[float, float]] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            name = names.get(int(tid), "other")
            fields = Path(f"/proc/self/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = name.rstrip("0123456789_")
        user, system = out.get(name, (0.0, 0.0))
        out[name] = (user + int(fields[11]) / tick, system + int(fields[12]) / tick)
    return out


async def _run(
    kind: str, data: Path, count: int, profile: bool, redis_url: str | None
) -> cProfile.Profile | None:
    settings, store = _open(kind, data, redis_url)
    app = create_app(settings, store, owns_store=False)
    secrets = list(prebuilt(count + WARMUP))
    profiler = cProfile.Profile() if profile else None
    try:
        await _drive(app, secrets[:WARMUP], True)
        started, thread = time.process_time(), time.thread_time()
        usage, threads = resource.getrusage(resource.RUSAGE_SELF), _threads()
        if profiler:
            profiler.enable()
        await _drive(app, secrets[WARMUP:], True)
        if profiler:
            profiler.disable()
        cpu, loop = time.process_time() - started, time.thread_time() - thread
        after, threads_after = resource.getrusage(resource.RUSAGE_SELF), _threads()
        print(
            f"{kind}: {cpu / count * 1e6:.0f} µs CPU per pair (process), "
            f"{loop / count * 1e6:.0f} µs on the event loop's thread"
            + (" (under cProfile)" if profiler else "")
        )
        print(
            f"  user {(after.ru_utime - usage.ru_utime) / count * 1e6:.0f} µs, "
            f"system {(after.ru_stime - usage.ru_stime) / count * 1e6:.0f} µs, "
            f"voluntary switches {(after.ru_nvcsw - usage.ru_nvcsw) / count:.2f}, "
            f"involuntary {(after.ru_nivcsw - usage.ru_nivcsw) / count:.2f} per pair"
        )
        for name, (user, system) in sorted(threads_after.items()):
            was = threads.get(name, (0.0, 0.0))
            print(
                f"  thread {name:24} user {(user - was[0]) / count * 1e6:4.0f} µs, "
                f"system {(system - was[1]) / count * 1e6:4.0f} µs per pair (clock ticks)"
            )
    finally:
        await store.close()
    return profiler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["memory", "sqlite", "redis"], default="sqlite")
    parser.add_argument("--count", type=int, default=2000, help="pairs")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--callers", help="also print the callers of functions matching this")
    parser.add_argument("--no-profile", action="store_true", help="only the CPU figures")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ots-app-profile-") as work:
        (Path(work) / "logs").mkdir()
        procs = Processes(Path(work) / "logs")
        try:
            redis_url = None
            if args.store == "redis":
                redis_url = servers.redis_url(servers.start_redis(procs, Path(work) / "redis"), 0)
            run = _run(args.store, Path(work), args.count, not args.no_profile, redis_url)
            profiler = asyncio.run(run)
        finally:
            procs.stop_all()
    if profiler is not None:
        print("own time per part, µs per pair under cProfile (wall time of the loop's thread):")
        for label, micros in parts(pstats.Stats(profiler), args.count):
            print(f"  {micros:7.1f}  {label}")
        stats = pstats.Stats(profiler).strip_dirs().sort_stats(args.sort)
        stats.print_stats(args.top)
        if args.callers:
            stats.print_callers(args.callers)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
