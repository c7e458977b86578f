"""A/B: ots-server (SQLite, one worker) in two or more configurations, runs interleaved.

    python -m bench.ab 'head:PYTHONPATH=/tmp/ots-head/backend' 'new:'
    python -m bench.ab --rounds 5 'default:' 'no-limit:OTS_RATE_LIMIT_PER_MINUTE=0'
    python -m bench.ab --floor --seconds 8 'ots:' 'p4k:PYTHONPATH=/tmp/p4k/backend'

Each argument is ``NAME:VAR=VALUE,VAR=VALUE`` (nothing after the colon: the defaults); the
variables go into the server's environment (``PYTHONPATH`` pointing at another checkout's
``backend`` runs that code with this environment's packages). ``--floor`` adds bench/floor.py
on SQLite as one more contender. Every round starts a fresh server per configuration on a
free 127.0.0.1 port and runs wrk creates, then pairs, with 16 connections (bench/lua/ots.lua,
pre-built secrets as in bench/compare.py).

Each run also reads the server's CPU (user and system time of its process group, from
``/proc``) before and after, so besides the rates it reports CPU per create and per pair: on a
machine shared with other jobs the rates move with whatever else runs, while the CPU a request
costs moves much less. Each run also prints the size of the store's WAL file after it. The
medians per configuration come last, with their spread; on a noisy machine, only back-to-back
rounds like these tell a real difference from drift, and a difference smaller than the spread
between rounds is none.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench import servers
from bench.load import wrk
from bench.pool import build_pool
from bench.procs import Processes, group_times

CONNECTIONS = 16
#: Secrets per run and second of it (more than one worker can take; the floor takes more).
RATE = 6000
MODES = ("create", "pairs")
FLOOR = "floor"


def _config(spec: str) -> tuple[str, dict[str, str]]:
    name, sep, assignments = spec.partition(":")
    if not sep or not name:
        raise SystemExit(f"expected NAME:VAR=VALUE,...: {spec!r}")
    env = dict(item.split("=", 1) for item in assignments.split(",") if item)
    return name, env


@dataclass
class Figures:
    """One configuration's runs of one mode: per second, µs CPU per unit, p99 / p50."""

    rates: list[float] = field(default_factory=list)
    user_us: list[float] = field(default_factory=list)
    system_us: list[float] = field(default_factory=list)
    tails: list[float] = field(default_factory=list)

    @property
    def cpu_us(self) -> list[float]:
        return [u + s for u, s in zip(self.user_us, self.system_us, strict=True)]


def _spread(values: list[float], unit: str = "") -> str:
    return f"{statistics.median(values):7.0f}{unit} ({min(values):.0f}-{max(values):.0f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="+", help="NAME:VAR=VALUE,... (two, or one and --floor)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0, help="per wrk run")
    parser.add_argument("--floor", action="store_true", help="bench/floor.py on SQLite too")
    args = parser.parse_args()
    configs = [_config(spec) for spec in args.configs]
    if args.floor:
        configs.append((FLOOR, {}))
    if len(configs) < 2:
        parser.error("give at least two configurations (or one and --floor)")
    if len({name for name, _ in configs}) < len(configs):
        parser.error(f"every configuration needs a name of its own ({FLOOR!r} is the floor's)")
    work = Path(tempfile.mkdtemp(prefix="ots-ab-"))
    (work / "logs").mkdir()
    procs = Processes(work / "logs")
    per_run = int(args.seconds * RATE)
    pool = build_pool(work / "pool.bin", per_run * len(MODES) * len(configs) * args.rounds)
    start = 0
    figures = {name: {mode: Figures() for mode in MODES} for name, _ in configs}
    try:
        for round_ in range(args.rounds):
            for name, env in configs:
                data = work / f"{name}-{round_}"
                data.mkdir()
                if name == FLOOR:
                    proc = servers.start_floor(procs, name, workers=1, store=str(data / "f.db"))
                else:
                    proc = servers.start_ots(
                        procs, name, workers=1, store_url=None, data_dir=data, extra_env=env
                    )
                try:
                    for mode in MODES:
                        before = group_times(proc.pid)
                        run = wrk(
                            name,
                            mode,
                            "ots.lua",
                            proc.url,
                            pool.lua_args(mode, start, per_run, 1),
                            connections=CONNECTIONS,
                            duration=args.seconds,
                            log=work / "wrk.log",
                        )
                        after = group_times(proc.pid)
                        start += per_run
                        if run.failed:
                            raise SystemExit(f"{name} {mode}: errors {run.errors}")
                        units = max(1, run.npairs if mode == "pairs" else run.good)
                        user = (after[0] - before[0]) / units * 1e6
                        system = (after[1] - before[1]) / units * 1e6
                        got = figures[name][mode]
                        got.rates.append(run.per_second)
                        got.user_us.append(user)
                        got.system_us.append(system)
                        got.tails.append(run.p99_ms / run.p50_ms if run.p50_ms else 0.0)
                        # The WAL file's size after the run: its largest so far (SQLite reuses
                        # the file from its start when the WAL restarts, and never shrinks it
                        # but in a TRUNCATE checkpoint).
                        wal = sum(p.stat().st_size for p in data.rglob("*-wal")) / 1e6
                        print(
                            f"round {round_ + 1} {name:10} {mode:6} {run.per_second:7.0f}/s "
                            f"{user + system:6.0f} µs CPU per {mode.rstrip('s')}"
                            f" (user {user:4.0f}, system {system:4.0f})  "
                            f"p50 {run.p50_ms:6.2f} ms p99 {run.p99_ms:6.2f} ms  WAL {wal:.0f} MB",
                            flush=True,
                        )
                finally:
                    procs.stop(proc)
        print(
            f"\nmedians of {args.rounds} rounds (spread), {CONNECTIONS} connections, 1 worker,"
            " SQLite; µs of server CPU per create or pair"
        )
        for name, _ in configs:
            for mode in MODES:
                got = figures[name][mode]
                print(
                    f"  {name:10} {mode:6} {_spread(got.rates, '/s')}  "
                    f"CPU {_spread(got.cpu_us)} = user {statistics.median(got.user_us):4.0f}"
                    f" + system {statistics.median(got.system_us):4.0f}  "
                    f"p99/p50 {statistics.median(got.tails):.1f}"
                )
    finally:
        procs.stop_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
