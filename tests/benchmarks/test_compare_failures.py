"""bench/compare.py fails loudly: every failed part is named, the exit status is 2, and the
document is left alone (issue 18). The parts here fail for real (an exception in a part, a
run wrk counted errors in, results missing a contender); the whole run is
tests/benchmarks/test_smoke.py's."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, cast

import pytest

from bench import compare, tools
from bench.contenders import Bench
from bench.load import Run
from bench.procs import Processes
from bench.report.records import Results


def _run(contender: str, mode: str, **errors: int) -> Run:
    counts = {"connect_errors": 0, "timeouts": 0, **errors}
    return Run(contender, mode, 16, 1.0, 100, 100, 50, 1.0, 2.0, 3.0, 4.0, counts, 0.5)


def _complete(args: argparse.Namespace) -> dict[str, Any]:
    runs = [_run(name, mode).as_dict() for name, mode in compare.EXPECTED_RUNS]
    levels = [
        {"store": store, "stored": level} for store in ("sqlite", "redis") for level in args.scale
    ]
    return {
        "runs": runs,
        "commit_floor": {},
        "cli": {},
        "app_cpu": {},
        "profile": {},
        "scale": {
            "levels": levels,
            "skipped": [],
            "overhead": [{"store": "sqlite"}, {"store": "redis"}],
        },
    }


def test_a_complete_run_misses_nothing() -> None:
    args = compare.parse_args([])
    assert compare.missing_parts(args, cast(Results, _complete(args))) == []


def test_missing_runs_and_figures_are_named() -> None:
    args = compare.parse_args([])
    results = _complete(args)
    results["runs"] = [r for r in results["runs"] if r["contender"] != "floor-redis-2w"]
    del results["cli"]
    results["scale"]["overhead"] = [{"store": "sqlite"}]
    missing = compare.missing_parts(args, cast(Results, results))
    assert missing == [
        "no create run of floor-redis-2w",
        "no pairs run of floor-redis-2w",
        "no cli in the results",
        "no bytes per secret for redis",
    ]


def test_a_failing_part_is_named_and_the_next_part_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = Bench(compare.parse_args([]), tmp_path, Processes(tmp_path))
    with bench.part("ots-server, SQLite, 1 worker"):
        raise RuntimeError("ots-sqlite-1w did not start; its log ends with: boom")
    with bench.part("the next part"):
        bench.record(_run("floor-sqlite-1w", "pairs", status_errors=3))
    assert bench.failures == [
        "ots-server, SQLite, 1 worker: ots-sqlite-1w did not start; its log ends with: boom",
        "wrk run floor-sqlite-1w pairs: errors {'status_errors': 3}",
    ]
    out = capsys.readouterr()
    assert "FAILED: ots-server, SQLite, 1 worker" in out.out
    assert "Traceback" in out.err


def test_a_run_with_failures_exits_2_and_leaves_the_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tools, "OUT", tmp_path)
    doc = tmp_path / "benchmarks.md"
    doc.write_text("as it was\n")
    monkeypatch.setattr(compare, "DOC", doc)
    results = cast(Results, {"runs": [], "targets": [], "runtime_s": 60.0})
    status = compare.publish(compare.parse_args([]), results, ["CLI start-up: exited 2"])
    assert status == 2
    assert doc.read_text() == "as it was\n"
    assert "  - CLI start-up: exited 2" in capsys.readouterr().err
    assert json.loads((tmp_path / "results.json").read_text())["problems"] == [
        "CLI start-up: exited 2"
    ]
