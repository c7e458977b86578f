"""One answer per request against real server processes: 32 concurrent answers to each request
through ``ots-server serve --workers 2`` on SQLite and through two instances sharing one Redis
(exactly one 201, every other 409 ``answered`` naming the same time, and the status returns
the winner's answer); and SIGKILL during a burst of answers on SQLite, then a restart on the
same file: no acknowledged answer lost, none accepted twice."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from processes import ServerProcess, running_server

from .redis_support import delete_prefix, machine_client, machine_url, unique_prefix
from .request_support import SimRequest, sealed_answer
from .support import b64, redis_servers, until_acknowledged

ANSWERERS = 32
REQUESTS = 20


async def _answer_at_once(
    clients: list[httpx.AsyncClient], request: SimRequest, answers: list[bytes]
) -> list[httpx.Response]:
    """One answer from each client, all released at the same moment."""
    path = f"/api/v1/requests/{request.rid}/answer"
    start = asyncio.Event()

    async def answer(client: httpx.AsyncClient, sealed: bytes) -> httpx.Response:
        await start.wait()
        return await client.post(path, json=request.answer_body(sealed))

    pairs = zip(clients, answers, strict=True)
    tasks = [asyncio.create_task(answer(client, sealed)) for client, sealed in pairs]
    await asyncio.sleep(0)
    start.set()
    return list(await asyncio.gather(*tasks))


def _client(base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=30, limits=httpx.Limits(max_connections=1))


def _last_pid(server: ServerProcess) -> int:
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    pid: int = next(line["pid"] for line in reversed(lines) if line.get("route") == "/healthz")
    return pid


async def _spread_over_workers(
    stack: contextlib.AsyncExitStack, server: ServerProcess, workers: int
) -> list[httpx.AsyncClient]:
    """32 clients whose connections (opened one at a time, each by a logged /healthz) cover
    every worker. Which worker accepts a connection is the kernel's choice, and one worker may
    take a whole burst of 32; so a connection that lands where the others all are is replaced
    (a bounded number of times) until each worker holds one."""
    clients: list[httpx.AsyncClient] = []
    owners: list[int] = []
    tries = ANSWERERS + 200
    for _ in range(tries):
        client = await stack.enter_async_context(_client(server.base_url))
        assert (await client.get("/healthz")).status_code == 200
        pid = _last_pid(server)
        missing = workers - len(set(owners))
        if len(clients) + missing < ANSWERERS or pid not in owners:
            clients.append(client)
            owners.append(pid)
        if len(clients) == ANSWERERS:
            return clients
    raise AssertionError(f"no connection reached every worker in {tries} tries: {owners}")


async def _race(
    base_urls: list[str], spread: ServerProcess | None = None
) -> list[tuple[SimRequest, list[httpx.Response], bytes]]:
    """Create each request, then answer it from 32 connections at once (spread over
    ``base_urls``, or over ``spread``'s two workers), one request after another; each outcome
    with the requester's status."""
    results = []
    async with contextlib.AsyncExitStack() as stack:
        if spread is not None:
            clients = await _spread_over_workers(stack, spread, 2)
        else:
            clients = [
                await stack.enter_async_context(_client(base_urls[i % len(base_urls)]))
                for i in range(ANSWERERS)
            ]
        for number in range(REQUESTS):
            request = SimRequest.make()
            created = await clients[number % len(clients)].post(
                "/api/v1/requests", json=request.create_body()
            )
            assert created.status_code == 201, created.text
            answers = [sealed_answer() for _ in clients]
            responses = await _answer_at_once(clients, request, answers)
            status = await clients[-1].post(
                f"/api/v1/requests/{request.rid}/status", json=request.owner_body()
            )
            winners = [s for s, r in zip(answers, responses, strict=True) if r.status_code == 201]
            assert status.json()["sealed"] == (b64(winners[0]) if winners else None)
            results.append((request, responses, status.content))
    return results


def _check_one_answer_each(results: list[tuple[SimRequest, list[httpx.Response], bytes]]) -> None:
    for _request, responses, status in results:
        statuses = Counter(r.status_code for r in responses)
        assert statuses == {201: 1, 409: ANSWERERS - 1}, statuses
        (winner,) = [r.json() for r in responses if r.status_code == 201]
        for refused in (r.json() for r in responses if r.status_code == 409):
            assert (refused["error"], refused["at"]) == ("answered", winner["answered_at"])
        assert json.loads(status)["answered_at"] == winner["answered_at"]


def _pids(server: ServerProcess, route: str) -> set[int]:
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    return {line["pid"] for line in lines if line.get("route") == route}


@pytest.mark.slow
def test_sqlite_two_workers_take_exactly_one_answer(tmp_path: Path) -> None:
    with running_server(tmp_path, workers=2) as server:
        race = _race([server.base_url], spread=server)
        results = asyncio.run(asyncio.wait_for(race, timeout=120))
    _check_one_answer_each(results)
    assert len(_pids(server, "/api/v1/requests/{id}/answer")) == 2  # both workers answered


@pytest.mark.slow
def test_two_instances_sharing_redis_take_exactly_one_answer(
    tmp_path: Path, machine_redis: None
) -> None:
    prefix = unique_prefix("answers")
    try:
        with redis_servers(tmp_path, machine_url(prefix), 2) as (one, two):
            urls = [one.base_url, two.base_url]
            results = asyncio.run(asyncio.wait_for(_race(urls), timeout=120))
        _check_one_answer_each(results)
        for server in (one, two):
            assert _pids(server, "/api/v1/requests/{id}/answer")  # both instances answered
    finally:
        with machine_client() as client:
            delete_prefix(client, prefix)


# -- SIGKILL during a burst of answers ----------------------------------------------------------

CLIENTS = 8
PENDING = 150
MAX_ANSWERS = 4000


@dataclass
class Ledger:
    requests: list[SimRequest] = field(default_factory=list)
    #: Requests whose answer was acknowledged with 201, and with which answer.
    acknowledged: dict[bytes, bytes] = field(default_factory=dict)
    #: Their ids (what ``until_acknowledged`` counts).
    acknowledged_ids: set[bytes] = field(default_factory=set)
    #: Every answer sent without a response (201 or 409) by the time of the kill.
    in_doubt: dict[bytes, set[bytes]] = field(default_factory=dict)
    #: Requests some answer was refused for (409): another one was stored.
    refused: set[bytes] = field(default_factory=set)
    sent: int = 0


async def _answerer(server: ServerProcess, ledger: Ledger, rng: random.Random) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        while ledger.sent < MAX_ANSWERS:
            ledger.sent += 1
            # A small window of requests, so that answers to one request often race.
            open_ones = [r for r in ledger.requests if r.id not in ledger.acknowledged]
            request = rng.choice(open_ones[:6] or ledger.requests)
            sealed = sealed_answer()
            doubts = ledger.in_doubt.setdefault(request.id, set())
            doubts.add(sealed)
            try:
                answer = await client.post(
                    f"/api/v1/requests/{request.rid}/answer", json=request.answer_body(sealed)
                )
            except httpx.TransportError:
                return
            doubts.discard(sealed)
            if answer.status_code == 201:
                # Never twice: a second 201 for one request is the failure this test hunts.
                assert request.id not in ledger.acknowledged, "a request took two answers"
                ledger.acknowledged[request.id] = sealed
                ledger.acknowledged_ids.add(request.id)
            else:
                assert (answer.status_code, answer.json()["error"]) == (409, "answered")
                ledger.refused.add(request.id)


async def _burst_then_kill(server: ServerProcess, rng: random.Random) -> Ledger:
    ledger = Ledger(requests=[SimRequest.make() for _ in range(PENDING)])
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        for request in ledger.requests:
            created = await client.post("/api/v1/requests", json=request.create_body())
            assert created.status_code == 201
    kill_after = rng.uniform(0.3, 1.2)

    async def killer() -> None:
        await until_acknowledged(ledger.acknowledged_ids, set(), creates=10, reveals=0)
        await asyncio.sleep(kill_after)
        server.kill()

    answerers = [_answerer(server, ledger, random.Random(rng.random())) for _ in range(CLIENTS)]
    await asyncio.wait_for(asyncio.gather(killer(), *answerers), timeout=60)
    return ledger


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_loses_no_acknowledged_answer_and_accepts_none_twice(
    tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    server = ServerProcess(db_path=tmp_path / "crash.sqlite3", log_path=tmp_path / "crash.log")
    try:
        server.start()
        ledger = asyncio.run(_burst_then_kill(server, rng))
        assert server.process is None  # killed mid-burst, not finished
        assert len(ledger.acknowledged) >= 10, ledger.sent
        server.start()
        with httpx.Client(base_url=server.base_url, timeout=10) as client:
            for request in ledger.requests:
                status = client.post(
                    f"/api/v1/requests/{request.rid}/status", json=request.owner_body()
                ).json()
                stored = status["sealed"]
                doubted = {b64(s) for s in ledger.in_doubt.get(request.id, set())}
                if request.id in ledger.acknowledged:
                    # Acknowledged: stored, and exactly that answer.
                    assert stored == b64(ledger.acknowledged[request.id])
                elif request.id in ledger.refused:
                    # A 409 saw a stored answer; not acknowledged, so one still in doubt.
                    assert stored in doubted
                elif stored is not None:
                    assert stored in doubted  # only an answer in flight at the kill
                again = client.post(
                    f"/api/v1/requests/{request.rid}/answer",
                    json=request.answer_body(sealed_answer()),
                )
                if stored is None:
                    assert again.status_code == 201  # still open: takes its first answer now
                else:
                    assert (again.status_code, again.json()["at"]) == (409, status["answered_at"])
    finally:
        server.kill()
