"""The report's tables: one function per table of docs/benchmarks.md, each a list of lines.

Pure functions of the results (:mod:`bench.report.records`). A table whose step did not run
is one line, "Not measured in this run." (or "Not profiled ..."), never an empty table.
"""

from __future__ import annotations

from bench.report import figures
from bench.report.records import Results, RunRecord

CONTENDERS = [
    ("ceiling", "bare Starlette `GET /json`", "1", "none"),
    ("floor-sqlite-1w", "floor (bench/floor.py)", "1", "SQLite"),
    ("ots-sqlite-1w", "ots-server", "1", "SQLite"),
    ("snappass-1w", "SnapPass (gunicorn)", "1", "Redis"),
    ("floor-redis-2w", "floor (bench/floor.py)", "2", "Redis"),
    ("ots-redis-2w", "ots-server", "2", "Redis"),
    ("snappass-2w", "SnapPass (gunicorn)", "2", "Redis"),
]


def cell(run: RunRecord | None) -> list[str]:
    if run is None:
        return ["-", "-", "-"]
    rate = f"{run['per_second']:,.0f}" + (" **FAILED**" if run["failed"] else "")
    return [rate, f"{run['p50_ms']:.2f}", f"{run['p99_ms']:.2f}"]


def errors(*runs: RunRecord | None) -> str:
    total: dict[str, int] = {}
    for run in runs:
        for name, count in (run.get("errors", {}) if run else {}).items():
            total[name] = total.get(name, 0) + count
    bad = {k: v for k, v in total.items() if v}
    return ", ".join(f"{k} {v}" for k, v in bad.items()) or "0"


def targets_table(results: Results) -> list[str]:
    lines = ["| target | measured | goal | result |", "| --- | ---: | ---: | --- |"]
    for t in results["targets"]:
        mark = "invalid run" if t["invalid"] else ("met" if t["met"] else "**missed**")
        lines.append(f"| {t['target']} | {t['measured']} | {t['goal']} | {mark} |")
    return lines


def throughput(results: Results) -> list[str]:
    runs = figures.runs_by_key(results)
    lines = [
        "| contender | workers | store | creates/s | p50 ms | p99 ms | pairs/s | p50 ms | p99 ms "
        "| errors |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for key, name, workers, store in CONTENDERS:
        first = runs.get((key, "json")) if key == "ceiling" else runs.get((key, "create"))
        pairs = runs.get((key, "pairs"))
        cells = cell(first) + cell(pairs)
        if key == "ceiling":
            cells[0] = cells[0] + " req/s"
        lines.append(
            f"| {name} | {workers} | {store} | "
            + " | ".join(cells)
            + f" | {errors(first, pairs)} |"
        )
    durable = runs.get(("ots-redis-2w", "pairs-durable"))
    if durable:
        lines.append(
            "| ots-server, `appendfsync always` | 2 | Redis | - | - | - | "
            + " | ".join(cell(durable))
            + f" | {errors(durable)} |"
        )
    return lines


def ratios(results: Results) -> list[str]:
    runs = figures.runs_by_key(results)
    rows = [
        ("ots SQLite 1w / floor SQLite 1w", "ots-sqlite-1w", "floor-sqlite-1w"),
        ("ots Redis 2w / floor Redis 2w", "ots-redis-2w", "floor-redis-2w"),
        ("ots SQLite 1w / SnapPass 1w", "ots-sqlite-1w", "snappass-1w"),
        ("ots Redis 2w / SnapPass 2w", "ots-redis-2w", "snappass-2w"),
        ("ots SQLite 1w / bare Starlette", "ots-sqlite-1w", "ceiling"),
        ("SnapPass 1w / bare Starlette", "snappass-1w", "ceiling"),
    ]
    lines = ["| ratio | creates | pairs |", "| --- | ---: | ---: |"]
    for label, ours, theirs in rows:
        if theirs == "ceiling":
            ceiling = runs.get(("ceiling", "json"))
            c, p = figures.rate_ratio(runs.get((ours, "create")), ceiling), None
            if ceiling and runs.get((ours, "pairs")):
                # A pair is two requests: compare requests per second.
                p = 2 * runs[(ours, "pairs")]["per_second"] / ceiling["per_second"]
            creates = figures.fmt(None if c is None else c * 100, ".1f", " %")
            pairs = figures.fmt(None if p is None else p * 100, ".1f", " %")
            lines.append(f"| {label} (requests/s) | {creates} | {pairs} |")
        else:
            c = figures.rate_ratio(runs.get((ours, "create")), runs.get((theirs, "create")))
            p = figures.rate_ratio(runs.get((ours, "pairs")), runs.get((theirs, "pairs")))
            lines.append(
                f"| {label} | {figures.fmt(c, '.2f', 'x')} | {figures.fmt(p, '.2f', 'x')} |"
            )
    return lines


def server_cpu(results: Results) -> list[str]:
    runs = figures.runs_by_key(results)
    rows = [
        ("bare Starlette `GET /json`", "ceiling", ("json", None)),
        ("floor, SQLite, 1 worker", "floor-sqlite-1w", ("create", "pairs")),
        ("ots-server, SQLite, 1 worker", "ots-sqlite-1w", ("create", "pairs")),
        ("SnapPass, 1 worker", "snappass-1w", ("create", "pairs")),
        ("floor, Redis, 2 workers", "floor-redis-2w", ("create", "pairs")),
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
            per = figures.unit_cpu_us(run)
            found = found or per is not None
            cores = figures.cores_busy(run) if run and per is not None else None
            cells += [figures.fmt(per, ",.0f", ""), figures.fmt(cores, ".2f", "")]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    if not found:
        return ["Not measured in this run."]
    lines += [
        "",
        "ots against its floor, server CPU per unit (the goal: within 2x):",
        "",
        "| ots / floor | per create | per pair |",
        "| --- | ---: | ---: |",
    ]
    for ours, floor, label in figures.FLOORS:
        cells = [
            figures.fmt(figures.cpu_ratio(runs.get((ours, m)), runs.get((floor, m))), ".2f", "x")
            for m in ("create", "pairs")
        ]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    return lines


def one_connection(results: Results) -> list[str]:
    runs = figures.runs_by_key(results)
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
                f"{errors(run)} |"
            )
    floor = results.get("commit_floor")
    if floor:
        lines.append(
            f"| *commit floor: the same rows committed by a bare SQLite loop, no server* | - | "
            f"{floor['p50_ms']:.2f} | - | {floor['p99_ms']:.2f} | {floor['max_ms']:.2f} | - |"
        )
    return lines


def scale(results: Results) -> list[str]:
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
            f" | {lv['p99_ms']:.2f} | {lv['max_ms']:.2f} | {errors(lv)} |"
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


def cli(results: Results) -> list[str]:
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


def profile(results: Results) -> list[str]:
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


def app_cpu(results: Results) -> list[str]:
    measured = results.get("app_cpu")
    if not measured:
        return ["Not measured in this run."]
    ceiling = next(
        (r for r in results["runs"] if (r["contender"], r["mode"]) == ("ceiling", "json")), None
    )
    bare = 1e6 / ceiling["per_second"] if ceiling and ceiling["per_second"] else None
    first = next(iter(measured.values()))["create"]
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
    for store, units in measured.items():
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
