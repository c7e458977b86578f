"""Read once under load: 64 concurrent reveals of each of 100 secrets against a real
``ots-server serve --workers 2`` (two processes, each with its own SQLite connections)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import Counter
from pathlib import Path

import httpx
import pytest
from processes import running_server

from .support import CREATE_TYPE, SimSecret

SECRETS = 100
READERS = 64
#: Secrets raced at the same time, each by its own 64 connections.
LANES = 2


async def _race(clients: list[httpx.AsyncClient], secret: SimSecret) -> list[httpx.Response]:
    path = f"/api/v1/secrets/{secret.sid}/reveal"
    start = asyncio.Event()

    async def reveal(client: httpx.AsyncClient) -> httpx.Response:
        await start.wait()
        return await client.post(path, json=secret.reveal_body())

    tasks = [asyncio.create_task(reveal(client)) for client in clients]
    await asyncio.sleep(0)
    start.set()
    return list(await asyncio.gather(*tasks))


async def _run(base_url: str, secrets: list[SimSecret]) -> dict[bytes, list[httpx.Response]]:
    # One single-connection client per reader: bounded concurrency (64 connections), and
    # httpcore's pool bookkeeping stays cheap (one shared pool of 64 costs 4x the CPU).
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(
                    base_url=base_url, timeout=30, limits=httpx.Limits(max_connections=1)
                )
            )
            for _ in range(READERS * LANES)
        ]
        for secret in secrets:
            created = await clients[0].post(
                "/api/v1/secrets", content=secret.frame(), headers={"Content-Type": CREATE_TYPE}
            )
            assert created.status_code == 201
        groups = [clients[i::LANES] for i in range(LANES)]
        results: dict[bytes, list[httpx.Response]] = {}

        async def lane(group: list[httpx.AsyncClient], share: list[SimSecret]) -> None:
            for secret in share:
                results[secret.id] = await _race(group, secret)

        await asyncio.gather(*(lane(groups[i], secrets[i::LANES]) for i in range(LANES)))
        return results


@pytest.mark.slow
def test_each_secret_is_released_exactly_once(tmp_path: Path) -> None:
    secrets = [SimSecret.make(256) for _ in range(SECRETS)]
    with running_server(tmp_path, workers=2) as server:
        results = asyncio.run(asyncio.wait_for(_run(server.base_url, secrets), timeout=120))
        output = server.output()
    access = [json.loads(line) for line in output.splitlines() if '"ots_server.access"' in line]
    assert len({entry["pid"] for entry in access}) == 2  # both worker processes served reveals
    for secret in secrets:
        answers = results[secret.id]
        statuses = Counter(answer.status_code for answer in answers)
        assert statuses == {200: 1, 410: READERS - 1}, statuses
        winner = next(answer for answer in answers if answer.status_code == 200)
        assert winner.content == secret.blob
        for answer in answers:
            if answer.status_code == 410:
                assert answer.json()["state"] == "consumed"
