"""WAL checkpoints: a reader pinning the WAL makes a checkpoint report "busy" within
milliseconds instead of stalling every write for the busy timeout, the result is checked and
counted, a busy checkpoint is retried soon, writes get copied into the database file by the
checkpoint lane, and under sustained writes the writer's own small checkpoints keep the WAL
restarting instead of growing."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from ots_server import app as app_module
from ots_server.app import _maintain
from ots_server.metrics import Metrics
from ots_server.settings import Settings
from ots_server.store import Maintenance
from ots_server.store.memory.store import MemoryStore
from ots_server.store.sqlite.checkpoint import WRITER_CHECKPOINT_PAGES
from ots_server.store.sqlite.schema import PAGE_SIZE
from ots_server.store.sqlite.store import SQLiteStore

from .support import START, FakeClock, SimSecret

pytestmark = pytest.mark.anyio
#: Far above the few milliseconds expected, far below the old 10 s stall.
PROMPT = 1.0


async def _timed(awaitable: object) -> tuple[object, float]:
    started = time.monotonic()
    result = await awaitable  # type: ignore[misc]
    return result, time.monotonic() - started


async def test_a_pinned_wal_makes_the_checkpoint_busy_not_the_writers(
    sqlite_store: SQLiteStore,
) -> None:
    await sqlite_store.create(SimSecret.make().new_secret(START))
    reader = sqlite3.connect(sqlite_store.path, isolation_level=None)  # another worker's read
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM records").fetchone()
        await sqlite_store.create(SimSecret.make().new_secret(START))  # frames past its snapshot
        late = SimSecret.make()
        (result, checkpoint_seconds), (_, write_seconds) = await asyncio.gather(
            _timed(sqlite_store.maintenance()),
            _timed(sqlite_store.create(late.new_secret(START))),
        )
        assert isinstance(result, Maintenance)
        assert not result.complete  # the busy result is reported, not discarded
        assert result.pending >= 1
        assert checkpoint_seconds < PROMPT
        assert write_seconds < PROMPT
        reader.execute("COMMIT")
    finally:
        reader.close()
    result = await sqlite_store.maintenance()
    assert result == Maintenance(complete=True, pending=0)
    assert Path(f"{sqlite_store.path}-wal").stat().st_size == 0


async def test_writes_are_copied_to_the_database_by_the_checkpoint_lane(tmp_path: Path) -> None:
    path = tmp_path / "lane.sqlite3"
    store = SQLiteStore(path)
    try:
        secret = SimSecret.make(20_000)
        await store.create(secret.new_secret(START))
        async with asyncio.timeout(10):
            while secret.blob[100:164] not in path.read_bytes():
                await asyncio.sleep(0.02)
        # Only copied: the WAL is not truncated until maintenance.
        assert Path(f"{path}-wal").stat().st_size > 0
    finally:
        await store.close()


async def test_the_wal_restarts_under_sustained_writes(tmp_path: Path) -> None:
    """Concurrent creates with no pause for far longer than the writer's threshold: the WAL
    file stays near that size (it restarts), where without the writer's checkpoints every
    frame of the run stayed in it (a checkpoint beside a busy writer never catches up)."""
    path = tmp_path / "busy.sqlite3"
    store = SQLiteStore(path)
    wal = Path(f"{path}-wal")
    threshold = WRITER_CHECKPOINT_PAGES * PAGE_SIZE
    try:
        secrets = [SimSecret.make(6_000) for _ in range(3_000)]
        largest = 0
        for start in range(0, len(secrets), 100):  # 100 at a time: group commits of many
            group = secrets[start : start + 100]
            await asyncio.gather(*(store.create(s.new_secret(START)) for s in group))
            largest = max(largest, wal.stat().st_size)
        written = await store.maintenance()
    finally:
        await store.close()
    # The run wrote far more than the threshold: every create touches pages of its own.
    assert written.complete
    assert path.stat().st_size > 3 * threshold
    # One threshold, plus what the last groups wrote before a commit checkpointed.
    assert largest < 2 * threshold, (largest, threshold)


class _Checkpoints(MemoryStore):
    """A memory store whose checkpoints are busy, fail, then succeed."""

    def __init__(self, answers: list[Maintenance | Exception]) -> None:
        super().__init__()
        self.answers = answers
        self.calls = 0

    async def maintenance(self) -> Maintenance:
        self.calls += 1
        answer = self.answers.pop(0) if self.answers else Maintenance(complete=True)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _events(metrics: Metrics) -> dict[str, int]:
    counts = {}
    for line in metrics.render().splitlines():
        if line.startswith("ots_events_total{"):
            name = line.split('"')[1]
            counts[name] = int(line.rsplit(" ", 1)[1])
    return counts


async def test_busy_checkpoints_are_counted_and_retried_soon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "CHECKPOINT_RETRY", 0.01)
    busy = Maintenance(complete=False, pending=3)
    store = _Checkpoints([busy, RuntimeError("transient"), busy])
    metrics = Metrics()
    settings = Settings(data_dir=tmp_path, checkpoint_interval=3600, sweep_interval=3600)
    task = asyncio.create_task(_maintain(settings, store, FakeClock(), metrics))
    try:
        async with asyncio.timeout(5):
            while store.calls < 4:
                await asyncio.sleep(0.005)
        await asyncio.sleep(0.2)  # then nothing until the interval
        assert store.calls == 4
        assert _events(metrics) == {"checkpoint_busy": 3, "checkpoint": 1}
    finally:
        task.cancel()
