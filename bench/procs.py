"""Processes the benchmark starts, and the guarantee that it stops every one of them.

Each server runs in its own session (its own process group), listening on 127.0.0.1 on a
free port, with its output in a log file under the run's temporary directory. ``Processes``
remembers every group it started; ``stop_all`` (called from ``finally``, from an ``atexit``
hook, and on SIGTERM through ``SystemExit``) sends SIGTERM to each group, waits, then SIGKILL.
Only groups this run started are ever signalled.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    port: int
    url: str = field(init=False)

    def __post_init__(self) -> None:
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _members(group: int) -> Iterator[Path]:
    """The ``/proc`` directories of the live processes in process group ``group``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) == group:
                yield entry
        except (OSError, ProcessLookupError):  # gone meanwhile
            continue


def group_peak_rss(group: int) -> int:
    """The largest ``VmHWM`` (peak resident set) of the processes in ``group``."""
    peak = 0
    for entry in _members(group):
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]) * 1024)
    return peak


def group_times(group: int) -> tuple[float, float]:
    """User and system CPU seconds used so far by the processes in ``group``: a server this
    module started is the leader of its group, so ``group_times(proc.pid)`` is that server with
    all its worker processes."""
    user = system = 0
    for entry in _members(group):
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime (fields 14, 15 of stat)
        user, system = user + int(fields[11]), system + int(fields[12])
    tick = os.sysconf("SC_CLK_TCK")
    return user / tick, system / tick


def group_cpu(group: int) -> float:
    """CPU seconds (user + system) used so far by the processes in ``group``."""
    return sum(group_times(group))


def stop_on_sigterm() -> None:
    """Make SIGTERM raise ``SystemExit``, so ``finally`` blocks and ``atexit`` stop what a
    benchmark started when it is itself terminated."""

    def handler(signum: int, frame: object) -> NoReturn:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


class Processes:
    """Starts servers in their own process groups and stops them all, whatever happens."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.running: list[Proc] = []
        atexit.register(self.stop_all)

    def start(self, name: str, argv: list[str], env: dict[str, str], port: int) -> Proc:
        log = self.logs / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        proc = Proc(name=name, popen=popen, log=log, port=port)
        self.running.append(proc)
        return proc

    def stop(self, proc: Proc, timeout: float = 15) -> None:
        if proc in self.running:
            self.running.remove(proc)
        if proc.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.popen.wait(timeout=5)
        # Workers a server forked live in the same group; make sure none outlives it.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for proc in list(reversed(self.running)):
            self.stop(proc)


def wait_http(proc: Proc, path: str, timeout: float = 30) -> None:
    """Wait until ``GET path`` answers 200, or fail with the server's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            break
        try:
            if httpx.get(proc.url + path, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{proc.name} did not start; its log ends with:\n{proc.log_tail()}")


def wait_port(proc: Proc, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", proc.port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{proc.name} did not start; its log ends with:\n{proc.log_tail()}")
