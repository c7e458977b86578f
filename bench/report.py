"""docs/benchmarks.md from the results of bench/compare.py: the targets, the tables, the method.

Pure functions of the results dictionary (also saved as bench/out/results.json), so the
document can be re-rendered from a saved run without measuring again::

    python -m bench.report [bench/out/results.json]     # rewrites docs/benchmarks.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

STORE_OVERHEAD_MAX = 600
SCALE_P50_MAX = 1.5
CREATE_P99_MAX_MS = 5.0


def _runs(results: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["contender"], r["mode"]): r for r in results.get("runs", [])}


def _ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    if not a or not b or not b["per_second"]:
        return None
    return float(a["per_second"]) / float(b["per_second"])


def _target(name: str, measured: str, goal: str, ok: bool | None, *runs: Any) -> dict[str, Any]:
    failed = any(r is None or r.get("failed") for r in runs)
    return {
        "target": name,
        "measured": measured,
        "goal": goal,
        "met": bool(ok) and not failed,
        "invalid": failed,
    }


def _fmt(value: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    runs = _runs(results)
    out = []
    for ours, theirs, goal, label in (
        ("ots-sqlite-1w", "snappass-1w", 5.0, "pairs/s, ots SQLite 1 worker vs SnapPass 1 worker"),
        ("ots-redis-2w", "snappass-2w", 4.0, "pairs/s, ots Redis 2 workers vs SnapPass 2 workers"),
    ):
        a, b = runs.get((ours, "pairs")), runs.get((theirs, "pairs"))
        ratio = _ratio(a, b)
        out.append(
            _target(
                label,
                _fmt(ratio, ".2f", "x"),
                f">= {goal:g}x",
                ratio is not None and ratio >= goal,
                a,
                b,
            )
        )
    a, b = runs.get(("ots-sqlite-1w", "create")), runs.get(("ceiling", "json"))
    ratio = _ratio(a, b)
    out.append(
        _target(
            "ots create (SQLite, 1 worker) vs bare Starlette JSON, 1 worker",
            _fmt(None if ratio is None else ratio * 100, ".1f", " %"),
            ">= 25 %",
            ratio is not None and ratio >= 0.25,
            a,
            b,
        )
    )
    levels = results.get("scale", {}).get("levels", [])
    for store in ("sqlite", "redis"):
        mine = sorted((lv for lv in levels if lv["store"] == store), key=lambda lv: lv["stored"])
        if len(mine) < 2:
            continue
        low, high = mine[0], mine[-1]
        ratio = high["p50_ms"] / low["p50_ms"] if low["p50_ms"] else None
        out.append(
            _target(
                f"reveal p50 {store}: {high['stored']:,} vs {low['stored']:,} stored",
                _fmt(ratio, ".2f", "x"),
                f"<= {SCALE_P50_MAX:g}x",
                ratio is not None and ratio <= SCALE_P50_MAX,
                low,
                high,
            )
        )
    one = runs.get(("ots-sqlite-1w", "create@1"))
    out.append(
        _target(
            "p99 of creates, SQLite, 1 connection",
            _fmt(one["p99_ms"] if one else None, ".2f", " ms"),
            f"< {CREATE_P99_MAX_MS:g} ms",
            one is not None and one["p99_ms"] < CREATE_P99_MAX_MS,
            one,
        )
    )
    for overhead in results.get("scale", {}).get("overhead", []):
        per = overhead["per_secret"]
        out.append(
            _target(
                f"store bytes per secret beyond the ciphertext, {overhead['store']}",
                f"{per:.0f} B",
                f"<= {STORE_OVERHEAD_MAX} B",
                per <= STORE_OVERHEAD_MAX,
                {},
            )
        )
    return out


def summary(results: dict[str, Any]) -> str:
    lines = ["", "targets:"]
    for t in results["targets"]:
        mark = "INVALID" if t["invalid"] else ("met" if t["met"] else "MISSED")
        lines.append(f"  {mark:8} {t['target']}: {t['measured']} (goal {t['goal']})")
    for problem in results.get("problems", []):
        lines.append(f"  problem: {problem}")
    lines.append(f"runtime {results['runtime_s'] / 60:.1f} min")
    return "\n".join(lines)


CONTENDERS = [
    ("ceiling", "bare Starlette `GET /json`", "1", "none"),
    ("ots-sqlite-1w", "ots-server", "1", "SQLite"),
    ("snappass-1w", "SnapPass (gunicorn)", "1", "Redis"),
    ("ots-redis-2w", "ots-server", "2", "Redis"),
    ("snappass-2w", "SnapPass (gunicorn)", "2", "Redis"),
]


def _cell(run: dict[str, Any] | None) -> list[str]:
    if run is None:
        return ["-", "-", "-"]
    rate = f"{run['per_second']:,.0f}" + (" **FAILED**" if run["failed"] else "")
    return [rate, f"{run['p50_ms']:.2f}", f"{run['p99_ms']:.2f}"]


def _errors(*runs: dict[str, Any] | None) -> str:
    total: dict[str, int] = {}
    for run in runs:
        for name, count in (run or {}).get("errors", {}).items():
            total[name] = total.get(name, 0) + count
    bad = {k: v for k, v in total.items() if v}
    return ", ".join(f"{k} {v}" for k, v in bad.items()) or "0"


def _throughput(results: dict[str, Any]) -> list[str]:
    runs = _runs(results)
    lines = [
        "| contender | workers | store | creates/s | p50 ms | p99 ms | pairs/s | p50 ms | p99 ms "
        "| errors |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for key, name, workers, store in CONTENDERS:
        first = runs.get((key, "json")) if key == "ceiling" else runs.get((key, "create"))
        pairs = runs.get((key, "pairs"))
        cells = _cell(first) + _cell(pairs)
        if key == "ceiling":
            cells[0] = cells[0] + " req/s"
        lines.append(
            f"| {name} | {workers} | {store} | "
            + " | ".join(cells)
            + f" | {_errors(first, pairs)} |"
        )
    durable = runs.get(("ots-redis-2w", "pairs-durable"))
    if durable:
        lines.append(
            "| ots-server, `appendfsync always` | 2 | Redis | - | - | - | "
            + " | ".join(_cell(durable))
            + f" | {_errors(durable)} |"
        )
    return lines


def _ratios(results: dict[str, Any]) -> list[str]:
    runs = _runs(results)
    rows = [
        ("ots SQLite 1w / SnapPass 1w", "ots-sqlite-1w", "snappass-1w"),
        ("ots Redis 2w / SnapPass 2w", "ots-redis-2w", "snappass-2w"),
        ("ots SQLite 1w / bare Starlette", "ots-sqlite-1w", "ceiling"),
        ("SnapPass 1w / bare Starlette", "snappass-1w", "ceiling"),
    ]
    lines = ["| ratio | creates | pairs |", "| --- | ---: | ---: |"]
    for label, ours, theirs in rows:
        if theirs == "ceiling":
            ceiling = runs.get(("ceiling", "json"))
            c, p = _ratio(runs.get((ours, "create")), ceiling), None
            if ceiling and runs.get((ours, "pairs")):
                # A pair is two requests: compare requests per second.
                p = 2 * runs[(ours, "pairs")]["per_second"] / ceiling["per_second"]
            lines.append(
                f"| {label} (requests/s) | {_fmt(None if c is None else c * 100, '.1f', ' %')}"
                f" | {_fmt(None if p is None else p * 100, '.1f', ' %')} |"
            )
        else:
            c = _ratio(runs.get((ours, "create")), runs.get((theirs, "create")))
            p = _ratio(runs.get((ours, "pairs")), runs.get((theirs, "pairs")))
            lines.append(f"| {label} | {_fmt(c, '.2f', 'x')} | {_fmt(p, '.2f', 'x')} |")
    return lines


def _unit_cpu_us(run: dict[str, Any] | None) -> float | None:
    """Server CPU per create, pair or request of a run, in µs (None if not measured)."""
    if not run or run.get("server_cpu_s") is None or not run["per_second"]:
        return None
    units = float(run["per_second"]) * float(run["duration_s"])
    return float(run["server_cpu_s"]) / units * 1e6


def _server_cpu(results: dict[str, Any]) -> list[str]:
    runs = _runs(results)
    rows = [
        ("bare Starlette `GET /json`", "ceiling", ("json", None)),
        ("ots-server, SQLite, 1 worker", "ots-sqlite-1w", ("create", "pairs")),
        ("SnapPass, 1 worker", "snappass-1w", ("create", "pairs")),
        ("ots-server, Redis, 2 workers", "ots-redis-2w", ("create", "pairs")),
        ("SnapPass, 2 workers", "snappass-2w", ("create", "pairs")),
    ]
    lines = [
        "Server CPU (user + system, every process of the server's group, read from `/proc` "
        "before and after each run) per unit of the runs above, and the cores it kept busy. "
        "Redis's own CPU is not counted on either side.",
        "",
        "| server | µs CPU per create (or request) | cores busy | µs CPU per pair | cores busy |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    found = False
    for label, name, (first, second) in rows:
        cells = []
        for mode in (first, second):
            if mode is None:
                cells += ["-", "-"]
                continue
            run = runs.get((name, mode))
            per = _unit_cpu_us(run)
            found = found or per is not None
            cores = run["server_cpu_s"] / run["duration_s"] if run and per is not None else None
            cells += [_fmt(per, ",.0f", ""), _fmt(cores, ".2f", "")]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return lines if found else ["Not measured in this run."]


def _scale(results: dict[str, Any]) -> list[str]:
    data = results.get("scale")
    if not data:
        return ["Not measured in this run."]
    lines = [
        "| store | secrets stored | reveal p50 ms | p90 ms | p99 ms | max ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for lv in data["levels"]:
        lines.append(
            f"| {lv['store']} | {lv['stored']:,} | {lv['p50_ms']:.2f} | {lv['p90_ms']:.2f}"
            f" | {lv['p99_ms']:.2f} | {lv['max_ms']:.2f} | {_errors(lv)} |"
        )
    lines += ["", *(f"Skipped: {s}." for s in data.get("skipped", []))]
    lines += [
        "",
        "| store | secrets added | bytes added | per secret | blob (padded ciphertext) "
        "| beyond the blob |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for o in data["overhead"]:
        lines.append(
            f"| {o['store']} | {o['added']:,} | {o['bytes_delta']:,} | "
            f"{o['bytes_delta'] / o['added']:.0f} | {o['blob_len']} | "
            f"**{o['per_secret']:.0f}** |"
        )
    breakdown = data.get("breakdown", {})
    if breakdown.get("sqlite"):
        lines += [
            "",
            "SQLite, per secret stored (`dbstat`: pages of each table and index, and the bytes "
            "of those pages no row uses):",
            "",
            "| table or index | bytes per secret | of which unused |",
            "| --- | ---: | ---: |",
        ]
        for name, size, unused in breakdown["sqlite"]:
            if size >= 0.5:  # tables and indexes the benchmark leaves empty are left out
                lines.append(f"| `{name}` | {size:.0f} | {unused:.0f} |")
    if breakdown.get("redis"):
        lines += [
            "",
            "Redis, one live secret (`MEMORY USAGE … SAMPLES 0`; `used_memory` also counts the "
            "key tables and expiry entries, which `MEMORY USAGE` leaves out):",
            "",
            "| key | bytes |",
            "| --- | ---: |",
        ]
        for name, size in breakdown["redis"]:
            lines.append(f"| {name} | {size} |")
    return lines


CLI_ROWS = [
    ("python -c pass", "ots --version", "`ots --version` vs `python -c pass`"),
    ("baseline share", "ots share", "`ots share FILE` vs minimal httpx + PyNaCl share"),
    ("baseline get", "ots get", "`ots get LINK` vs minimal httpx + PyNaCl get"),
    ("lean baseline share", "ots share", "`ots share FILE` vs *lean* baseline (information)"),
    ("lean baseline get", "ots get", "`ots get LINK` vs *lean* baseline (information)"),
]


def _cli(results: dict[str, Any]) -> list[str]:
    cli = results.get("cli")
    if not cli:
        return ["Not measured in this run."]
    lines = [
        "| | ots mean ms (± sd) | reference mean ms (± sd) | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for reference, ours, label in CLI_ROWS:
        a, b = cli.get(ours), cli.get(reference)
        if not a or not b:
            continue
        lines.append(
            f"| {label} | {a['mean_ms']:.1f} (± {a['stddev_ms']:.1f}) | "
            f"{b['mean_ms']:.1f} (± {b['stddev_ms']:.1f}) | "
            f"{a['mean_ms'] / b['mean_ms']:.2f} |"
        )
    return lines


def _profile(results: dict[str, Any]) -> list[str]:
    prof = results.get("profile")
    if not prof:
        return ["Not profiled in this run."]
    lines = [
        f"py-spy sampled ots-server (SQLite, 1 worker) at 250 Hz while wrk drove creates with "
        f"{results['connections']} connections (about {prof['creates_per_s']:,.0f} creates/s "
        f"under the sampler). Some thread held the GIL in **{prof['gil_share'] * 100:.0f} %** of "
        "the samples: the process is not CPU-bound. Wall time per thread (`--idle`):",
        "",
        "| thread | busy (not waiting for work) | in `BEGIN IMMEDIATE`/`COMMIT` |",
        "| --- | ---: | ---: |",
    ]
    for name, busy, commit in prof["threads"]:
        lines.append(f"| {name} | {busy * 100:.0f} % | {commit * 100:.0f} % |")
    lines += [
        "",
        "CPU (`--gil`): GIL-holding samples, each charged to the innermost frame that belongs to "
        "one of these parts (event-loop thread), or to its thread:",
        "",
        "| part | share |",
        "| --- | ---: |",
    ]
    for label, share in prof["cpu"]:
        lines.append(f"| {label} | {share * 100:.1f} % |")
    return lines


def _app_cpu(results: dict[str, Any]) -> list[str]:
    figures = results.get("app_cpu")
    if not figures:
        return ["Not measured in this run."]
    ceiling = next(
        (r for r in results["runs"] if (r["contender"], r["mode"]) == ("ceiling", "json")), None
    )
    bare = 1e6 / ceiling["per_second"] if ceiling and ceiling["per_second"] else None
    first = next(iter(figures.values()))["create"]
    lines = [
        "[bench/app_cpu.py](../bench/app_cpu.py): the ots app called directly as ASGI (no "
        "uvicorn, no wrk competing for the cores) from 16 concurrent tasks, full protocol; "
        "process CPU time of every thread per create and per create+reveal pair, minimum of "
        f"{first['rounds']} rounds of {first['count']:,} (median in brackets). The memory store "
        "is ots's own code over Starlette with no storage at all.",
        "",
        "| store | µs CPU per create | µs CPU per pair |"
        + (" create / bare request |" if bare else ""),
        "| --- | ---: | ---: |" + (" ---: |" if bare else ""),
    ]
    for store, units in figures.items():
        create, pair = units["create"], units["pair"]
        row = (
            f"| {store} | {create['min_us']:,.0f} ({create['median_us']:,.0f}) | "
            f"{pair['min_us']:,.0f} ({pair['median_us']:,.0f}) |"
        )
        if bare:
            row += f" {create['min_us'] / bare:.1f}x |"
        lines.append(row)
    if bare:
        lines += [
            "",
            f"A bare request costs {bare:,.0f} µs of server time in this run (the ceiling's "
            "requests/s at full load, HTTP parsing and the event loop included); a create at "
            f"25 % of the ceiling may cost at most {4 * bare:,.0f} µs, HTTP included.",
        ]
    return lines


def _targets_table(results: dict[str, Any]) -> list[str]:
    lines = ["| target | measured | goal | result |", "| --- | ---: | ---: | --- |"]
    for t in results["targets"]:
        mark = "invalid run" if t["invalid"] else ("met" if t["met"] else "**missed**")
        lines.append(f"| {t['target']} | {t['measured']} | {t['goal']} | {mark} |")
    return lines


def render(results: dict[str, Any], chart: str) -> str:
    r = results
    machine = "; ".join(f"{k}: {v}" for k, v in r["machine"].items())
    versions = "\n".join(f"| {k} | {v} |" for k, v in r["versions"].items())
    problems = "".join(f"\n- **Problem:** {p}" for p in r.get("problems", []))
    failed = [x for x in r["runs"] if x["failed"]]
    failed_note = (
        "\n**Some runs had errors and are marked FAILED; their figures are not valid.**\n"
        if failed
        else ""
    )
    sections = [
        "# Benchmarks: ots, SnapPass and the framework ceiling",
        "",
        f"Generated by `{r['command']}` on {r['date']} in {r['runtime_s'] / 60:.1f} minutes. "
        "Every run of the command rewrites this file and the chart; do not edit them by hand. "
        "How to rerun, and the method in detail: [bench/README.md](../bench/README.md).",
        "",
        f"Machine: {machine}. Load average (1, 5, 15 min) before the run {r['load_before']}, "
        f"after {r['load_after']}. Figures from a shared or busy machine are noisy; ratios "
        "from the same run are what the targets use.",
        failed_note + problems,
        "## Targets",
        "",
        *_targets_table(r),
        "",
        "## Throughput",
        "",
        f"![throughput chart]({chart})",
        "",
        f"wrk, 1 thread, {r['connections']} connections, {r['duration']:g} s per run after a "
        f"{r['warmup']:g} s warm-up, all on 127.0.0.1. *Creates*: every request stores a new "
        "secret. *Pairs*: every connection alternates a create and the reveal of the secret "
        "that create stored (the reveal is sent once the create's answer has arrived); pairs/s "
        "counts completed reveals. p50/p99 are per request (creates and reveals together in "
        "the pairs runs). ots secrets are 32 characters sealed by `ots_cli.crypto` "
        f"({r.get('blob_len', '?')}-byte blob, {r.get('create_frame_len', '?')}-byte create "
        "frame); SnapPass passwords are 32 characters.",
        "",
        *_throughput(r),
        "",
        *_ratios(r),
        "",
        *_server_cpu(r),
        "",
        "## Creates at one connection",
        "",
        "The `create@1` runs: one connection, one create at a time, so every request pays the "
        "whole path, the commit included (SQLite: `synchronous=FULL`), with nothing queued "
        "before it. The target is on SQLite.",
        "",
        *_one_connection(r),
        "",
        "## Scale: reveal latency and store size",
        "",
        f"Reveals of {r.get('scale', {}).get('measured', '?')} real secrets, one connection, one "
        f"at a time (after {r.get('scale', {}).get('warmup', '?')} warm-up reveals), with the "
        "store filled to each level; then the bytes the store grew by per secret over the "
        "largest level's fill, minus the blob. SQLite counts pages in use after a TRUNCATE "
        "checkpoint; Redis counts `used_memory` (receipt index key, record hash, blob string "
        "and allocator rounding).",
        "",
        *_scale(r),
        "",
        "## CLI latency",
        "",
        "[bench/startup.py](../bench/startup.py) (hyperfine, `-N`, warm cache): the CLI "
        "against a local ots-server next to `python -c pass` and the minimal argparse + "
        "httpx + PyNaCl client [bench/baseline_client.py](../bench/baseline_client.py).",
        "",
        *_cli(r),
        "",
        "## Where a create's time goes",
        "",
        *_profile(r),
        "",
        "### CPU per request inside the process",
        "",
        *_app_cpu(r),
        "",
        "## Reading the results",
        "",
        *_findings(r),
        "",
        "## Versions",
        "",
        "| component | version |",
        "| --- | --- |",
        versions,
        "",
        "## Settings",
        "",
        f"- ots-server: `ots-server serve` with the defaults except `OTS_RATE_LIMIT_PER_MINUTE="
        f"{r['rate_limit']}` and `OTS_RATE_LIMIT_BURST={r['rate_limit']}` (the limiter runs on "
        "every POST and never trips), `OTS_MAX_UPLOADS_PER_CLIENT=100000` (the load comes from "
        "one address) and `OTS_LOG_LEVEL=warning` (no log line per request; "
        "gunicorn writes no access log by default either). Full protocol: proofs checked "
        "against verifiers, receipts issued, tombstones written, security headers, metrics.",
        "- SQLite: a temporary data directory on the machine's disk; WAL, `synchronous=FULL` "
        "(a create is on disk before its 201).",
        "- Redis (started by the benchmark, shared by ots on database 0 and SnapPass on "
        'database 1, flushed between contenders): `appendonly no`, `save ""` (nothing on '
        "disk: SnapPass's setup and the same for both), `maxmemory-policy noeviction`. ots "
        "logs its *ephemeral mode* warning for this; its durable mode is `appendfsync always`.",
        f"- SnapPass: gunicorn `gthread` workers with {r.get('snappass_threads', '?')} threads "
        "each (they keep connections alive; gunicorn's default `sync` workers close every "
        "connection and were about 20 % slower here), `NO_SSL=True`, `REDIS_URL` to database "
        "1. Create: `POST /` with the form fields `password` and `ttl=hour` and "
        "`Accept: application/json` (answers the link as JSON); reveal: `POST` to the link's "
        "path (answers the HTML page with the password). SnapPass has no other API.",
        "- Bare Starlette: [bench/ceiling.py](../bench/ceiling.py) under the same uvicorn "
        "with the options `ots-server serve` uses.",
        "",
    ]
    return "\n".join(sections)


def _one_connection(results: dict[str, Any]) -> list[str]:
    runs = _runs(results)
    rows = [
        ("ots-server, SQLite, 1 worker", runs.get(("ots-sqlite-1w", "create@1"))),
        ("ots-server, Redis, 2 workers", runs.get(("ots-redis-2w", "create@1"))),
    ]
    if not any(run for _, run in rows):
        return ["Not measured in this run."]
    lines = [
        "| server | creates/s | p50 ms | p90 ms | p99 ms | max ms | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, run in rows:
        if run:
            lines.append(
                f"| {name} | {run['per_second']:,.0f} | {run['p50_ms']:.2f} | "
                f"{run['p90_ms']:.2f} | {run['p99_ms']:.2f} | {run['max_ms']:.2f} | "
                f"{_errors(run)} |"
            )
    floor = results.get("commit_floor")
    if floor:
        lines.append(
            f"| *floor: the same rows committed by a bare SQLite loop, no server* | - | "
            f"{floor['p50_ms']:.2f} | - | {floor['p99_ms']:.2f} | {floor['max_ms']:.2f} | - |"
        )
    return lines


#: p50 at one connection above which a multi-worker server is taken to wait for delayed ACKs.
STALL_MS = 30.0


def _findings(results: dict[str, Any]) -> list[str]:
    """Notes that follow from this run's figures, each only when its evidence is there."""
    runs = _runs(results)
    notes = []
    multi = runs.get(("ots-redis-2w", "create@1"))
    single = runs.get(("ots-sqlite-1w", "create@1"))
    if multi and single and multi["p50_ms"] >= STALL_MS > single["p50_ms"]:
        notes.append(
            f"- **Every request to the 2-worker server waits about 40 ms**: create p50 "
            f"{multi['p50_ms']:.1f} ms at one connection, against {single['p50_ms']:.2f} ms on "
            "one worker. With `--workers` above 1, uvicorn binds the listening socket itself "
            "with `proto` 0, so asyncio never sets `TCP_NODELAY` on accepted connections "
            "(uvicorn issue #3149, open); a response goes out in two writes (headers, then "
            "body) and Nagle's algorithm holds the second until the client's delayed ACK. "
            "This, not Redis, caps the 2-worker figures."
        )
    prof = results.get("profile")
    if prof:
        writer = next((t for t in prof["threads"] if "writer" in t[0]), None)
        if writer and writer[1] > 0.5:
            notes.append(
                f"- **The SQLite writer thread waits more than it works**: busy "
                f"{writer[1] * 100:.0f} % of the time ({writer[2] * 100:.0f} % in "
                f"`BEGIN IMMEDIATE`/`COMMIT`) while some thread held the GIL only "
                f"{prof['gil_share'] * 100:.0f} % of the time. Each group waits for its fsync "
                "(`synchronous=FULL`, one per group) and, after every statement, for the GIL, "
                "which the event loop holds while it handles requests. Running whole groups "
                "on the event loop instead changed throughput by no more than the noise "
                '(docs/decisions.md, "The SQLite writer stays on its own thread"): the event '
                "loop's CPU per request sets the pace, not the lane."
            )
    notes += _pair_ceiling(runs)
    notes += _floors(runs, results.get("app_cpu") or {})
    notes += _at_load(runs, results.get("app_cpu") or {})
    one, two = runs.get(("snappass-1w", "pairs")), runs.get(("snappass-2w", "pairs"))
    if one and two and two["per_second"] < one["per_second"]:
        notes.append(
            f"- **This run was noisy**: SnapPass made fewer pairs with 2 workers "
            f"({two['per_second']:,.0f}/s) than with 1 ({one['per_second']:,.0f}/s). On a "
            "2-core machine shared with wrk and Redis, a second worker helps only when the "
            "cores are free; ratios against SnapPass move by a factor of 2 or more between "
            "runs like this one."
        )
    create, ceiling = runs.get(("ots-sqlite-1w", "create")), runs.get(("ceiling", "json"))
    if prof and create and ceiling:
        ours = 1e6 / create["per_second"]
        bare = 1e6 / ceiling["per_second"]
        top = ", ".join(f"{label} {share * 100:.0f} %" for label, share in prof["cpu"][:4])
        notes.append(
            f"- **A create costs {ours / bare:.0f}x a bare request**: {ours:,.0f} µs of server "
            f"time per create at full load against {bare:,.0f} µs per bare JSON answer. A "
            "create reads and checks a framed upload (meta JSON, sizes, header), hashes its "
            "proofs, passes the rate limiter, commits durably and answers with receipts and "
            "security headers; the bare endpoint does none of it. Largest parts of the CPU: "
            f"{top}."
        )
    cpu = results.get("app_cpu") or {}
    if ceiling and "memory" in cpu and "sqlite" in cpu:
        bare = 1e6 / ceiling["per_second"]
        mem, lite = cpu["memory"]["create"]["min_us"], cpu["sqlite"]["create"]["min_us"]
        notes.append(
            f"- **The 25 % target leaves {4 * bare:,.0f} µs per create, HTTP included**: inside "
            f"the process, with no HTTP server at all, ots's app with no storage costs "
            f"{mem:,.0f} µs of CPU per create ({mem / bare:.1f}x a whole bare request: Starlette "
            "routing and middleware, the framed body read and checked, the receipt, rate "
            "limiter, security headers and metrics) and a durable SQLite create "
            f"{lite:,.0f} µs ({lite / bare:.1f}x). uvicorn's share of a POST with a body comes "
            "on top."
        )
    return notes or ["- Nothing stands out in this run."]


def _floors(runs: dict[tuple[str, str], dict[str, Any]], cpu: dict[str, Any]) -> list[str]:
    """The best ots could do in this run, from what a request costs at the least: its CPU
    inside the process (bench/app_cpu.py) plus what the bare endpoint's request costs under
    uvicorn, every core busy with nothing else (so: an upper bound)."""
    ceiling = runs.get(("ceiling", "json"))
    if not ceiling or not cpu:
        return []
    bare = 1e6 / ceiling["per_second"]
    notes = []
    for store, ours, theirs, workers, goal in (
        ("sqlite", "ots-sqlite-1w", "snappass-1w", 1, 5),
        ("redis", "ots-redis-2w", "snappass-2w", 2, 4),
    ):
        peer, measured = runs.get((theirs, "pairs")), runs.get((ours, "pairs"))
        if store not in cpu or not peer or not measured:
            continue
        per_pair = cpu[store]["pair"]["min_us"] + 2 * bare
        best = workers * 1e6 / per_pair
        notes.append(
            f"- **Pairs on {store} with {workers} worker{'s' * (workers > 1)}: at best "
            f"{best / peer['per_second']:.1f}x SnapPass in this run** (goal {goal}x). A pair "
            f"costs at least {per_pair:,.0f} µs of CPU: {cpu[store]['pair']['min_us']:,.0f} µs "
            f"inside the process (bench/app_cpu.py) plus two bare requests' {2 * bare:,.0f} µs "
            f"under uvicorn; {workers} core{'s' * (workers > 1)} doing nothing else would make "
            f"{best:,.0f} pairs/s, against SnapPass's {peer['per_second']:,.0f}. ots made "
            f"{measured['per_second']:,.0f}."
        )
    if "sqlite" in cpu:
        per_create = cpu["sqlite"]["create"]["min_us"] + bare
        notes.append(
            f"- **Creates on SQLite: at best {bare / per_create * 100:.0f} % of the ceiling "
            f"in this run** (goal 25 %): at least {per_create:,.0f} µs of CPU per create, "
            f"{cpu['sqlite']['create']['min_us']:,.0f} µs of them inside the process."
        )
    return notes


def _at_load(runs: dict[tuple[str, str], dict[str, Any]], cpu: dict[str, Any]) -> list[str]:
    """What a pair cost the real server at full load, against the same pair in-process."""
    notes = []
    for store, ours, theirs, goal in (
        ("sqlite", "ots-sqlite-1w", "snappass-1w", 5),
        ("redis", "ots-redis-2w", "snappass-2w", 4),
    ):
        run, other = runs.get((ours, "pairs")), runs.get((theirs, "pairs"))
        per, peer = _unit_cpu_us(run), _unit_cpu_us(other)
        if run is None or per is None or store not in cpu:
            continue
        inside = cpu[store]["pair"]["min_us"]
        cores = run["server_cpu_s"] / run["duration_s"]
        note = (
            f"- **At full load, ots on {store} spent {per:,.0f} µs of server CPU per pair**, "
            f"{per / inside:.1f}x the {inside:,.0f} µs the same pair costs inside the process "
            "(bench/app_cpu.py): the rest is uvicorn's HTTP handling, the kernel's sockets and "
            f"the hand-offs between threads (and processes). It kept {cores:.2f} cores busy."
        )
        if other is not None and peer is not None:
            their_cores = other["server_cpu_s"] / other["duration_s"]
            note += (
                f" SnapPass spent {peer:,.0f} µs per pair with {their_cores:.2f} cores busy. "
                "Pairs/s is cores busy divided by CPU per pair, so ots's ratio is its CPU "
                f"advantage ({peer / per:.1f}x) times its share of the cores "
                f"({cores / their_cores:.2f}); {goal}x SnapPass on the cores it used would take "
                f"at most {cores * peer / (goal * their_cores):,.0f} µs per pair."
            )
        notes.append(note)
    return notes


def _pair_ceiling(runs: dict[tuple[str, str], dict[str, Any]]) -> list[str]:
    """What the framework alone allows for pairs, against SnapPass: the gap's lower bound."""
    ceiling = runs.get(("ceiling", "json"))
    if not ceiling:
        return []
    most = ceiling["per_second"] / 2  # a pair is two requests
    notes = []
    for ours, theirs, workers in (
        ("ots-sqlite-1w", "snappass-1w", "1 worker"),
        ("ots-redis-2w", "snappass-2w", "2 workers"),
    ):
        ots, peer = runs.get((ours, "pairs")), runs.get((theirs, "pairs"))
        if not ots or not peer:
            continue
        bound = most * (2 if workers == "2 workers" else 1) / peer["per_second"]
        share = ots["per_second"] / (most * (2 if workers == "2 workers" else 1))
        notes.append(
            f"- **Pairs, {workers}: the framework's own ceiling is {bound:.1f}x SnapPass.** "
            f"The bare Starlette endpoint (no proofs, no store, no fsync, a 20-byte JSON "
            f"answer) takes {ceiling['per_second']:,.0f} requests/s on one worker, so a "
            f"server built on it makes at most {most:,.0f} pairs/s per worker; SnapPass "
            f"made {peer['per_second']:,.0f} pairs/s with {workers}, ots "
            f"{ots['per_second']:,.0f} ({share * 100:.0f} % of that ceiling"
            + (f", {workers} assumed to scale perfectly" if workers == "2 workers" else "")
            + ")."
        )
    return notes


if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else here / "out" / "results.json"
    saved = json.loads(source.read_text())
    saved["targets"] = targets(saved)
    (here.parent / "docs" / "benchmarks.md").write_text(render(saved, "benchmarks.png"))
