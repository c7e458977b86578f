"""``python -m bench.report [bench/out/results.json]``: rewrites docs/benchmarks.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.report import render, targets

BENCH = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else BENCH / "out" / "results.json"
    saved = json.loads(source.read_text())
    saved["targets"] = targets(saved)
    (BENCH.parent / "docs" / "benchmarks.md").write_text(render(saved, "benchmarks.png"))
