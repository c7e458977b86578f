"""The comparison report's arithmetic (bench/report.py) on made-up runs: server CPU per unit,
cores busy, and the decomposition of a ratio to SnapPass into CPU per pair and cores.

The figures are chosen so every number in the sentences can be checked by hand."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _report() -> ModuleType:
    spec = importlib.util.spec_from_file_location("report", BENCH / "report.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _run(contender: str, mode: str, per_second: float, cpu_s: float | None) -> dict[str, Any]:
    # 10-second runs: per_second x 10 units, cpu_s seconds of server CPU in all.
    return {
        "contender": contender,
        "mode": mode,
        "duration_s": 10.0,
        "per_second": per_second,
        "server_cpu_s": cpu_s,
        "failed": False,
    }


def _results() -> dict[str, Any]:
    return {
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


def test_cpu_per_unit_and_cores_busy() -> None:
    report = _report()
    runs = report._runs(_results())
    assert round(report._unit_cpu_us(runs[("ots-sqlite-1w", "pairs")])) == 900
    assert round(report._unit_cpu_us(runs[("snappass-1w", "pairs")])) == 3000
    assert report._unit_cpu_us(_run("x", "pairs", 100, None)) is None
    table = "\n".join(report._server_cpu(_results()))
    assert "| bare Starlette `GET /json` | 50 | 1.00 | - | - |" in table
    assert "| ots-server, SQLite, 1 worker | n/a | n/a | 900 | 0.90 |" in table


def test_the_ratio_is_cpu_advantage_times_share_of_cores() -> None:
    report = _report()
    results = _results()
    (note,) = report._at_load(report._runs(results), results["app_cpu"])
    assert "spent 900 µs of server CPU per pair" in note
    assert "3.0x the 300 µs" in note
    assert "SnapPass spent 3,000 µs per pair with 1.20 cores busy" in note
    # ots made 1,000 pairs/s against 400/s: 2.5x = a 3.33x CPU advantage x 0.75 of the cores.
    assert "CPU advantage (3.3x) times its share of the cores (0.75)" in note
    # 5x SnapPass (2,000 pairs/s) on 0.9 cores: 0.9 / 2,000 s = 450 µs per pair.
    assert "would take at most 450 µs per pair" in note
