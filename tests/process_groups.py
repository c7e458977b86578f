"""What the kernel says about a process group, for the suites that run real servers and CLIs
in groups of their own (tests/cli/test_large_files.py, tests/server/test_large_blobs.py)."""

from __future__ import annotations

import os
from pathlib import Path


def group_peak_rss(group: int) -> int:
    """The largest ``VmHWM`` (peak resident set, exact, not sampled) of the processes in
    ``group`` (a server and its workers, or a CLI and its wrapper)."""
    peak = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != group:
                continue
            status = (entry / "status").read_text()
        except (OSError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) * 1024)
    return peak
