"""The report's prose: the notes under "Reading the results", each drawn from this run's figures.

Every note is printed only when the figures it rests on are in the results, so a partial run
gives fewer notes, never a note about figures it did not measure.
"""

from __future__ import annotations

from bench.report import figures
from bench.report.records import AppCpu, Results, Runs

#: p50 at one connection above which a multi-worker server is taken to wait for delayed ACKs.
STALL_MS = 30.0


def findings(results: Results) -> list[str]:
    """Notes that follow from this run's figures, each only when its evidence is there."""
    runs = figures.runs_by_key(results)
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
    notes += pair_ceiling(runs)
    notes += floors(runs, results.get("app_cpu") or {})
    notes += at_load(runs, results.get("app_cpu") or {})
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


def floors(runs: Runs, cpu: dict[str, AppCpu]) -> list[str]:
    """The best ots could do in this run, from what a request costs at the least: its CPU
    inside the process (bench/app_cpu.py) plus what the bare endpoint's request costs under
    uvicorn, every core busy with nothing else (so: an upper bound)."""
    ceiling = runs.get(("ceiling", "json"))
    if not ceiling or not cpu:
        return []
    bare = 1e6 / ceiling["per_second"]
    notes = []
    for store, ours, theirs, workers, goal in (
        ("sqlite", "ots-sqlite-1w", "snappass-1w", 1, 4),
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


def at_load(runs: Runs, cpu: dict[str, AppCpu]) -> list[str]:
    """What a pair cost the real server at full load, against the same pair in-process."""
    notes = []
    for store, ours, theirs, goal in (
        ("sqlite", "ots-sqlite-1w", "snappass-1w", 4),
        ("redis", "ots-redis-2w", "snappass-2w", 4),
    ):
        run, other = runs.get((ours, "pairs")), runs.get((theirs, "pairs"))
        per, peer = figures.unit_cpu_us(run), figures.unit_cpu_us(other)
        if run is None or per is None or store not in cpu:
            continue
        inside = cpu[store]["pair"]["min_us"]
        cores = figures.cores_busy(run)
        note = (
            f"- **At full load, ots on {store} spent {per:,.0f} µs of server CPU per pair**, "
            f"{per / inside:.1f}x the {inside:,.0f} µs the same pair costs inside the process "
            "(bench/app_cpu.py): the rest is uvicorn's HTTP handling, the kernel's sockets and "
            f"the hand-offs between threads (and processes). It kept {cores:.2f} cores busy."
        )
        if other is not None and peer is not None:
            their_cores = figures.cores_busy(other)
            note += (
                f" SnapPass spent {peer:,.0f} µs per pair with {their_cores:.2f} cores busy. "
                "Pairs/s is cores busy divided by CPU per pair, so ots's ratio is its CPU "
                f"advantage ({peer / per:.1f}x) times its share of the cores "
                f"({cores / their_cores:.2f}); {goal}x SnapPass on the cores it used would take "
                f"at most {cores * peer / (goal * their_cores):,.0f} µs per pair."
            )
        notes.append(note)
    return notes


def pair_ceiling(runs: Runs) -> list[str]:
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
