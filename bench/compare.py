"""ots against its floor, SnapPass and the framework ceiling, in one run (issues 9 and 18; see
bench/README.md).

    python -m bench.compare              # the full comparison, about 12 minutes on 2 cores
    python -m bench.compare --quick      # a few seconds per step, small scale levels

Starts, on 127.0.0.1 and free ports: a bare Starlette endpoint (the ceiling), ots-server on
SQLite with one worker, the floor (bench/floor.py) on SQLite with one worker, a Redis of its
own, ots-server and the floor on that Redis with two workers each, and SnapPass under gunicorn
with one and two workers (Redis database 1); drives each with the same
wrk settings; measures reveal latency at 10^3, 10^5 and 10^6 stored secrets and the store's
bytes per secret; times the CLI with hyperfine (bench/startup.py); profiles ots's creates with
py-spy. Writes docs/benchmarks.md and docs/benchmarks.png (regenerated wholesale), and
bench/out/results.json. Every process it started is stopped at the end, also on failure or
Ctrl-C, and its temporary files are deleted.

Exit status: 0 when every run succeeded and every target was met, 1 when a target was missed,
2 when anything failed: a server that did not start, wrk failing or counting an error or an
unexpected status, a sub-benchmark exiting with an error, a contender or run missing from the
results. Each failure is printed as it happens and again at the end, naming its part; a run
with a failure leaves docs/benchmarks.md and the chart as they were (the results are still
saved in bench/out/results.json), so the document never shows a partial run.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from bench import profiling, report, scale, servers, startup, tools
from bench.contenders import FLOOR_MODES, FLOOR_RATE, OTS_MODES, Bench, Cursor, durable
from bench.pool import Pool, build_pool
from bench.procs import Proc, Processes, stop_on_sigterm
from bench.report.records import Results

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
CHART = ROOT / "docs" / "benchmarks.png"


def _pool_size(args: argparse.Namespace) -> int:
    # Per server (each takes its slices from the start of the pool, on its own store): a
    # warm-up, create, pairs (and on Redis pairs-durable) at full rate, and create@1 at half
    # the rate; the profile's two runs on top.
    fast, warmup, duration = float(args.pool_rate), float(args.warmup), float(args.duration)
    per_server = (warmup + 3 * duration) * fast + duration * fast / 2
    profile = 2 * (int(args.profile_seconds) + 2) * fast
    # The floor: a warm-up, create and pairs, at FLOOR_RATE times the rate.
    floor = (warmup + 2 * duration) * fast * FLOOR_RATE
    return math.ceil(max(per_server + profile, floor)) + 100


def run_cli(args: argparse.Namespace, bench: Bench) -> dict[str, Any]:
    """bench/startup.py: hyperfine over the CLI and its baselines; its JSON export.

    startup.py exits 1 when a CLI target is missed (a result, reported with the others) and
    2 when it could not measure; anything but 0 or 1, or a command missing from the export,
    fails this part. The export is deleted first, so an old one is never read."""
    bench.say(f"CLI start-up: python -m bench.startup --runs {args.cli_runs}")
    export = tools.OUT / "startup.json"
    export.unlink(missing_ok=True)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.startup",
            "--runs",
            str(args.cli_runs),
            "--warmup",
            str(0 if args.smoke else 3),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if done.returncode not in (0, 1) or not export.exists():
        output = (done.stderr.strip() or done.stdout.strip())[-800:]
        raise RuntimeError(f"bench/startup.py exited {done.returncode}: {output}")
    results = json.loads(export.read_text())["results"]
    timings = {
        r["command"]: {
            "mean_ms": r["mean"] * 1000,
            "stddev_ms": (r.get("stddev") or 0) * 1000,
            "median_ms": r["median"] * 1000,
            "min_ms": r["min"] * 1000,
            "runs": len(r.get("times", [])),
        }
        for r in results
    }
    missing = sorted(set(startup.COMMANDS) - set(timings))
    if missing:
        raise RuntimeError(f"bench/startup.py measured no {', '.join(missing)}")
    return timings


def run_app_cpu(args: argparse.Namespace, bench: Bench) -> dict[str, Any]:
    """bench/app_cpu.py: CPU per create and per pair inside the server process, per store."""
    rounds, count = (1, 100) if args.smoke else (1, 500) if args.quick else (3, 2000)
    bench.say(
        f"CPU per request in-process: python -m bench.app_cpu --rounds {rounds} --count {count}"
    )
    out = bench.work / "app_cpu.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.app_cpu",
            "--rounds",
            str(rounds),
            "--count",
            str(count),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=ROOT,
    )
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"bench/app_cpu.py failed: {done.stderr.strip()[-500:]}")
    figures: dict[str, Any] = json.loads(out.read_text())
    return figures


def run_scale(bench: Bench, redis_port: int, redis_url: str) -> dict[str, Any]:
    levels: list[scale.Level] = []
    overheads: list[scale.Overhead] = []
    skipped: list[str] = []
    breakdown: dict[str, Any] = {}
    blob_len = 0
    for store in ("sqlite", "redis"):
        data = bench.work / f"scale-{store}"
        data.mkdir()
        if store == "sqlite":
            proc = servers.start_ots(
                bench.procs, "ots-sqlite-scale", workers=1, store_url=None, data_dir=data
            )
        else:
            scale.redis_cli(redis_port, "FLUSHALL")
            # One worker on both stores: this measures the store, not the HTTP server.
            proc = servers.start_ots(
                bench.procs, "ots-redis-scale", workers=1, store_url=redis_url, data_dir=data
            )
        try:
            db = data / "ots.sqlite3"
            stored = 0
            before = 0
            for level in bench.args.scale:
                fits = (
                    scale.room_for(bench.work, level)
                    if store == "sqlite"
                    else scale.memory_for(level)
                )
                if not fits:
                    skipped.append(f"{store} at {level:,}: not enough free disk or memory")
                    continue
                secrets, pool = scale.real_secrets(bench.work, f"scale-{store}-{level}")
                blob_len = pool.blob_len
                added = level - stored
                before = (
                    scale.sqlite_pages_in_use(db)
                    if store == "sqlite"
                    else (scale.redis_used_memory(redis_port))
                )
                started = time.monotonic()
                if store == "sqlite":
                    scale.fill_sqlite(db, added, secrets, pool.blob_len)
                    after = scale.sqlite_pages_in_use(db)
                else:
                    scale.fill_redis(redis_port, added, secrets, pool.blob_len)
                    after = scale.redis_used_memory(redis_port)
                bench.say(
                    f"  {store}: filled {added:,} to {level:,} in "
                    f"{time.monotonic() - started:.1f} s"
                )
                stored = level
                run = scale.measure(f"ots-{store}", proc.url, pool, bench.work)
                bench.record(run)
                levels.append(scale.Level(store=store, stored=level, run=run))
                overhead = scale.Overhead(store, added, after - before, pool.blob_len)
            if stored:
                overheads.append(overhead)
                breakdown[store] = (
                    scale.sqlite_breakdown(db, stored)
                    if store == "sqlite"
                    else scale.redis_breakdown(redis_port)
                )
        finally:
            bench.procs.stop(proc)
            shutil.rmtree(data, ignore_errors=True)
    scale.redis_cli(redis_port, "FLUSHALL")
    return {
        "levels": [{"store": lv.store, "stored": lv.stored, **lv.run.as_dict()} for lv in levels],
        "overhead": [{**asdict(o), "per_secret": o.per_secret} for o in overheads],
        "skipped": skipped,
        "breakdown": breakdown,
        "blob_len": blob_len,
        "warmup": scale.WARMUP,
        "measured": scale.MEASURED,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=20, help="seconds per run [20]")
    parser.add_argument("--warmup", type=float, default=3, help="warm-up seconds [3]")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections [16]")
    parser.add_argument(
        "--scale",
        type=lambda s: [int(float(x)) for x in s.split(",")],
        default=[10**3, 10**5, 10**6],
        help="stored-secret levels [1e3,1e5,1e6]",
    )
    parser.add_argument("--cli-runs", type=int, default=30, help="hyperfine runs per command")
    parser.add_argument("--profile-seconds", type=int, default=8, help="0: no profile [8]")
    parser.add_argument(
        "--pool-rate",
        type=float,
        default=6000,
        help="creates/s the pre-built pool must cover per run [6000]",
    )
    parser.add_argument("--quick", action="store_true", help="short runs, small scale (testing)")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="every part at its smallest, implies --no-doc (tests/benchmarks/test_smoke.py)",
    )
    parser.add_argument("--no-doc", action="store_true", help="do not rewrite docs/benchmarks.*")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.scale = 4, 1, [10**3, 10**4]
        args.cli_runs, args.profile_seconds = 5, 3
    if args.smoke:
        # Figures from this are meaningless; it proves every part still runs.
        args.duration, args.warmup, args.scale, args.pool_rate = 1, 1, [10**3], 4000
        args.cli_runs, args.profile_seconds, args.no_doc = 2, 1, True
    return args


def new_results(args: argparse.Namespace, argv: list[str] | None = None) -> dict[str, Any]:
    """What the results say before anything is measured: the run, the machine, the settings."""
    given = sys.argv[1:] if argv is None else argv
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python -m bench.compare" + (" " + " ".join(given) if given else ""),
        "machine": tools.machine(),
        "versions": tools.versions(),
        "duration": args.duration,
        "warmup": args.warmup,
        "connections": args.connections,
        "rate_limit": servers.RATE_LIMIT,
        "snappass_threads": servers.SNAPPASS_THREADS,
        "chart_groups": [
            ["bare Starlette\n1 worker", "ceiling"],
            ["floor SQLite\n1 worker", "floor-sqlite-1w"],
            ["ots SQLite\n1 worker", "ots-sqlite-1w"],
            ["SnapPass\n1 worker", "snappass-1w"],
            ["floor Redis\n2 workers", "floor-redis-2w"],
            ["ots Redis\n2 workers", "ots-redis-2w"],
            ["SnapPass\n2 workers", "snappass-2w"],
        ],
        "problems": [],
    }


def measure_sqlite(bench: Bench, pool: Pool, results: dict[str, Any]) -> None:
    """The bare Starlette ceiling, the commit floor, ots on SQLite with one worker (with its
    profile) and the floor app on SQLite with one worker, each a part of its own."""
    args, work, procs = bench.args, bench.work, bench.procs
    with bench.part("bare Starlette ceiling"):
        bench.say("bare Starlette ceiling, 1 worker")
        bench.ceiling()
    with bench.part("commit floor (bare SQLite loop)"):
        results["commit_floor"] = scale.commit_floor(work, 200 if args.smoke else 3000)
    with bench.part("ots-server, SQLite, 1 worker"):
        bench.say("ots-server, SQLite, 1 worker")
        proc = servers.start_ots(
            procs, "ots-sqlite-1w", workers=1, store_url=None, data_dir=work / "sqlite-1w"
        )
        try:
            cursor = Cursor(pool)
            bench.ots("ots-sqlite-1w", proc, cursor, one_connection=True)
            if args.profile_seconds:
                with bench.part("py-spy profile of ots-server creates"):
                    bench.say("  profiling creates with py-spy")
                    start = cursor.take(0)
                    prof = profiling.profile_creates(
                        proc.url, proc.pid, pool, start, work, args.profile_seconds
                    )
                    results["profile"] = asdict(prof)
        finally:
            procs.stop(proc)
    with bench.part("floor, SQLite, 1 worker"):
        bench.say("floor (bench/floor.py), SQLite, 1 worker")
        (work / "floor-sqlite").mkdir()
        proc = servers.start_floor(
            procs, "floor-sqlite-1w", workers=1, store=str(work / "floor-sqlite" / "floor.db")
        )
        try:
            bench.ots("floor-sqlite-1w", proc, Cursor(pool), one_connection=False)
        finally:
            procs.stop(proc)


def measure_redis(bench: Bench, pool: Pool, results: dict[str, Any]) -> None:
    """On one Redis of the benchmark's own: ots with two workers (also durable), the floor
    with two, SnapPass with one and two, then the scale levels of both stores."""
    args, work, procs = bench.args, bench.work, bench.procs
    redis: Proc | None = None
    with bench.part("Redis for the benchmark"):
        redis = servers.start_redis(procs, work / "redis")
    if redis is None:
        return
    try:
        with bench.part("ots-server, Redis, 2 workers"):
            bench.say("ots-server, Redis, 2 workers")
            proc = servers.start_ots(
                procs,
                "ots-redis-2w",
                workers=2,
                store_url=servers.redis_url(redis, 0),
                data_dir=work / "redis-2w",
            )
            try:
                cursor = Cursor(pool)
                bench.ots("ots-redis-2w", proc, cursor, one_connection=True)
                bench.say("  the same with Redis durable (appendonly yes, appendfsync always)")
                durable(redis.port, on=True)
                bench.record(
                    bench.ots_run(
                        "ots-redis-2w",
                        proc,
                        cursor,
                        "pairs",
                        "pairs-durable",
                        args.connections,
                        args.duration,
                    )
                )
            finally:
                durable(redis.port, on=False)
                procs.stop(proc)
        scale.redis_cli(redis.port, "FLUSHALL")
        with bench.part("floor, Redis, 2 workers"):
            bench.say("floor (bench/floor.py), Redis, 2 workers")
            proc = servers.start_floor(
                procs, "floor-redis-2w", workers=2, store=servers.redis_url(redis, 0)
            )
            try:
                bench.ots("floor-redis-2w", proc, Cursor(pool), one_connection=False)
            finally:
                procs.stop(proc)
        scale.redis_cli(redis.port, "FLUSHALL")
        for workers in (1, 2):
            name = f"snappass-{workers}w"
            with bench.part(f"SnapPass, {workers} worker{'s' * (workers > 1)}"):
                bench.say(f"SnapPass, gunicorn, {workers} worker{'s' * (workers > 1)}")
                proc = servers.start_snappass(
                    procs,
                    name,
                    venv=tools.SNAPPASS_VENV,
                    workers=workers,
                    url=servers.redis_url(redis, 1),
                )
                try:
                    bench.snappass(name, proc)
                finally:
                    procs.stop(proc)
            scale.redis_cli(redis.port, "FLUSHALL")

        with bench.part("scale (reveal latency and store bytes per secret)"):
            bench.say(f"scale: reveal latency at {', '.join(f'{n:,}' for n in args.scale)}")
            results["scale"] = run_scale(bench, redis.port, servers.redis_url(redis, 0))
    finally:
        procs.stop(redis)


def measure_outside_servers(bench: Bench, results: dict[str, Any]) -> None:
    """The CLI's start-up and the app's in-process CPU."""
    with bench.part("CLI start-up (bench/startup.py)"):
        results["cli"] = run_cli(bench.args, bench)
    with bench.part("CPU per request in-process (bench/app_cpu.py)"):
        results["app_cpu"] = run_app_cpu(bench.args, bench)


#: Every wrk run a complete comparison records, by (contender, mode).
EXPECTED_RUNS = [
    ("ceiling", "json"),
    *((name, mode) for name in ("ots-sqlite-1w", "ots-redis-2w") for mode in OTS_MODES),
    ("ots-redis-2w", "pairs-durable"),
    *((name, mode) for name in ("floor-sqlite-1w", "floor-redis-2w") for mode in FLOOR_MODES),
    *((name, mode) for name in ("snappass-1w", "snappass-2w") for mode in ("create", "pairs")),
]


def missing_parts(args: argparse.Namespace, results: Results) -> list[str]:
    """What a complete comparison has that these results lack: each a failure, by name."""
    have = {(run["contender"], run["mode"]) for run in results["runs"]}
    missing = [
        f"no {mode} run of {name}" for name, mode in EXPECTED_RUNS if (name, mode) not in have
    ]
    wanted: list[str] = ["commit_floor", "scale", "cli", "app_cpu"]
    if args.profile_seconds:
        wanted.append("profile")
    missing += [f"no {key} in the results" for key in wanted if key not in results]
    scale_ = results.get("scale")
    if scale_:
        measured = {(lv["store"], lv["stored"]) for lv in scale_["levels"]}
        skipped = " ".join(scale_["skipped"])
        for store in ("sqlite", "redis"):
            for level in args.scale:
                if (store, level) not in measured and f"{store} at {level:,}" not in skipped:
                    missing.append(f"no scale level {level:,} on {store}")
            if not any(o["store"] == store for o in scale_["overhead"]):
                missing.append(f"no bytes per secret for {store}")
    return missing


def results_path(args: argparse.Namespace) -> Path:
    """bench/out/results.json; a smoke run's go to results-smoke.json, so the test never
    replaces a real run's figures (``python -m bench.report`` renders results.json)."""
    return tools.OUT / ("results-smoke.json" if args.smoke else "results.json")


def publish(args: argparse.Namespace, results: Results, failures: list[str]) -> int:
    """Save the results; when nothing failed, draw the chart and rewrite docs/benchmarks.md.
    The exit status."""
    results["problems"] = failures
    saved = results_path(args)
    saved.write_text(json.dumps(results, indent=1))
    print(report.summary(results))
    if failures:
        print(
            f"\nbench.compare: FAILED, {len(failures)} problem(s); docs/benchmarks.md and the "
            f"chart are left as they were (results in {saved}):",
            file=sys.stderr,
        )
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        return 2
    if not args.no_doc:
        subprocess.run(
            [
                str(tools.TOOLS_VENV / "bin" / "python"),
                "-m",
                "bench.chart",
                str(saved),
                str(CHART),
            ],
            check=True,
            cwd=ROOT,
        )
        DOC.write_text(report.render(results, CHART.name))
    return 0 if all(t["met"] for t in results["targets"]) else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.monotonic()
    stop_on_sigterm()
    tools.ensure_all()
    load_before = tools.load_average()
    work = Path(tempfile.mkdtemp(prefix="ots-bench-"))
    procs = Processes(work)
    bench = Bench(args, work, procs)
    results = new_results(args, argv)
    try:
        size = _pool_size(args)
        bench.say(f"pre-building {size:,} sealed secrets (real ots_cli.core.crypto)")
        pool = build_pool(work / "pool.bin", size)
        results["blob_len"] = pool.blob_len
        results["create_frame_len"] = pool.create_len
        measure_sqlite(bench, pool, results)
        measure_redis(bench, pool, results)
        measure_outside_servers(bench, results)
    except KeyboardInterrupt:
        print("interrupted; stopping every process", file=sys.stderr)
        return 130
    finally:
        procs.stop_all()
        shutil.rmtree(work, ignore_errors=True)

    results["runs"] = [run.as_dict() for run in bench.runs]
    results["load_before"], results["load_after"] = load_before, tools.load_average()
    results["runtime_s"] = time.monotonic() - began
    # Complete now but for its targets, which are figured from the rest.
    finished = cast(Results, results)
    finished["targets"] = report.targets(finished)
    return publish(args, finished, bench.failures + missing_parts(args, finished))


if __name__ == "__main__":
    sys.exit(main())
