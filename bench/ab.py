"""A/B: ots-server (SQLite, one worker) in two or more configurations, runs interleaved.

    python -m bench.ab 'head:PYTHONPATH=/tmp/ots-head/backend' 'new:'
    python -m bench.ab --rounds 5 'default:' 'no-limit:OTS_RATE_LIMIT_PER_MINUTE=0'

Each argument is ``NAME:VAR=VALUE,VAR=VALUE`` (nothing after the colon: the defaults); the
variables go into the server's environment (``PYTHONPATH`` pointing at another checkout's
``backend`` runs that code with this environment's packages). Every round starts a fresh
server per configuration on a free 127.0.0.1 port and runs wrk creates, then pairs, with 16
connections (bench/lua/ots.lua, pre-built secrets as in bench/compare.py); the medians per
configuration come last. On a noisy machine, only back-to-back rounds like these tell a real
difference from drift; a difference smaller than the spread between rounds is none.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench import servers
from bench.load import wrk
from bench.pool import build_pool
from bench.procs import Processes

CONNECTIONS = 16
#: Secrets per run and second of it (more than one worker can take).
RATE = 4000


def _config(spec: str) -> tuple[str, dict[str, str]]:
    name, sep, assignments = spec.partition(":")
    if not sep or not name:
        raise SystemExit(f"expected NAME:VAR=VALUE,...: {spec!r}")
    env = dict(item.split("=", 1) for item in assignments.split(",") if item)
    return name, env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="+", help="NAME:VAR=VALUE,... (at least two)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0, help="per wrk run")
    args = parser.parse_args()
    configs = [_config(spec) for spec in args.configs]
    if len(configs) < 2:
        parser.error("give at least two configurations")
    work = Path(tempfile.mkdtemp(prefix="ots-ab-"))
    (work / "logs").mkdir()
    procs = Processes(work / "logs")
    per_run = int(args.seconds * RATE)
    modes = ("create", "pairs")
    pool = build_pool(work / "pool.bin", per_run * len(modes) * len(configs) * args.rounds)
    start = 0
    figures: dict[str, dict[str, list[float]]] = {
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
                            connections=CONNECTIONS,
                            duration=args.seconds,
                            log=work / "wrk.log",
                        )
                        start += per_run
                        if run.failed:
                            raise SystemExit(f"{name} {mode}: errors {run.errors}")
                        figures[name][mode].append(run.per_second)
                        print(
                            f"round {round_ + 1} {name:12} {mode:6} {run.per_second:8.0f}/s "
                            f"p50 {run.p50_ms:6.2f} ms p99 {run.p99_ms:6.2f} ms",
                            flush=True,
                        )
                finally:
                    procs.stop(proc)
        print(f"\nmedians of {args.rounds} rounds ({CONNECTIONS} connections, 1 worker, SQLite)")
        for name, _ in configs:
            row = "  ".join(
                f"{mode} {statistics.median(figures[name][mode]):7.0f}/s "
                f"(spread {min(figures[name][mode]):.0f}-{max(figures[name][mode]):.0f})"
                for mode in modes
            )
            print(f"  {name:12} {row}")
    finally:
        procs.stop_all()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
