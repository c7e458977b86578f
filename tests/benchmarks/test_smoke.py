"""Every benchmark runs, at its smallest: a broken benchmark cannot land.

Each test runs one benchmark as a user does (``python -m bench.NAME``, a subprocess, real
servers on 127.0.0.1, real wrk and hyperfine) with the smallest settings it has, and checks it
exited as a working run does and printed its figures. The figures themselves mean nothing at
this size and are not judged. Nothing is skipped: wrk, hyperfine and redis-server come from
.ci/services; SnapPass, matplotlib and py-spy are installed by the comparison itself into
bench/out (bench/tools.py).

Not here: bench/crypto_bench.py (tests/benchmarks/test_crypto_bench.py) and the two browser
benchmarks, bench/web_page.py and bench/web_create.py, whose smallest runs take minutes of
Chromium.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench import tools

ROOT = Path(__file__).resolve().parents[2]


def _bench(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTS_")}
    return subprocess.run(
        [sys.executable, "-m", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_compare_runs_every_part(tmp_path: Path) -> None:
    # --smoke: 1-second wrk runs, 10^3 stored secrets, 2 hyperfine runs, a 1-second profile,
    # docs left alone. Exit 1 (a target missed) is a working run; 2 is a failed part.
    done = _bench("bench.compare", "--smoke", timeout=600)
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    assert "FAILED" not in done.stdout + done.stderr
    results = json.loads((tools.OUT / "results-smoke.json").read_text())
    assert results["problems"] == []
    measured = {(run["contender"], run["mode"]) for run in results["runs"]}
    for name in ("ots-sqlite-1w", "ots-redis-2w", "floor-sqlite-1w", "floor-redis-2w"):
        assert {(name, "create"), (name, "pairs")} <= measured
    # Issue 18, item 5: the Redis store's bytes per secret beyond the ciphertext is measured
    # and printed.
    overhead = {o["store"]: o["per_secret"] for o in results["scale"]["overhead"]}
    assert overhead.keys() == {"sqlite", "redis"}
    assert "store bytes per secret beyond the ciphertext, redis:" in done.stdout
    assert "pairs/s, ots SQLite 1 worker vs the floor" in done.stdout
    # The chart draws from these results (the tools environment has matplotlib).
    chart = tmp_path / "chart.png"
    drawn = subprocess.run(
        [str(tools.TOOLS_VENV / "bin" / "python"), "-m", "bench.chart",
         str(tools.OUT / "results-smoke.json"), str(chart)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert drawn.returncode == 0, drawn.stderr
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_transfer() -> None:
    done = _bench("bench.transfer", "--size-mib", "1", "--runs", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ots round trip / cp" in done.stdout


def test_sweep() -> None:
    done = _bench("bench.sweep", "--records", "1000", "--seconds", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "/readyz during sweeps: n=" in done.stdout


def test_ab() -> None:
    done = _bench("bench.ab", "--rounds", "1", "--seconds", "1", "--floor", "a:", "b:")
    assert done.returncode == 0, done.stderr[-3000:]
    medians = done.stdout.splitlines()[-6:]
    assert [line.split()[:2] for line in medians] == [
        [name, mode] for name in ("a", "b", "floor") for mode in ("create", "pairs")
    ], done.stdout
    # Every contender's CPU per unit was read from /proc: a positive figure.
    assert all(float(line.split("CPU")[1].split()[0]) > 0 for line in medians), done.stdout


def test_app_cpu() -> None:
    done = _bench("bench.app_cpu", "--rounds", "1", "--count", "50")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split()[:2] for line in done.stdout.splitlines()[1:] if line.strip()]
    for store in ("memory", "sqlite", "redis"):
        assert [store, "create"] in rows, done.stdout
        assert [store, "pair"] in rows, done.stdout


def test_app_profile_on_every_store() -> None:
    for store in ("memory", "sqlite", "redis"):
        done = _bench("bench.app_profile", "--store", store, "--count", "50", "--top", "3")
        assert done.returncode == 0, done.stderr[-3000:]
        assert done.stdout.startswith(f"{store}: "), done.stdout[:500]
        assert "own time per part" in done.stdout
    # The Redis client's own time is charged to parts of its own.
    assert "redis-py: " in done.stdout
