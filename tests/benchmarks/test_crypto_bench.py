"""The benchmark script runs, and ots stays within a loose bound of the raw AEAD.

The documented target is 1.5x (docs/FORMAT.md, "Performance", measured at 1 MiB and 64 MiB by
bench/crypto_bench.py). This quick run uses 1 MiB and asserts only 3x, so a busy CI machine
does not make it flaky while a real regression (an extra pass over the data per chunk, or a
quadratic buffer) still fails it. A path gets up to three runs and is judged by its best ratio:
other processes stealing a core inflate one run's ratio, a regression inflates every run's.
"""

from __future__ import annotations

import pytest

from bench import crypto_bench

BOUND = 3.0
ATTEMPTS = 3


def test_quick_benchmark_within_loose_bound() -> None:
    best: dict[tuple[str, str], float] = {}
    tables = []
    for _ in range(ATTEMPTS):
        rows = crypto_bench.run([1 << 20], repeat=5)
        assert len({(row.path, row.direction) for row in rows}) == 6
        assert "| 1 MiB |" in crypto_bench.table(rows)
        tables.append(crypto_bench.table(rows))
        for row in rows:
            key = (row.path, row.direction)
            best[key] = min(best.get(key, row.ratio), row.ratio)
        if max(best.values()) < BOUND:
            break
    slow = {key: ratio for key, ratio in best.items() if ratio >= BOUND}
    assert not slow, "\n".join([f"best ratios over {BOUND}: {slow}", *tables])


def test_cli_quick_mode_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert crypto_bench.main(["--quick", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    assert "raw AEAD median" in out
    assert "| 4 MiB |" in out
