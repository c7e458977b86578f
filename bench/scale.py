"""Scale: reveal latency with 10^3, 10^5 and 10^6 secrets stored, and store bytes per secret.

The store is filled directly, not through HTTP (10^6 creates over HTTP would take longer than
the whole benchmark may), with exactly the rows the server writes:

- SQLite: the store's bulk seeder (``ots_server.store.sqlite.seed.Seeder``: the rows
  ``SQLiteStore.create`` writes, from the same statements: random ids, receipt hashes and link
  verifiers, a 55-byte header length, a random blob of the benchmark secrets' padded
  ciphertext size, views 1, TTL 1 day, receipts kept 7 more days), on the server's own
  database file while it runs, in transactions of ``BATCH`` rows with ``synchronous=OFF``
  *for the seeding connection only* (and its own WAL autocheckpoint), then a TRUNCATE
  checkpoint.
- Redis: the server's own script calls for each secret (``RedisStore.create_calls``: the
  receipt index entry in its bucket hash, then the secret, by ``EVALSHA``, with the arguments
  ``RedisStore.create`` passes), streamed through ``redis-cli --pipe`` (Redis's
  mass-insertion mode).

Among the filler rows of each level sit ``WARMUP + MEASURED`` real secrets (sealed with the
real ``ots_cli.core.crypto``, at random positions of the fill). Their reveals, with their real link
proofs, one connection, one at a time, give the latency: the first ``WARMUP`` are discarded.
Levels are filled one after the other, so "10^5 stored" counts the records of the level below,
including the tombstones its measured reveals left.

Bytes per secret beyond the padded ciphertext: over the largest level's fill, SQLite's pages
in use (``(page_count - freelist_count) * page_size``, what ``OTS_MAX_STORE_BYTES`` counts;
after the checkpoint, with the WAL empty) and Redis's ``INFO memory`` ``used_memory``, each
divided by the secrets added, minus the blob size.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import redis

from bench.load import Run, wrk
from bench.pool import Pool, Prebuilt, prebuild, write_pool
from ots_server.store import NewSecret
from ots_server.store.redis.store import RedisStore
from ots_server.store.sqlite.seed import Seeder

BATCH = 20_000
WARMUP = 100
MEASURED = 500
HEADER_LENGTH = 55
TTL = 86_400
GRACE = 7 * 86_400
#: Disk (SQLite, with room for the WAL) and memory (Redis) a secret needs, with margin.
DISK_PER_SECRET = 5_000
MEMORY_PER_SECRET = 4_000


@dataclass(frozen=True)
class Level:
    store: str
    stored: int
    run: Run


@dataclass(frozen=True)
class Overhead:
    store: str
    added: int
    bytes_delta: int
    blob_len: int

    @property
    def per_secret(self) -> float:
        return self.bytes_delta / self.added - self.blob_len


def _positions(total: int, real: int) -> set[int]:
    return set(random.sample(range(total), real))


# -- SQLite ---------------------------------------------------------------------------------


def _secrets(count: int, real: list[Prebuilt], blob_len: int, now: int) -> Iterator[NewSecret]:
    """``count`` secrets as the server would store them, ``real`` ones at random positions."""
    where = _positions(count, len(real))
    reals = iter(real)
    for index in range(count):
        receipt_hash = os.urandom(32)
        if index in where:
            secret = next(reals)
            id, verifier, blob = secret.id, secret.link_verifier, secret.blob
            header_length = secret.header_length
        else:
            raw = os.urandom(16 + 32 + blob_len)
            id, verifier, blob = raw[:16], raw[16:48], raw[48:]
            header_length = HEADER_LENGTH
        yield NewSecret(
            id=id,
            blob=blob,
            header_length=header_length,
            link_verifier=verifier,
            passphrase_verifier=None,
            attempts=None,
            views=1,
            created_at=now,
            expires_at=now + TTL,
            keep_until=now + TTL + GRACE,
            receipt_hash=receipt_hash,
        )


def sqlite_pages_in_use(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        for _ in range(50):
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if not busy:
                break
            time.sleep(0.1)
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)
    finally:
        conn.close()


def fill_sqlite(db: Path, count: int, real: list[Prebuilt], blob_len: int) -> None:
    secrets = _secrets(count, real, blob_len, int(time.time()))
    with Seeder(db) as seeder:
        while batch := [secret for _, secret in zip(range(BATCH), secrets, strict=False)]:
            seeder.add(batch)


# -- Redis ----------------------------------------------------------------------------------


def _resp(*parts: bytes) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


def _arg(value: object) -> bytes:
    """A script argument as redis-py sends it."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


def _store(port: int) -> RedisStore:
    """The server's store on ``port`` (its default key prefix); its connections never open."""
    return RedisStore.from_url(f"redis://127.0.0.1:{port}/0")


def redis_cli(port: int, *args: str) -> str:
    done = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip()


def redis_used_memory(port: int) -> int:
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        return int(client.info("memory")["used_memory"])
    finally:
        client.close()


def fill_redis(port: int, count: int, real: list[Prebuilt], blob_len: int) -> None:
    store = _store(port)
    loaded: dict[str, bytes] = {}
    with subprocess.Popen(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), "-n", "0", "--pipe"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    ) as pipe:
        assert pipe.stdin is not None
        chunk: list[bytes] = []
        for secret in _secrets(count, real, blob_len, int(time.time())):
            # Exactly what RedisStore.create runs on a Cluster: the receipt index entry in its
            # bucket, then the secret's own script.
            for script, keys, args in store.create_calls(secret):
                if script.script not in loaded:
                    loaded[script.script] = redis_cli(
                        port, "SCRIPT", "LOAD", script.script
                    ).encode()
                parts = [_arg(key) for key in keys] + [_arg(arg) for arg in args]
                chunk.append(_resp(b"EVALSHA", loaded[script.script], b"%d" % len(keys), *parts))
            if len(chunk) >= 2_000:
                pipe.stdin.write(b"".join(chunk))
                chunk.clear()
        pipe.stdin.write(b"".join(chunk))
        pipe.stdin.close()
        assert pipe.stdout is not None
        summary = pipe.stdout.read().decode(errors="replace")
        if pipe.wait() != 0 or "errors: 0," not in summary:
            raise RuntimeError(f"redis-cli --pipe failed: {summary.strip()[-300:]}")


# -- measuring ------------------------------------------------------------------------------


def real_secrets(work: Path, name: str) -> tuple[list[Prebuilt], Pool]:
    secrets = [prebuild() for _ in range(WARMUP + MEASURED)]
    return secrets, write_pool(work / f"{name}.pool", secrets, len(secrets))


def measure(contender: str, url: str, pool: Pool, work: Path) -> Run:
    """Reveal the warm-up secrets (discarded), then the measured ones, one at a time."""
    stop = work / "reveal.done"
    log = work / "wrk-scale.log"
    runs = [
        wrk(
            contender,
            "reveal",
            "ots.lua",
            url,
            pool.lua_args("reveal", start, count, 1),
            connections=1,
            duration=120,
            log=log,
            stop_file=stop,
        )
        for start, count in ((0, WARMUP), (WARMUP, MEASURED))
    ]
    warmup, measured = runs
    # A warm-up reveal that failed fails the level too; a short count is an error as well.
    errors = {name: measured.errors[name] + warmup.errors[name] for name in measured.errors}
    errors["missing_reveals"] = MEASURED - measured.good
    return replace(measured, errors=errors)


def room_for(path: Path, count: int) -> bool:
    return shutil.disk_usage(path).free > count * DISK_PER_SECRET


def memory_for(count: int) -> bool:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 > count * MEMORY_PER_SECRET
    return False


# -- where the bytes go ---------------------------------------------------------------------


def sqlite_breakdown(db: Path, secrets: int) -> list[tuple[str, float, float]]:
    """(table or index, bytes per secret in its pages, unused bytes per secret) from dbstat."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT name, sum(pgsize), sum(unused) FROM dbstat GROUP BY name ORDER BY 2 DESC"
        ).fetchall()
    except sqlite3.OperationalError:  # SQLite built without the dbstat table
        return []
    finally:
        conn.close()
    return [(str(name), size / secrets, unused / secrets) for name, size, unused in rows]


def redis_breakdown(port: int) -> list[tuple[str, int]]:
    """``MEMORY USAGE`` of one stored (live) secret's keys, and its share of the receipt index
    (a bucket hash's usage divided by its entries)."""
    client = redis.Redis(host="127.0.0.1", port=port, db=0)
    try:
        blob_key = next(iter(client.scan_iter(match="ots:b:*", count=1000)), None)
        if blob_key is None:
            return []
        record_key = b"ots:r:" + blob_key[len(b"ots:b:") :]
        receipt_hash = client.hget(record_key, "rh")
        if not isinstance(receipt_hash, bytes):
            return []
        bucket = _store(port).index_entry(receipt_hash)[0].encode()
        entries = max(1, int(client.hlen(bucket)))
        return [
            ("ciphertext string `P:b:{ID}`", int(client.memory_usage(blob_key, samples=0) or 0)),
            ("record hash `P:r:{ID}`", int(client.memory_usage(record_key, samples=0) or 0)),
            (
                "receipt index entry (`P:x:BBB` hash / entries)",
                int(client.memory_usage(bucket, samples=0) or 0) // entries,
            ),
        ]
    finally:
        client.close()


def commit_floor(work: Path, count: int = 3000) -> dict[str, float]:
    """Latency of a bare SQLite commit of the rows a create writes, in this process, no server:
    the floor under the server's create latency on this disk and this machine right now."""
    now = int(time.time())
    times = []
    with Seeder(work / "floor.sqlite3", durable=True) as seeder:
        for index, secret in enumerate(_secrets(count, [], 1671, now)):
            started = time.perf_counter()
            seeder.add([secret])
            times.append(time.perf_counter() - started)
            if index % 1000 == 999:  # keep the WAL small, as the server's checkpoints do
                seeder.checkpoint()
    times.sort()
    return {
        "p50_ms": times[len(times) // 2] * 1000,
        "p99_ms": times[int(len(times) * 0.99)] * 1000,
        "max_ms": times[-1] * 1000,
        "count": count,
    }
