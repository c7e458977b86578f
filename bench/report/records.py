"""The shapes of bench/out/results.json, as bench/compare.py writes it and the report reads it.

``TypedDict`` rather than dataclasses: the results are plain JSON, saved and re-read
(``python -m bench.report`` renders a saved run), so the records are the dictionaries
themselves, typed. Keys a run may lack (a step that did not run, or failed) are
``NotRequired``; the report prints "Not measured in this run." for those.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class RunRecord(TypedDict):
    """One wrk run against one contender (``bench.load.Run.as_dict``)."""

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
    server_cpu_s: float | None
    failed: bool
    per_second: float


class Level(RunRecord):
    """Reveal latency with the store filled to ``stored`` secrets."""

    store: str
    stored: int


class Overhead(TypedDict):
    """What the store grew by per secret, beyond the blob."""

    store: str
    added: int
    bytes_delta: int
    blob_len: int
    per_secret: float


class Breakdown(TypedDict, total=False):
    #: (table or index, bytes per secret, of which unused)
    sqlite: list[tuple[str, float, float]]
    #: (key, bytes)
    redis: list[tuple[str, int]]


class Scale(TypedDict):
    levels: list[Level]
    overhead: list[Overhead]
    skipped: list[str]
    breakdown: Breakdown
    blob_len: NotRequired[int]
    warmup: int
    measured: int


class CommitFloor(TypedDict):
    """The same rows committed by a bare SQLite loop, no server."""

    p50_ms: float
    p99_ms: float
    max_ms: float
    count: NotRequired[int]


class Profile(TypedDict):
    """py-spy's view of ots-server under creates (``bench.profiling.Profile``)."""

    gil_share: float
    #: (category, share of GIL-holding samples)
    cpu: list[tuple[str, float]]
    #: (thread, share of wall time busy, share in BEGIN IMMEDIATE/COMMIT)
    threads: list[tuple[str, float, float]]
    creates_per_s: float


class CliTiming(TypedDict):
    """One command of hyperfine's export, in milliseconds."""

    mean_ms: float
    stddev_ms: float
    median_ms: float
    min_ms: float
    runs: int


class CpuFigure(TypedDict):
    """In-process CPU per unit (bench/app_cpu.py): minimum and median over the rounds."""

    min_us: float
    median_us: float
    rounds: int
    count: int


class AppCpu(TypedDict):
    create: CpuFigure
    pair: CpuFigure


class Target(TypedDict):
    target: str
    measured: str
    goal: str
    met: bool
    invalid: bool


class Results(TypedDict):
    """bench/out/results.json."""

    date: str
    command: str
    machine: dict[str, str]
    versions: dict[str, str]
    duration: float
    warmup: float
    connections: int
    rate_limit: int
    snappass_threads: NotRequired[int]
    chart_groups: NotRequired[list[list[str]]]
    problems: list[str]
    blob_len: NotRequired[int]
    create_frame_len: NotRequired[int]
    commit_floor: NotRequired[CommitFloor]
    profile: NotRequired[Profile]
    scale: NotRequired[Scale]
    cli: NotRequired[dict[str, CliTiming]]
    app_cpu: NotRequired[dict[str, AppCpu]]
    runs: list[RunRecord]
    load_before: str
    load_after: str
    runtime_s: float
    #: Added last, from the rest (``bench.report.targets``).
    targets: NotRequired[list[Target]]


#: Runs by (contender, mode).
Runs = dict[tuple[str, str], RunRecord]
