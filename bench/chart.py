"""Draw the throughput chart of a comparison run (matplotlib, Agg backend, no display).

Run by bench/compare.py with the interpreter of bench/out/venv-tools, which has matplotlib::

    bench/out/venv-tools/bin/python -m bench.chart bench/out/results.json docs/benchmarks.png

Bars: creates per second and create+reveal pairs per second of each contender (the floor,
bench/floor.py, next to ots on each store); the bare Starlette ceiling is its requests per
second. A failed run (any error) is drawn hatched and
labelled FAILED.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any


def draw(results: dict[str, Any], out: Path) -> None:
    matplotlib: Any = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")

    runs = {(r["contender"], r["mode"]): r for r in results["runs"]}
    groups = results["chart_groups"]  # [[label, contender], ...]
    modes = [("create", "creates/s", "#4c72b0"), ("pairs", "create+reveal pairs/s", "#dd8452")]
    fig, ax = plt.subplots(figsize=(12, 5.2), dpi=110)
    width = 0.38
    for index, (_label, contender) in enumerate(groups):
        for offset, (mode, _, color) in enumerate(modes):
            run = runs.get((contender, mode)) or (
                runs.get((contender, "json")) if offset == 0 else None
            )
            if run is None:
                continue
            x = index + (offset - 0.5) * width
            if contender == "ceiling":
                x = index
                color = "#8c8c8c"
            value = run["per_second"]
            bar = ax.bar(
                x,
                value,
                width,
                color=color,
                hatch="//" if run["failed"] else None,
                edgecolor="black",
                linewidth=0.5,
            )
            text = "FAILED" if run["failed"] else f"{value:,.0f}"
            ax.bar_label(bar, labels=[text], fontsize=8, padding=2)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([label for label, _ in groups], fontsize=9)
    ax.set_ylabel("per second (higher is better)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=color) for _, _, color in modes]
    handles.append(plt.Rectangle((0, 0), 1, 1, color="#8c8c8c"))
    ax.legend(
        handles,
        [name for _, name, _ in modes] + ["requests/s (GET small JSON)"],
        fontsize=8,
        loc="upper right",
    )
    ax.set_title(
        f"ots, its floor, SnapPass, bare Starlette: {results['connections']} connections, "
        f"{results['duration']} s per run, wrk, 127.0.0.1 ({results['date']})",
        fontsize=10,
    )
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    fig.tight_layout()
    fig.savefig(out)


if __name__ == "__main__":
    draw(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
