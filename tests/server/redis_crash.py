"""Crash Redis under load and count what it cost: used by the crash test (``appendfsync
always``: nothing may be lost) and runnable to measure another mode, e.g.::

    python -m tests.server.redis_crash --appendfsync everysec --runs 10 [--power-cut]

One run: a test-owned redis-server (``appendonly yes`` and the chosen ``appendfsync``, in a
temporary directory, a free port), one ``ots-server serve`` on it, eight clients creating and
revealing secrets; at a random moment redis-server gets SIGKILL, and the clients stop at their
first answer that is not a success (a 503, since Redis is gone). Then redis-server restarts
on its files, the same ots-server recovers by itself, and every acknowledgement is checked:

- *lost*: a secret acknowledged with 201 (and not revealed) that cannot be revealed now;
- *resurrected*: a secret whose reveal was acknowledged with 200 that can be revealed again;
- what was in flight at the kill may have gone either way, but never both ways.

A SIGKILL of redis-server alone loses nothing the kernel already has: Redis ``write()``s its
AOF before it answers, whatever ``appendfsync`` says, and the page cache survives the process.
What ``appendfsync`` decides is what survives a machine crash or power cut. ``--power-cut``
measures that: redis-server runs with ``powercut.c`` preloaded, which holds every AOF write in
the process until the next fsync, so the SIGKILL loses what a power cut would (a worst case:
nothing reaches the disk but by fsync). It needs a C compiler (``cc``).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from processes import ServerProcess, wait_until_ready

from .redis_support import RedisServer
from .support import CREATE_TYPE, SimSecret, until_acknowledged

CLIENTS = 8
MAX_OPERATIONS = 3000
SHIM_SOURCE = Path(__file__).with_name("powercut.c")


def build_power_cut(directory: Path) -> Path:
    """Compile the power-cut shim into ``directory``; return the shared object's path."""
    shim = directory / "powercut.so"
    subprocess.run(
        ["cc", "-shared", "-fPIC", "-O2", "-o", str(shim), str(SHIM_SOURCE), "-ldl", "-lpthread"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return shim


@dataclass
class Ledger:
    secrets: dict[bytes, SimSecret] = field(default_factory=dict)
    created: set[bytes] = field(default_factory=set)
    revealed: set[bytes] = field(default_factory=set)
    in_doubt: set[bytes] = field(default_factory=set)
    #: When each create and reveal was acknowledged, and when Redis was killed (monotonic).
    acked_at: dict[tuple[str, bytes], float] = field(default_factory=dict)
    killed_at: float = 0.0
    operations: int = 0

    def unrevealed(self) -> list[bytes]:
        return sorted(self.created - self.revealed - self.in_doubt)


@dataclass
class Outcome:
    created: int
    revealed: int
    lost: int
    resurrected: int
    doubtful_twice: int  # an in-flight secret released twice: must always be 0
    #: The oldest loss: how long before the kill the earliest lost acknowledgement was sent.
    window: float = 0.0


async def _client(base_url: str, ledger: Ledger, rng: random.Random) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        while ledger.operations < MAX_OPERATIONS:
            ledger.operations += 1
            pending = ledger.unrevealed()
            if pending and rng.random() < 0.4:
                secret = ledger.secrets[rng.choice(pending)]
                ledger.in_doubt.add(secret.id)
                answer = await client.post(
                    f"/api/v1/secrets/{secret.sid}/reveal", json=secret.reveal_body()
                )
                if answer.status_code != 200:
                    assert answer.status_code == 503, answer.text
                    return
                assert answer.content == secret.blob
                ledger.in_doubt.discard(secret.id)
                ledger.revealed.add(secret.id)
                ledger.acked_at["reveal", secret.id] = time.monotonic()
            else:
                secret = SimSecret.make(rng.randrange(64, 20_000))
                ledger.secrets[secret.id] = secret
                ledger.in_doubt.add(secret.id)
                answer = await client.post(
                    "/api/v1/secrets", content=secret.frame(), headers={"Content-Type": CREATE_TYPE}
                )
                if answer.status_code != 201:
                    assert answer.status_code == 503, answer.text
                    return
                ledger.in_doubt.discard(secret.id)
                ledger.created.add(secret.id)
                ledger.acked_at["create", secret.id] = time.monotonic()


async def _load_then_kill(
    base_url: str, redis: RedisServer, rng: random.Random, max_load: float
) -> Ledger:
    ledger = Ledger()
    kill_after = rng.uniform(0.3, max_load)

    async def killer() -> None:
        await until_acknowledged(ledger.created, ledger.revealed)
        await asyncio.sleep(kill_after)
        ledger.killed_at = time.monotonic()
        redis.kill()

    clients = [_client(base_url, ledger, random.Random(rng.random())) for _ in range(CLIENTS)]
    await asyncio.wait_for(asyncio.gather(killer(), *clients), timeout=60)
    return ledger


def _reveal(client: httpx.Client, secret: SimSecret) -> httpx.Response:
    return client.post(f"/api/v1/secrets/{secret.sid}/reveal", json=secret.reveal_body())


def _wait_ready(client: httpx.Client, timeout: float = 20) -> None:
    if not wait_until_ready(client, timeout):
        raise RuntimeError("ots-server did not recover after Redis came back")


def _audit(client: httpx.Client, ledger: Ledger) -> Outcome:
    lost = resurrected = twice = 0
    losses: list[float] = []
    for id in ledger.unrevealed():
        secret = ledger.secrets[id]
        first = _reveal(client, secret)
        if first.status_code == 200:
            assert first.content == secret.blob
            assert _reveal(client, secret).json()["state"] == "consumed"
        else:
            assert first.status_code == 404, first.text
            lost += 1
            losses.append(ledger.acked_at["create", id])
    for id in ledger.revealed:
        answer = _reveal(client, ledger.secrets[id])
        if answer.status_code == 200:
            resurrected += 1
            losses.append(ledger.acked_at["reveal", id])
        else:
            assert answer.status_code in {404, 410}, answer.text
    for id in ledger.in_doubt:
        secret = ledger.secrets[id]
        first = _reveal(client, secret)
        if id in ledger.created:  # an acknowledged secret whose reveal was in flight
            assert first.status_code in {200, 404, 410}, first.text
            if first.status_code == 404:
                lost += 1
                losses.append(ledger.acked_at["create", id])
        else:  # a create in flight: stored or not
            assert first.status_code in {200, 404}, first.text
        if first.status_code == 200:
            assert first.content == secret.blob
            twice += _reveal(client, secret).status_code == 200
    window = ledger.killed_at - min(losses) if losses else 0.0
    return Outcome(len(ledger.created), len(ledger.revealed), lost, resurrected, twice, window)


def crash_once(
    directory: Path,
    appendfsync: str,
    seed: int,
    *,
    power_cut: Path | None = None,
    max_load: float = 1.0,
) -> Outcome:
    """One load-kill-restart-audit run; every process it starts is killed before it returns.
    ``power_cut``: the shim to preload (see the module docstring); the kill comes between
    0.3 s and ``max_load`` s into the load."""
    rng = random.Random(seed)
    redis = RedisServer(
        directory / "redis",
        ["--appendonly", "yes", "--appendfsync", appendfsync],
        env={"LD_PRELOAD": str(power_cut)} if power_cut else {},
    )
    server = ServerProcess(db_path=directory / "unused.sqlite3", log_path=directory / "ots.log")
    try:
        redis.start()
        server.env = {"OTS_STORE_URL": redis.url("crash")}
        server.start()
        ledger = asyncio.run(_load_then_kill(server.base_url, redis, rng, max_load))
        assert redis.process is None  # killed under load, not after it
        redis.env = {}
        redis.start()  # same port and directory: replays the AOF
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            _wait_ready(client)
            outcome = _audit(client, ledger)
        assert server.process is not None
        assert server.process.poll() is None  # the same ots-server, never restarted
        return outcome
    finally:
        server.kill()
        redis.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appendfsync", choices=("always", "everysec", "no"), default="everysec")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--power-cut", action="store_true", help="lose what a power cut would")
    parser.add_argument("--max-load", type=float, default=3.0, help="seconds of load at most")
    args = parser.parse_args()
    totals = [0, 0, 0, 0, 0]
    window = 0.0
    for seed in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="ots-redis-crash-") as tmp:
            shim = build_power_cut(Path(tmp)) if args.power_cut else None
            outcome = crash_once(
                Path(tmp), args.appendfsync, seed, power_cut=shim, max_load=args.max_load
            )
        print(
            f"run {seed}: created {outcome.created}, revealed {outcome.revealed}, "
            f"lost {outcome.lost}, resurrected {outcome.resurrected}, "
            f"in flight released twice {outcome.doubtful_twice}, "
            f"oldest loss {outcome.window * 1000:.0f} ms before the kill"
        )
        counts = (outcome.created, outcome.revealed, outcome.lost, outcome.resurrected)
        for i, value in enumerate((*counts, outcome.doubtful_twice)):
            totals[i] += value
        window = max(window, outcome.window)
    mode = " with --power-cut" if args.power_cut else ""
    print(
        f"appendfsync {args.appendfsync}{mode}, {args.runs} runs: "
        f"acknowledged creates {totals[0]}, "
        f"acknowledged reveals {totals[1]}, lost {totals[2]}, resurrected {totals[3]}, "
        f"in flight released twice {totals[4]}, oldest loss {window * 1000:.0f} ms before a kill"
    )


if __name__ == "__main__":
    main()
