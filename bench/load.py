"""The load generator: wrk with the Lua scripts in bench/lua, and what one run measured.

Every contender is driven by the same wrk binary, with one thread (wrk is not what limits a
run here; a second thread would take CPU from the servers on a 2-core machine) and the same
connection count and duration. A run *fails* when anything but the expected answer came
back: a socket error or timeout, any status other than the script's expected one (3xx
included), or a script that ran out of pre-built requests.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

LUA = Path(__file__).resolve().parent / "lua"
MARKER = "WRKJSON "


@dataclass(frozen=True)
class Run:
    """One wrk run against one contender."""

    contender: str
    mode: str
    connections: int
    duration_s: float
    requests: int
    good: int
    npairs: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    #: CPU seconds the server's processes used while wrk ran (when the caller could tell).
    server_cpu_s: float | None = None

    @property
    def failed(self) -> bool:
        return any(self.errors.values())

    @property
    def per_second(self) -> float:
        """Creates per second (create runs), pairs per second (pairs), requests otherwise."""
        count = self.npairs if self.mode.startswith("pairs") else self.good
        return count / self.duration_s if self.duration_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "failed": self.failed, "per_second": self.per_second}


def wrk(
    contender: str,
    mode: str,
    script: str,
    url: str,
    args: list[str],
    *,
    connections: int,
    duration: float,
    log: Path,
    stop_file: Path | None = None,
    server_cpu: Callable[[], float] | None = None,
) -> Run:
    """Run wrk once for ``duration`` seconds.

    With ``stop_file`` the script runs a fixed count and creates that file when it is done;
    wrk is then interrupted (SIGINT makes it print its summary at once) instead of sleeping
    out ``duration``, which is then only an upper bound."""
    argv = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "5s",
        "-s",
        str(LUA / script),
        url,
        "--",
        *args,
    ]
    if stop_file is not None:
        argv.append(str(stop_file))
        stop_file.unlink(missing_ok=True)
    cpu_before = server_cpu() if server_cpu else None
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as running:
        if stop_file is not None:
            deadline = time.monotonic() + duration
            while running.poll() is None and time.monotonic() < deadline:
                if stop_file.exists():
                    running.send_signal(signal.SIGINT)
                    break
                time.sleep(0.02)
        try:
            stdout, stderr = running.communicate(timeout=duration + 60)
        except subprocess.TimeoutExpired:
            running.kill()
            raise
    cpu_used = server_cpu() - cpu_before if server_cpu and cpu_before is not None else None
    with open(log, "a") as out:
        out.write(f"$ {' '.join(argv)}\n{stdout}{stderr}\n")
    lines = [line for line in stdout.splitlines() if line.startswith(MARKER)]
    if running.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({running.returncode}): {stderr.strip()[-500:]}")
    data = json.loads(lines[-1][len(MARKER) :])
    errors = {
        name: int(data[name])
        for name in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    }
    errors["unexpected_status"] = int(data["bad"])
    errors["pool_exhausted"] = int(data["exhausted"])
    return Run(
        contender=contender,
        mode=mode,
        connections=connections,
        duration_s=data["duration_us"] / 1e6,
        requests=int(data["requests"]),
        good=int(data["good"]),
        npairs=int(data["npairs"]),
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["latency_max_us"] / 1000,
        errors=errors,
        server_cpu_s=cpu_used,
    )
