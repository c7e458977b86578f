"""Where ots spends a create: py-spy on ots-server (SQLite, one worker) under the create load.

Two samplings of the same server, each during its own wrk create run (never during a measured
run: sampling slows the server down):

- ``--gil``: only the thread holding the GIL is sampled, so the shares are of CPU time spent
  in Python (and C called from it without releasing the GIL); each sample of the event loop's
  thread is charged to one part of the stack (see ``CATEGORIES``), so the shares add up;
- ``--idle --threads``: every thread, whatever it does, so each thread's share of wall time
  shows where requests wait (the SQLite writer lane, the event loop's select).

The raw collapsed stacks are kept in bench/out/profile-gil.txt and profile-wall.txt (e.g. for
a flame graph).
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from bench.load import wrk
from bench.pool import Pool
from bench.tools import OUT, TOOLS_VENV

RATE = 250


@dataclass(frozen=True)
class Profile:
    gil_share: float  # share of wall time some thread held the GIL
    cpu: list[tuple[str, float]]  # (category, share of GIL-holding samples), adding up to 1
    threads: list[tuple[str, float, float]]  # (thread, share of wall time busy, share in COMMIT)
    creates_per_s: float


#: Where a GIL-holding sample of the event loop's thread is charged: walking from the innermost
#: frame outwards, the first frame whose file matches a pattern decides (so the shares add up).
CATEGORIES = [
    ("h11/", "h11: HTTP parsing and serialization"),
    ("uvicorn/", "uvicorn: protocol and ASGI glue"),
    ("ots_server/middleware/ratelimit.py", "ots: rate limiter"),
    ("ots_server/bodies.py", "ots: reading and checking request bodies"),
    ("ots_server/codec.py", "ots: reading and checking request bodies"),
    ("ots_server/parsers.py", "ots: reading and checking request bodies"),
    ("ots_server/store/", "ots: store calls (event-loop side)"),
    ("ots_server/", "ots: handlers, headers, metrics"),
    ("json/", "json encoding and decoding"),
    ("hmac.py", "hashing and randomness"),
    ("hashlib.py", "hashing and randomness"),
    ("random.py", "hashing and randomness"),
    ("secrets.py", "hashing and randomness"),
    ("starlette/", "Starlette: routing, middleware, responses"),
    ("anyio/", "anyio: timeouts and threads"),
    ("concurrent/", "asyncio: event loop and thread hand-off"),
    ("asyncio/", "asyncio: event loop and thread hand-off"),
    ("selectors.py", "asyncio: event loop and thread hand-off"),
]


def _category(thread: str, files: list[str]) -> str:
    if thread != "MainThread":
        return f"thread {thread.rsplit('_', 1)[0]} (GIL held)"
    for file in reversed(files):
        for pattern, label in CATEGORIES:
            if pattern in file:
                return label
    return "other"


def _frames(line: str) -> tuple[str, list[str], list[str], int]:
    """Thread name, function names and files (outermost first), sample count."""
    stack, count = line.rsplit(" ", 1)
    frames = stack.split(";")
    thread = frames[0].split(": ", 1)[-1]
    names = [frame.split(" (")[0] for frame in frames[1:]]
    files = [frame.partition(" (")[2].rstrip(")") for frame in frames[1:]]
    return thread, names, files, int(count)


def _record(pid: int, seconds: int, out: Path, extra: list[str]) -> None:
    subprocess.run(
        [
            str(TOOLS_VENV / "bin" / "py-spy"),
            "record",
            "-p",
            str(pid),
            "-d",
            str(seconds),
            "-r",
            str(RATE),
            "-f",
            "raw",
            "-o",
            str(out),
            "--threads",
            "--nonblocking",
            *extra,
        ],
        check=True,
        capture_output=True,
        timeout=seconds + 60,
    )


def profile_creates(
    url: str, pid: int, pool: Pool, start: int, work: Path, seconds: int
) -> Profile:
    """Sample ``pid`` twice, each time during a create run of ``seconds`` + 2 s."""
    raw_gil, raw_wall = work / "profile-gil.txt", work / "profile-wall.txt"
    creates = 0.0
    per_run = pool.count - start
    for index, (raw, extra) in enumerate(((raw_gil, ["--gil"]), (raw_wall, ["--idle"]))):
        args = pool.lua_args("create", start + index * (per_run // 2), per_run // 2, 1)
        sampler = threading.Thread(target=_record, args=(pid, seconds, raw, extra), daemon=True)
        result: list[float] = []

        def load(args: list[str] = args, result: list[float] = result) -> None:
            run = wrk(
                "ots-profiled",
                "create",
                "ots.lua",
                url,
                args,
                connections=16,
                duration=seconds + 2,
                log=work / "wrk-profile.log",
            )
            result.append(run.per_second)

        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        sampler.start()
        sampler.join()
        loader.join()
        creates = result[0] if result else 0.0
    for raw in (raw_gil, raw_wall):
        shutil.copy(raw, OUT / raw.name)
    return _summarize(raw_gil, raw_wall, seconds, creates)


def _summarize(raw_gil: Path, raw_wall: Path, seconds: int, creates: float) -> Profile:
    charged: collections.Counter[str] = collections.Counter()
    gil_samples = 0
    for line in raw_gil.read_text().splitlines():
        thread, _, files, count = _frames(line)
        gil_samples += count
        charged[_category(thread, files)] += count
    cpu = [(label, n / gil_samples) for label, n in charged.most_common()] if gil_samples else []
    busy: collections.Counter[str] = collections.Counter()
    commit: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    for line in raw_wall.read_text().splitlines():
        thread, frames, _, count = _frames(line)
        name = thread.rsplit("_", 1)[0] if "sqlite" in thread else thread
        total[name] += count
        leaf = frames[-1] if frames else ""
        idle = leaf in ("EpollSelector.select", "_worker") or leaf.startswith("Condition.wait")
        if not idle:
            busy[name] += count
        if any(frame == "in_transaction" for frame in frames) and leaf == "in_transaction":
            commit[name] += count
    expected = seconds * RATE
    threads = [
        (name, busy[name] / max(total[name], expected), commit[name] / max(total[name], expected))
        for name in sorted(total, key=lambda n: -busy[n])
    ]
    return Profile(
        gil_share=gil_samples / expected if expected else 0.0,
        cpu=cpu,
        threads=threads,
        creates_per_s=creates,
    )
