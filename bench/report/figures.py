"""The report's arithmetic: runs by contender, ratios, server CPU per unit, and the targets.

Pure functions of the results (:mod:`bench.report.records`); nothing here formats more than
one figure. The targets are the issue's goals, each marked invalid when a run it depends on
failed or is missing, so a missed target never hides behind a broken run.
"""

from __future__ import annotations

from collections.abc import Mapping

from bench.report.records import Results, RunRecord, Runs, Target

STORE_OVERHEAD_MAX = 600


SCALE_P50_MAX = 1.5


CREATE_P99_MAX_MS = 5.0

#: Issue 18: ots's pairs/s at least this share of its floor's (bench/floor.py), same store.
FLOOR_SHARE_MIN = 0.5
#: Issue 18: ots's server CPU per create and per pair at most this multiple of the floor's.
FLOOR_CPU_MAX = 2.0
#: Issue 18: p99 at most this multiple of p50, at full load (the comparison's connections).
TAIL_MAX = 3.0

#: (ots contender, its floor, how the report names the pair).
FLOORS = [
    ("ots-sqlite-1w", "floor-sqlite-1w", "SQLite 1 worker"),
    ("ots-redis-2w", "floor-redis-2w", "Redis 2 workers"),
]


def runs_by_key(results: Results) -> Runs:
    return {(r["contender"], r["mode"]): r for r in results.get("runs", [])}


def rate_ratio(a: RunRecord | None, b: RunRecord | None) -> float | None:
    if not a or not b or not b["per_second"]:
        return None
    return float(a["per_second"]) / float(b["per_second"])


def unit_cpu_us(run: RunRecord | None) -> float | None:
    """Server CPU per create, pair or request of a run, in µs (None if not measured)."""
    cpu = run.get("server_cpu_s") if run else None
    if not run or cpu is None or not run["per_second"]:
        return None
    units = float(run["per_second"]) * float(run["duration_s"])
    return float(cpu) / units * 1e6


def cpu_ratio(a: RunRecord | None, b: RunRecord | None) -> float | None:
    """Server CPU per unit of ``a`` over that of ``b`` (None unless both were measured)."""
    ours, theirs = unit_cpu_us(a), unit_cpu_us(b)
    return None if ours is None or not theirs else ours / theirs


def cores_busy(run: RunRecord) -> float:
    """The cores a run kept busy: its server CPU seconds per second (0 when not measured;
    callers ask only when :func:`unit_cpu_us` has a figure for the run)."""
    return (run["server_cpu_s"] or 0.0) / run["duration_s"]


def fmt(value: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "n/a" if value is None else f"{value:{spec}}{suffix}"


def target(
    name: str, measured: str, goal: str, ok: bool | None, *runs: Mapping[str, object] | None
) -> Target:
    failed = any(r is None or r.get("failed") for r in runs)
    return {
        "target": name,
        "measured": measured,
        "goal": goal,
        "met": bool(ok) and not failed,
        "invalid": failed,
    }


def targets(results: Results) -> list[Target]:
    runs = runs_by_key(results)
    out = []
    for ours, floor, label in FLOORS:
        a, b = runs.get((ours, "pairs")), runs.get((floor, "pairs"))
        ratio = rate_ratio(a, b)
        out.append(
            target(
                f"pairs/s, ots {label} vs the floor, {label}",
                fmt(None if ratio is None else ratio * 100, ".1f", " %"),
                f">= {FLOOR_SHARE_MIN * 100:.0f} %",
                ratio is not None and ratio >= FLOOR_SHARE_MIN,
                a,
                b,
            )
        )
    for ours, theirs, goal, label in (
        ("ots-sqlite-1w", "snappass-1w", 4.0, "pairs/s, ots SQLite 1 worker vs SnapPass 1 worker"),
        ("ots-redis-2w", "snappass-2w", 4.0, "pairs/s, ots Redis 2 workers vs SnapPass 2 workers"),
    ):
        a, b = runs.get((ours, "pairs")), runs.get((theirs, "pairs"))
        ratio = rate_ratio(a, b)
        out.append(
            target(
                label,
                fmt(ratio, ".2f", "x"),
                f">= {goal:g}x",
                ratio is not None and ratio >= goal,
                a,
                b,
            )
        )
    a, b = runs.get(("ots-sqlite-1w", "create")), runs.get(("ceiling", "json"))
    ratio = rate_ratio(a, b)
    out.append(
        target(
            "ots create (SQLite, 1 worker) vs bare Starlette JSON, 1 worker",
            fmt(None if ratio is None else ratio * 100, ".1f", " %"),
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
            target(
                f"reveal p50 {store}: {high['stored']:,} vs {low['stored']:,} stored",
                fmt(ratio, ".2f", "x"),
                f"<= {SCALE_P50_MAX:g}x",
                ratio is not None and ratio <= SCALE_P50_MAX,
                low,
                high,
            )
        )
    for ours, floor, label in FLOORS:
        for mode, unit in (("create", "create"), ("pairs", "pair")):
            a, b = runs.get((ours, mode)), runs.get((floor, mode))
            ratio = cpu_ratio(a, b)
            out.append(
                target(
                    f"server CPU per {unit}, ots {label} vs the floor",
                    fmt(ratio, ".2f", "x"),
                    f"<= {FLOOR_CPU_MAX:g}x",
                    ratio is not None and ratio <= FLOOR_CPU_MAX,
                    a,
                    b,
                )
            )
    for ours, _, label in FLOORS:
        for mode in ("create", "pairs"):
            run = runs.get((ours, mode))
            tail = run["p99_ms"] / run["p50_ms"] if run and run["p50_ms"] else None
            connections = run["connections"] if run else results.get("connections", "?")
            out.append(
                target(
                    f"p99 / p50, ots {label}, {mode}, {connections} connections",
                    fmt(tail, ".2f", "x"),
                    f"<= {TAIL_MAX:g}x",
                    tail is not None and tail <= TAIL_MAX,
                    run,
                )
            )
    one = runs.get(("ots-sqlite-1w", "create@1"))
    out.append(
        target(
            "p99 of creates, SQLite, 1 connection",
            fmt(one["p99_ms"] if one else None, ".2f", " ms"),
            f"< {CREATE_P99_MAX_MS:g} ms",
            one is not None and one["p99_ms"] < CREATE_P99_MAX_MS,
            one,
        )
    )
    for overhead in results.get("scale", {}).get("overhead", []):
        per = overhead["per_secret"]
        out.append(
            target(
                f"store bytes per secret beyond the ciphertext, {overhead['store']}",
                f"{per:.0f} B",
                f"<= {STORE_OVERHEAD_MAX} B",
                per <= STORE_OVERHEAD_MAX,
                {},
            )
        )
    return out
