"""docs/benchmarks.md from the results of bench/compare.py (see bench/README.md).

The report in four parts: :mod:`~bench.report.records` (the shape of the results),
:mod:`~bench.report.figures` (arithmetic and targets), :mod:`~bench.report.tables` and
:mod:`~bench.report.prose` (the text), assembled by :mod:`~bench.report.document`.
``python -m bench.report [bench/out/results.json]`` rewrites docs/benchmarks.md from a saved run.
"""

from __future__ import annotations

from bench.report.document import render, summary
from bench.report.figures import targets

__all__ = ["render", "summary", "targets"]
