"""Does the Redis sweeper slow requests on a large store? (bench/README.md, "Redis sweep").

Starts its own ``redis-server`` (nothing on disk) and ``ots-server serve`` on it, both on free
127.0.0.1 ports, fills Redis with ``--records`` secrets exactly as the server writes them
(:func:`scale.fill_redis`), sets ``OTS_SWEEP_INTERVAL=5s`` so that several sweeps fall in the
window, then times ``GET /readyz`` round trips (a Redis PING through the app's event loop, one
connection, one at a time) for ``--seconds`` and prints p50, p90, p99 and max. Run it with a
small ``--records`` for the baseline of the same machine.

Usage::

    python -m bench.sweep [--records 300000] [--seconds 20]

Every process it starts is stopped at the end, also on an error or Ctrl-C (:mod:`procs`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.procs import Processes, free_port, wait_http, wait_port
from bench.scale import fill_redis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        processes = Processes(Path(work))
        try:
            redis_port, server_port = free_port(), free_port()
            redis = processes.start(
                "redis",
                ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", ""],
                dict(os.environ),
                redis_port,
            )
            wait_port(redis)
            started = time.monotonic()
            fill_redis(redis_port, args.records, [], 1671)
            print(f"filled {args.records:,} records in {time.monotonic() - started:.1f} s")
            env = {
                **os.environ,
                "OTS_STORE_URL": f"redis://127.0.0.1:{redis_port}/0",
                "OTS_SWEEP_INTERVAL": "5s",
                "OTS_LOG_LEVEL": "warning",
                "OTS_REDIS_ALLOW_EVICTION": "true",
            }
            serve = [str(Path(sys.executable).parent / "ots-server"), "serve"]
            server = processes.start(
                "ots-server",
                [*serve, "--host", "127.0.0.1", "--port", str(server_port)],
                env,
                server_port,
            )
            wait_http(server, "/readyz")
            times: list[float] = []
            with httpx.Client() as client:
                deadline = time.monotonic() + args.seconds
                while time.monotonic() < deadline:
                    begin = time.perf_counter()
                    client.get(f"{server.url}/readyz").raise_for_status()
                    times.append((time.perf_counter() - begin) * 1000)
            times.sort()

            def at(share: float) -> float:
                return times[min(len(times) - 1, int(len(times) * share))]

            print(
                f"/readyz during sweeps: n={len(times)} p50={at(0.5):.2f} p90={at(0.9):.2f} "
                f"p99={at(0.99):.2f} max={times[-1]:.1f} ms"
            )
        finally:
            processes.stop_all()


if __name__ == "__main__":
    main()
