"""The comparison's wrk runs, contender by contender (bench/compare.py drives them).

``Cursor`` hands out disjoint slices of the pre-built pool, so no secret is created twice and
every create is a real, new one. ``Bench`` runs wrk against one contender at a time and keeps
every measured run (warm-ups are run and dropped); each run carries the server's CPU, read
from its process group, so CPU per unit comes from the same seconds as the throughput.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import scale, servers
from bench.load import Run, wrk
from bench.pool import Pool
from bench.procs import Proc, Processes, group_cpu

#: The floor (bench/floor.py) outruns ots: its slices are cut for this many times the pool rate.
#: Its fastest run (creates on Redis, 2 workers: 7,812/s against a pool rate of 6,000/s) must
#: not run out of requests, or the run is invalid (``pool_exhausted``); 3x leaves it room.
#: Its runs (warm-up, create, pairs) are fewer than ots's, so the pool still covers them.
FLOOR_RATE = 3.0
#: The measured runs of ots (and of the floor, which has no ``create@1``), after a warm-up.
OTS_MODES = ("create", "pairs", "create@1")
FLOOR_MODES = ("create", "pairs")


class Cursor:
    """Hands out consecutive, disjoint slices of the pool: no secret is created twice."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.next = 0

    def take(self, count: int) -> int:
        start = self.next
        self.next += count
        if self.next > self.pool.count:
            raise RuntimeError("the pool is too small for this run; raise --pool-rate")
        return start


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path, procs: Processes) -> None:
        self.args = args
        self.work = work
        self.procs = procs
        self.runs: list[Run] = []
        #: What failed, each naming its part: bench/compare.py exits 2 when this is not empty.
        self.failures: list[str] = []
        self.log = work / "wrk.log"

    def say(self, message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    @contextmanager
    def part(self, name: str) -> Iterator[None]:
        """Run one part of the comparison; a failure is recorded under ``name``, said at once,
        and the comparison goes on with the next part (the parts after it still measure)."""
        try:
            yield
        except Exception as exc:
            detail = str(exc).strip() or type(exc).__name__
            self.failures.append(f"{name}: {detail}")
            self.say(f"FAILED: {name}: {detail}")
            traceback.print_exc(file=sys.stderr)

    def record(self, run: Run) -> Run:
        self.runs.append(run)
        if run.failed:
            bad = {k: v for k, v in run.errors.items() if v}
            self.failures.append(f"wrk run {run.contender} {run.mode}: errors {bad}")
        status = "FAILED " + str({k: v for k, v in run.errors.items() if v}) if run.failed else ""
        self.say(
            f"  {run.contender:14} {run.mode:14} c={run.connections:<3} "
            f"{run.per_second:9.1f}/s  p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms {status}"
        )
        return run

    def slice_size(self, duration: float, connections: int, speed: float = 1.0) -> int:
        rate = float(self.args.pool_rate) if connections > 1 else self.args.pool_rate / 2
        return math.ceil(duration * rate * speed)

    def ots_run(
        self,
        name: str,
        proc: Proc,
        cursor: Cursor,
        mode: str,
        label: str,
        connections: int,
        duration: float,
    ) -> Run:
        count = self.slice_size(duration, connections, FLOOR_RATE if is_floor(name) else 1.0)
        start = cursor.take(count)
        args = cursor.pool.lua_args(mode, start, count, 1)
        run = wrk(
            name,
            label,
            "ots.lua",
            proc.url,
            args,
            connections=connections,
            duration=duration,
            log=self.log,
            server_cpu=lambda: group_cpu(proc.pid),
        )
        return run

    def ots(self, name: str, proc: Proc, cursor: Cursor, *, one_connection: bool) -> None:
        a = self.args
        self.ots_run(name, proc, cursor, "pairs", "warmup", a.connections, a.warmup)
        self.record(self.ots_run(name, proc, cursor, "create", "create", a.connections, a.duration))
        self.record(self.ots_run(name, proc, cursor, "pairs", "pairs", a.connections, a.duration))
        if one_connection:
            self.record(self.ots_run(name, proc, cursor, "create", "create@1", 1, a.duration))

    def snappass(self, name: str, proc: Proc) -> None:
        a = self.args
        wrk(
            name,
            "warmup",
            "snappass.lua",
            proc.url,
            ["pairs"],
            connections=a.connections,
            duration=a.warmup,
            log=self.log,
        )
        for mode in ("create", "pairs"):
            self.record(
                wrk(
                    name,
                    mode,
                    "snappass.lua",
                    proc.url,
                    [mode],
                    connections=a.connections,
                    duration=a.duration,
                    log=self.log,
                    server_cpu=lambda: group_cpu(proc.pid),
                )
            )

    def ceiling(self) -> None:
        a = self.args
        proc = servers.start_ceiling(self.procs)
        try:
            wrk(
                "ceiling",
                "warmup",
                "ceiling.lua",
                proc.url,
                [],
                connections=a.connections,
                duration=a.warmup,
                log=self.log,
            )
            self.record(
                wrk(
                    "ceiling",
                    "json",
                    "ceiling.lua",
                    proc.url,
                    [],
                    connections=a.connections,
                    duration=a.duration,
                    log=self.log,
                    server_cpu=lambda: group_cpu(proc.pid),
                )
            )
        finally:
            self.procs.stop(proc)


def is_floor(name: str) -> bool:
    return name.startswith("floor-")


def durable(port: int, *, on: bool) -> None:
    """Switch the benchmark's Redis to ots's durable mode (or back), once the log is written."""
    if on:
        scale.redis_cli(port, "CONFIG", "SET", "appendfsync", "always")
        scale.redis_cli(port, "CONFIG", "SET", "appendonly", "yes")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            info = scale.redis_cli(port, "INFO", "persistence")
            if "aof_rewrite_in_progress:0" in info and "aof_rewrite_scheduled:0" in info:
                break
            time.sleep(0.1)
    else:
        scale.redis_cli(port, "CONFIG", "SET", "appendonly", "no")
