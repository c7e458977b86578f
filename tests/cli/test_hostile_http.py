"""Scripted HTTP faults (respx): what a hostile or broken server does that a real ots-server
will not, and the clear error, exit code and typed exception the CLI answers it with.

Each test puts a respx router in front of the real app (tests/cli/support.py's ``Backend``):
the routes a test scripts answer as it says, every other request reaches the real server, so
a share is a real share and a link a real link. The faults: redirects on every kind of request
(never followed, even by a client configured to follow them, and the redirect's target never
contacted); an answer or a secret cut off mid-body; connections refused, reset or timed out;
and 200 answers that are not the API's (a captive portal's page, a JSON array). The faults a
real server can be made to commit (dribbling, oversized bodies) are in test_bounds.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
import respx

from ots_cli.api.client import Api
from ots_cli.errors import ConfigError, OtsError, ProtocolError, Unavailable

from .support import SERVER, Backend, run_cli

ELSEWHERE = "https://elsewhere.example"
PEEK = r"/api/v1/secrets/[^/]+/peek"
REVEAL = r"/api/v1/secrets/[^/]+/reveal"
ID, PROOF = bytes(range(16)), bytes(32)


def hostile() -> respx.Router:
    """A router with the one host a redirect points at, recording whether it was contacted."""
    router = respx.Router(assert_all_called=False)
    router.route(name="elsewhere", url__startswith=ELSEWHERE).respond(200, json={})
    return router


def script(router: respx.Router, method: str, path: str) -> respx.Route:
    """The route for ``method`` to ``SERVER`` on paths matching ``path`` (a regex)."""
    return router.route(method=method, url__regex=f"^{re.escape(SERVER)}{path}$")


def through(router: respx.Router, backend: Backend) -> httpx.Client:
    """A client whose requests ``router``'s scripted routes answer, and the real app every
    other one (routes match in the order they were added: this one comes last). It follows
    redirects, as an injected client may: the CLI must not, whatever its client would do."""

    def forward(request: httpx.Request) -> httpx.Response:
        answer = backend.client.send(request)
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.read())

    router.route(url__startswith=SERVER).mock(side_effect=forward)
    return httpx.Client(transport=httpx.MockTransport(router.handler), follow_redirects=True)


def shared(backend: Backend, secret: bytes = b"s3cret") -> str:
    result = run_cli(["share"], stdin=secret, http=backend.client)
    assert result.code == 0, result.err
    return result.text.strip()


def cut_after(body: bytes, keep: int) -> Iterator[bytes]:
    """``body``'s first ``keep`` bytes, then the connection drops, as h11 reports it."""
    yield body[:keep]
    raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


# -- redirects -----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 307, 308])
@pytest.mark.parametrize(
    ("command", "method", "path"),
    [
        ("share", "POST", r"/api/v1/secrets"),
        ("get", "POST", PEEK),
        ("get", "POST", REVEAL),
        # The link's local receipt is found, so the burn goes through the receipt.
        ("burn", "POST", r"/api/v1/receipts/burn"),
    ],
)
def test_a_redirect_is_refused_and_its_target_never_contacted(
    backend: Backend, status: int, command: str, method: str, path: str
) -> None:
    link = shared(backend)
    router = hostile()
    script(router, method, path).respond(status, headers={"Location": f"{ELSEWHERE}/x"})
    http = through(router, backend)
    argv = {"share": ["share"], "get": ["get", "--yes", link], "burn": ["burn", link]}[command]
    result = run_cli(argv, stdin=b"s3cret", http=http)
    assert result.code == 3, result.err
    assert f"answered with a redirect (HTTP {status})" in result.err
    assert "ots follows no redirects" in result.err
    assert not router["elsewhere"].called
    assert result.out == b""


# -- answers cut off -----------------------------------------------------------------------------


def test_a_secret_cut_off_mid_body_is_lost_exit_12(backend: Backend) -> None:
    link = shared(backend, b"x" * 50_000)
    router = hostile()

    def cut(request: httpx.Request) -> httpx.Response:
        answer = backend.client.send(request)
        body = answer.read()
        headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-length"}
        return httpx.Response(answer.status_code, headers=headers, content=cut_after(body, 1000))

    script(router, "POST", REVEAL).mock(side_effect=cut)
    http = through(router, backend)
    result = run_cli(["get", link], http=http)
    assert result.code == 12, result.err
    assert "the download was cut off after the server released the secret" in result.err
    assert b"x" * 50_000 not in result.out
    # The view was spent on the server: the real app says so.
    assert run_cli(["get", link], http=backend.client).code == 6


def test_an_answer_cut_off_mid_body_is_unavailable_exit_9(backend: Backend) -> None:
    link = shared(backend)
    router = hostile()
    body = b'{"id": "AAAAAAAAAAAAAAAAAAAAAA", "header": "'
    script(router, "POST", PEEK).mock(
        return_value=httpx.Response(
            200, headers={"Content-Type": "application/json"}, content=cut_after(body, 20)
        )
    )
    http = through(router, backend)
    result = run_cli(["get", link], http=http)
    assert result.code == 9, result.err
    assert "the connection to the server 127.0.0.1:8000 failed (RemoteProtocolError)" in result.err
    assert result.out == b""
    # Nothing was revealed: the secret is still there.
    assert run_cli(["get", link], http=backend.client).out == b"s3cret"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (httpx.ConnectError("refused"), "cannot connect to the server 127.0.0.1:8000"),
        (httpx.ReadError("reset by peer"), "the connection to the server 127.0.0.1:8000 failed"),
        (httpx.ReadTimeout("slow"), "the server 127.0.0.1:8000 did not answer in time"),
    ],
)
def test_a_failed_connection_is_unavailable_exit_9(
    backend: Backend, fault: Exception, message: str
) -> None:
    link = shared(backend)
    router = hostile()
    script(router, "POST", PEEK).mock(side_effect=fault)
    http = through(router, backend)
    result = run_cli(["get", link], http=http)
    assert result.code == 9, result.err
    assert message in result.err
    assert "ots: hint:" in result.err


# -- answers that are not the API's ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("text/html", b"<html><body>Sign in to the hotel Wi-Fi</body></html>", "is not JSON"),
        ("application/json", b"[1, 2, 3]", "is not a JSON object"),
        ("application/json", b'{"id": 1}', "lacks a valid"),
    ],
)
def test_a_200_that_is_not_the_apis_answer_is_refused_exit_9(
    backend: Backend, content_type: str, body: bytes, message: str
) -> None:
    link = shared(backend)
    router = hostile()
    script(router, "POST", PEEK).respond(200, headers={"Content-Type": content_type}, content=body)
    result = run_cli(["get", link], http=through(router, backend))
    assert result.code == 9, result.err
    assert message in result.err
    assert result.out == b""
    # Nothing was revealed: the secret is still there.
    assert run_cli(["get", link], http=backend.client).out == b"s3cret"


# -- the API client's typed exceptions -----------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (
            httpx.Response(308, headers={"Location": f"{ELSEWHERE}/api/v1/limits"}),
            ConfigError,
            "answered with a redirect (HTTP 308)",
        ),
        (
            httpx.Response(200, headers={"Content-Length": str(1 << 30)}, content=b"{}"),
            ProtocolError,
            "the server sent more than expected",
        ),
        (
            httpx.Response(200, headers={"Content-Encoding": "br"}, content=b"\x00" * 10),
            ProtocolError,
            "compressed answer",
        ),
        (httpx.Response(200, text="<html></html>"), ProtocolError, "is not JSON"),
        (
            httpx.Response(200, content=cut_after(b'{"max_bytes": 1', 5)),
            Unavailable,
            "failed (RemoteProtocolError)",
        ),
    ],
)
def test_the_api_client_raises_a_typed_error(
    answer: httpx.Response, error: type[OtsError], message: str
) -> None:
    router = hostile()
    limits = script(router, "GET", "/api/v1/limits").mock(return_value=answer)
    http = httpx.Client(transport=httpx.MockTransport(router.handler), follow_redirects=True)
    with pytest.raises(error, match=re.escape(message)):
        Api(http, SERVER).limits()
    assert limits.call_count == 1
    assert not router["elsewhere"].called
