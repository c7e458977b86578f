"""Nothing acknowledged is lost: SIGKILL the server at a random moment under a bounded load of
creates and reveals, restart it on the same SQLite file, and check every acknowledgement.

- Every secret acknowledged with 201 and not revealed is revealable exactly once.
- Every reveal acknowledged with a fully received 200 stays consumed.
- What was in flight at the kill may have gone either way, but never both ways: a reveal in
  doubt is released at most once more.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from processes import ServerProcess

from .support import CREATE_TYPE, SimSecret, until_acknowledged

CLIENTS = 8
MAX_OPERATIONS = 3000


@dataclass
class Ledger:
    secrets: dict[bytes, SimSecret] = field(default_factory=dict)
    created: set[bytes] = field(default_factory=set)
    create_in_doubt: set[bytes] = field(default_factory=set)
    revealed: set[bytes] = field(default_factory=set)
    reveal_in_doubt: set[bytes] = field(default_factory=set)
    operations: int = 0

    def unrevealed(self) -> list[bytes]:
        return sorted(self.created - self.revealed - self.reveal_in_doubt)


async def _client(server: ServerProcess, ledger: Ledger, rng: random.Random) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        while ledger.operations < MAX_OPERATIONS:
            ledger.operations += 1
            pending = ledger.unrevealed()
            if pending and rng.random() < 0.4:
                secret = ledger.secrets[rng.choice(pending)]
                ledger.reveal_in_doubt.add(secret.id)
                try:
                    answer = await client.post(
                        f"/api/v1/secrets/{secret.sid}/reveal", json=secret.reveal_body()
                    )
                except httpx.TransportError:
                    return
                assert (answer.status_code, answer.content) == (200, secret.blob)
                ledger.reveal_in_doubt.discard(secret.id)
                ledger.revealed.add(secret.id)
            else:
                secret = SimSecret.make(rng.randrange(1, 20_000))
                ledger.secrets[secret.id] = secret
                ledger.create_in_doubt.add(secret.id)
                try:
                    answer = await client.post(
                        "/api/v1/secrets",
                        content=secret.frame(),
                        headers={"Content-Type": CREATE_TYPE},
                    )
                except httpx.TransportError:
                    return
                assert answer.status_code == 201
                ledger.create_in_doubt.discard(secret.id)
                ledger.created.add(secret.id)


async def _load_then_kill(server: ServerProcess, rng: random.Random) -> Ledger:
    ledger = Ledger()
    kill_after = rng.uniform(0.3, 1.2)

    async def killer() -> None:
        await until_acknowledged(ledger.created, ledger.revealed)
        await asyncio.sleep(kill_after)
        server.kill()

    clients = [_client(server, ledger, random.Random(rng.random())) for _ in range(CLIENTS)]
    await asyncio.wait_for(asyncio.gather(killer(), *clients), timeout=60)
    return ledger


def _reveal(client: httpx.Client, secret: SimSecret) -> httpx.Response:
    return client.post(f"/api/v1/secrets/{secret.sid}/reveal", json=secret.reveal_body())


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_loses_no_acknowledged_secret_and_resurrects_no_read(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    server = ServerProcess(db_path=tmp_path / "crash.sqlite3", log_path=tmp_path / "crash.log")
    try:
        server.start()
        ledger = asyncio.run(_load_then_kill(server, rng))
        assert server.process is None  # killed mid-load, not finished
        assert len(ledger.created) >= 10, ledger.operations
        assert len(ledger.revealed) >= 3, ledger.operations
        server.start()
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            for id in ledger.unrevealed():
                secret = ledger.secrets[id]
                first = _reveal(client, secret)
                assert (first.status_code, first.content) == (200, secret.blob)
                assert _reveal(client, secret).json()["state"] == "consumed"
            for id in ledger.revealed:
                answer = _reveal(client, ledger.secrets[id])
                assert (answer.status_code, answer.json()["state"]) == (410, "consumed")
            for id in ledger.reveal_in_doubt | ledger.create_in_doubt:
                secret = ledger.secrets[id]
                first = _reveal(client, secret)
                assert first.status_code in {200, 404, 410}
                if first.status_code == 200:
                    assert first.content == secret.blob
                again = _reveal(client, secret)
                assert again.status_code == (404 if first.status_code == 404 else 410)
    finally:
        server.kill()
