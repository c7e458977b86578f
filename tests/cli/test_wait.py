"""``ots share --wait``: read, burned, expired, timeout and Ctrl-C, with an injected clock.

The CLI's sleep advances a fake monotonic clock and the server's clock together, so an hour
of waiting takes milliseconds; a hook on the Nth sleep plays the recipient (or the sender
burning the secret) while the CLI is blocked in its wait.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from ots_cli.__main__ import main
from ots_cli.usecases import wait

from . import schemas
from .support import Backend, Result, Runner, cli_env, run_cli


class Timer:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.hooks: dict[int, Callable[[], None]] = {}

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        self.backend.clock.advance(seconds)
        hook = self.hooks.pop(len(self.sleeps), None)
        if hook is not None:
            hook()


class Waiting:
    """``ots share --wait …`` in-process, its stdout readable while it waits."""

    def __init__(self, backend: Backend, http: httpx.Client | None = None) -> None:
        self.backend = backend
        self.timer = Timer(backend)
        self.out = io.BytesIO()
        self.http = http or backend.client

    def link(self) -> str:
        first = self.out.getvalue().split(b"\n", 1)[0].decode()
        return str(json.loads(first)["link"]) if first.startswith("{") else first

    def get(self) -> None:
        result = run_cli(["get", self.link()], http=self.backend.client)
        assert result.code == 0, result.err

    def run(
        self, *argv: str, secret: bytes = b"waited for", command: tuple[str, ...] = ("share",)
    ) -> Result:
        err = io.BytesIO()
        code = main(
            [*command, "--wait", *argv],
            stdin=io.BytesIO(secret),
            stdout=self.out,
            stderr=err,
            env=cli_env(),
            http_client=self.http,
            monotonic=self.timer.monotonic,
            sleep=self.timer.sleep,
        )
        return Result(code, self.out.getvalue(), err.getvalue().decode())


def _documents(result: Result) -> list[dict[str, object]]:
    return [json.loads(line) for line in result.out.splitlines()]


def test_read_exits_0_and_reports_when(backend: Backend) -> None:
    waiting = Waiting(backend)
    waiting.timer.hooks[2] = waiting.get
    result = waiting.run("--json")
    assert result.code == 0, result.err
    shared, done = _documents(result)
    assert schemas.check(shared, "share") == []
    assert schemas.check(done, "share-wait") == []
    assert done["state"] == "read"
    assert done["read_at"] == int(backend.clock.now)
    assert done["waited"] == round(sum(waiting.timer.sleeps))
    assert 0.8 <= waiting.timer.sleeps[0] <= 1.2
    assert 1.2 <= waiting.timer.sleeps[1] <= 1.8
    assert len(waiting.timer.sleeps) == 2


def test_the_link_is_on_stdout_before_the_wait_and_the_receipt_is_updated(
    backend: Backend, ots: Runner
) -> None:
    waiting = Waiting(backend)
    seen: list[str] = []
    waiting.timer.hooks[1] = lambda: seen.append(waiting.link())
    waiting.timer.hooks[3] = waiting.get
    result = waiting.run()
    assert result.code == 0, result.err
    assert result.text == seen[0] + "\n"
    assert "ots: note: read " in result.err
    assert ots("--json", "list", "--cached").json()["receipts"][0]["state"] == "read"


def test_burned_exits_6(backend: Backend) -> None:
    waiting = Waiting(backend)

    def burn() -> None:
        assert run_cli(["burn", waiting.link()], http=backend.client).code == 0

    waiting.timer.hooks[1] = burn
    result = waiting.run("--json")
    assert result.code == 6
    error = _documents(result)[1]["error"]
    assert isinstance(error, dict)
    assert (error["code"], error["state"]) == ("gone", "burned")
    assert "burned before it was read" in result.err


def test_expired_unread_exits_7(backend: Backend) -> None:
    waiting = Waiting(backend)
    result = waiting.run("--ttl", "1m")
    assert result.code == 7
    assert "the secret expired unread" in result.err
    assert 60 <= sum(waiting.timer.sleeps) <= 75


def test_several_views_wait_for_the_last(backend: Backend) -> None:
    waiting = Waiting(backend)
    waiting.timer.hooks[1] = waiting.get
    waiting.timer.hooks[4] = waiting.get
    result = waiting.run("--views", "2")
    assert result.code == 0, result.err
    assert len(waiting.timer.sleeps) == 4


def test_a_timeout_exits_9_and_leaves_the_secret_shared(backend: Backend) -> None:
    waiting = Waiting(backend)
    result = waiting.run("--json", "--timeout", "30s")
    assert result.code == 9
    error = _documents(result)[1]["error"]
    assert isinstance(error, dict)
    assert error["code"] == "timeout"
    assert "stopped waiting after 30s" in result.err
    assert abs(sum(waiting.timer.sleeps) - 30) < 1e-6  # never past the deadline
    assert max(waiting.timer.sleeps) <= wait.CAP * (1 + wait.JITTER)
    assert run_cli(["get", waiting.link()], http=backend.client).out == b"waited for"


def test_ctrl_c_exits_130_and_leaves_the_secret_shared(backend: Backend) -> None:
    waiting = Waiting(backend)

    def interrupt() -> None:
        raise KeyboardInterrupt

    waiting.timer.hooks[2] = interrupt
    result = waiting.run()
    assert result.code == 130
    assert "stopped waiting; the secret is still shared" in result.err
    assert run_cli(["get", waiting.link()], http=backend.client).out == b"waited for"


def test_the_server_going_away_for_a_while_is_waited_out(backend: Backend) -> None:
    failures = {"left": 3}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/receipts/status") and failures["left"]:
            failures["left"] -= 1
            raise httpx.ConnectError("down")
        response: httpx.Response = backend.client.send(request)
        return response

    waiting = Waiting(backend, httpx.Client(transport=httpx.MockTransport(handler)))
    waiting.timer.hooks[5] = waiting.get
    result = waiting.run()
    assert result.code == 0, result.err
    assert result.err.count("still waiting") == 1


def test_a_rate_limit_is_honoured(backend: Backend) -> None:
    limited = {"left": 1}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/receipts/status") and limited["left"]:
            limited["left"] -= 1
            return httpx.Response(429, json={"error": "rate_limited", "retry_after": 7})
        response: httpx.Response = backend.client.send(request)
        return response

    waiting = Waiting(backend, httpx.Client(transport=httpx.MockTransport(handler)))
    waiting.timer.hooks[2] = waiting.get
    result = waiting.run()
    assert result.code == 0, result.err
    assert 7 * 0.8 <= waiting.timer.sleeps[1] <= 7 * 1.2


def test_a_receipt_the_server_forgot_ends_the_wait(backend: Backend, tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/receipts/status"):
            return httpx.Response(404, json={"error": "not_found"})
        response: httpx.Response = backend.client.send(request)
        return response

    waiting = Waiting(backend, httpx.Client(transport=httpx.MockTransport(handler)))
    assert waiting.run().code == 5


@pytest.mark.parametrize(
    ("argv", "message"),
    [(["--timeout", "1h"], "--timeout only applies with --wait"), (["--wait", "--timeout", "x"],
     "invalid duration 'x' for --timeout")],
)  # fmt: skip
def test_timeout_usage_errors(ots: Runner, argv: list[str], message: str) -> None:
    result = ots("share", *argv, stdin=b"x")
    assert result.code == 2
    assert message in result.err


def test_the_backoff_schedule() -> None:
    middle = wait.delays(uniform=lambda low, high: 1.0)
    assert [round(next(middle), 4) for _ in range(8)] == [
        1.0, 1.5, 2.25, 3.375, 5.0625, 7.5938, 10.0, 10.0,
    ]  # fmt: skip
    low, high = wait.delays(uniform=lambda a, b: a), wait.delays(uniform=lambda a, b: b)
    assert next(low) == pytest.approx(0.8)
    assert next(high) == pytest.approx(1.2)


# -- generate --share waits the same way ----------------------------------------------------

GENERATE = ("generate", "--share", "--length", "12")


def test_generate_share_waits_for_the_read_like_share(backend: Backend) -> None:
    waiting = Waiting(backend)
    read: list[bytes] = []

    def recipient() -> None:
        got = run_cli(["get", waiting.link()], http=backend.client)
        assert got.code == 0, got.err
        read.append(got.out)

    waiting.timer.hooks[2] = recipient
    result = waiting.run("--json", "--views", "1", command=GENERATE)
    assert result.code == 0, result.err
    shared, done = _documents(result)
    assert schemas.check(shared, "share") == []
    assert schemas.check(done, "share-wait") == []
    assert done["state"] == "read"
    assert len(read[0]) == 12
    assert read[0] not in result.out  # the value itself is never printed


def test_generate_share_timeout_exits_9_and_leaves_the_secret_shared(backend: Backend) -> None:
    waiting = Waiting(backend)
    result = waiting.run("--timeout", "30s", command=GENERATE)
    assert result.code == 9
    assert "stopped waiting after 30s" in result.err
    assert abs(sum(waiting.timer.sleeps) - 30) < 1e-6
    assert len(run_cli(["get", waiting.link()], http=backend.client).out) == 12
