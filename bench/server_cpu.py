"""A/B of server CPU per create and per pair under real HTTP: ots-server (SQLite, one worker)
in two or more configurations, wrk runs interleaved.

    python -m bench.server_cpu 'base:PYTHONPATH=/tmp/ots-base/backend' 'new:'
    python -m bench.server_cpu --rounds 5 --seconds 8 'a:' 'b:OTS_RATE_LIMIT_PER_MINUTE=0'

Like bench/ab.py (same servers, wrk, Lua script and pre-built secrets), but each run also
reads the server's CPU (user + system of its process group, from ``/proc``) before and after,
so it reports CPU per create and per pair: on a machine shared with other jobs, the rates
move with whatever else runs, while the CPU a request costs moves much less. Each figure is
the median over the rounds; the spread is printed with it.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
from pathlib import Path

from bench import servers
from bench.ab import CONNECTIONS, RATE, _config
from bench.load import wrk
from bench.pool import build_pool
from bench.procs import Processes, group_cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="+", help="NAME:VAR=VALUE,... (at least two)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0, help="per wrk run")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    args = parser.parse_args()
    configs = [_config(spec) for spec in args.configs]
    work = Path(tempfile.mkdtemp(prefix="ots-server-cpu-"))
    (work / "logs").mkdir()
    procs = Processes(work / "logs")
    per_run = int(args.seconds * RATE)
    modes = ("create", "pairs")
    pool = build_pool(work / "pool.bin", per_run * len(modes) * len(configs) * args.rounds)
    start = 0
    cpu: dict[str, dict[str, list[float]]] = {name: {m: [] for m in modes} for name, _ in configs}
    rates: dict[str, dict[str, list[float]]] = {name: {m: [] for m in modes} for name, _ in configs}
    latency: dict[str, dict[str, list[tuple[float, float]]]] = {
        name: {m: [] for m in modes} for name, _ in configs
    }
    try:
        for round_ in range(args.rounds):
            for name, env in configs:
                data = work / f"{name}-{round_}"
                data.mkdir()
                proc = servers.start_ots(
                    procs, name, workers=1, store_url=None, data_dir=data, extra_env=env
                )
                try:
                    for mode in modes:
                        run = wrk(
                            name,
                            mode,
                            "ots.lua",
                            proc.url,
                            pool.lua_args(mode, start, per_run, 1),
                            connections=args.connections,
                            duration=args.seconds,
                            log=work / "wrk.log",
                            server_cpu=functools.partial(group_cpu, proc.pid),
                        )
                        start += per_run
                        if run.failed:
                            raise SystemExit(f"{name} {mode}: errors {run.errors}")
                        units = run.npairs if mode == "pairs" else run.good
                        used = (run.server_cpu_s or 0.0) / max(1, units)
                        cpu[name][mode].append(used * 1e6)
                        rates[name][mode].append(run.per_second)
                        latency[name][mode].append((run.p50_ms, run.p99_ms))
                        print(
                            f"round {round_ + 1} {name:10} {mode:6} {used * 1e6:6.0f} µs CPU "
                            f"per {'pair' if mode == 'pairs' else 'create'}  "
                            f"{run.per_second:6.0f}/s  p50 {run.p50_ms:6.2f} ms "
                            f"p99 {run.p99_ms:6.2f} ms",
                            flush=True,
                        )
                finally:
                    procs.stop(proc)
        print(f"\nmedians of {args.rounds} rounds ({args.connections} connections, SQLite)")
        for name, _ in configs:
            for mode in modes:
                figures = cpu[name][mode]
                p99_over_p50 = [p99 / p50 for p50, p99 in latency[name][mode] if p50]
                print(
                    f"  {name:10} {mode:6} {statistics.median(figures):6.0f} µs CPU "
                    f"(spread {min(figures):.0f}-{max(figures):.0f})  "
                    f"{statistics.median(rates[name][mode]):6.0f}/s  "
                    f"p99/p50 {statistics.median(p99_over_p50):.1f}"
                )
    finally:
        procs.stop_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
