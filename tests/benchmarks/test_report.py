"""The comparison report (bench/report/): its arithmetic on made-up runs, and its whole text
for recorded results.

The arithmetic: server CPU per unit, cores busy, and the decomposition of a ratio to SnapPass
into CPU per pair and cores; the figures are chosen so every number in the sentences can be
checked by hand. The text: tests/benchmarks/recorded/ holds two results files (a full run and
a partial one with failures) with the document and summary the report rendered for them
before it was split into modules; the same results must still give the same bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from bench import report
from bench.report import figures, prose, tables
from bench.report.records import Results, RunRecord

RECORDED = Path(__file__).resolve().parent / "recorded"


def _run(contender: str, mode: str, per_second: float, cpu_s: float | None) -> RunRecord:
    # 10-second runs: per_second x 10 units, cpu_s seconds of server CPU in all.
    run = {
        "contender": contender,
        "mode": mode,
        "duration_s": 10.0,
        "per_second": per_second,
        "server_cpu_s": cpu_s,
        "failed": False,
    }
    return cast(RunRecord, run)


def _results() -> Results:
    results: dict[str, Any] = {
        "runs": [
            _run("ceiling", "json", 20_000, 10.0),  # 50 µs per request, 1 core
            _run("ots-sqlite-1w", "pairs", 1_000, 9.0),  # 900 µs per pair, 0.9 cores
            _run("snappass-1w", "pairs", 400, 12.0),  # 3,000 µs per pair, 1.2 cores
        ],
        "app_cpu": {
            "sqlite": {
                "create": {"min_us": 200.0, "median_us": 210.0, "rounds": 3, "count": 2000},
                "pair": {"min_us": 300.0, "median_us": 320.0, "rounds": 3, "count": 2000},
            }
        },
    }
    return cast(Results, results)


def test_cpu_per_unit_and_cores_busy() -> None:
    runs = figures.runs_by_key(_results())
    assert round(figures.unit_cpu_us(runs[("ots-sqlite-1w", "pairs")]) or 0) == 900
    assert round(figures.unit_cpu_us(runs[("snappass-1w", "pairs")]) or 0) == 3000
    assert figures.unit_cpu_us(_run("x", "pairs", 100, None)) is None
    table = "\n".join(tables.server_cpu(_results()))
    assert "| bare Starlette `GET /json` | 50 | 1.00 | - | - |" in table
    assert "| ots-server, SQLite, 1 worker | n/a | n/a | 900 | 0.90 |" in table


def test_the_ratio_is_cpu_advantage_times_share_of_cores() -> None:
    results = _results()
    (note,) = prose.at_load(figures.runs_by_key(results), results["app_cpu"])
    assert "spent 900 µs of server CPU per pair" in note
    assert "3.0x the 300 µs" in note
    assert "SnapPass spent 3,000 µs per pair with 1.20 cores busy" in note
    # ots made 1,000 pairs/s against 400/s: 2.5x = a 3.33x CPU advantage x 0.75 of the cores.
    assert "CPU advantage (3.3x) times its share of the cores (0.75)" in note
    # 4x SnapPass (1,600 pairs/s) on 0.9 cores: 0.9 / 1,600 s = 562.5 µs per pair.
    assert "4x SnapPass on the cores it used would take at most 562 µs per pair" in note


@pytest.mark.parametrize("name", ["full", "sparse"])
def test_recorded_results_render_as_they_did(name: str) -> None:
    results = json.loads((RECORDED / f"{name}.json").read_text())
    results["targets"] = report.targets(results)
    assert report.render(results, "benchmarks.png") == (RECORDED / f"{name}.md").read_text()
    assert report.summary(results) + "\n" == (RECORDED / f"{name}.summary.txt").read_text()
