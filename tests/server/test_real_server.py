"""Properties that need the real ``ots-server serve`` (uvicorn, sockets, separate process):
bots cannot burn links, refused uploads are cut off on the wire, a reveal is streamed with a
Content-Length, every 404 is the same on the wire, uvicorn does not second-guess
``OTS_TRUSTED_PROXIES``, and the server's output holds no id."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import struct
from pathlib import Path

import httpx
from processes import ServerProcess, running_server

from .support import CREATE_TYPE, SimSecret, create


def test_bots_cannot_burn_links(shared_server: ServerProcess) -> None:
    secrets = [SimSecret.make(), SimSecret.make(passphrase=True)]
    with httpx.Client(base_url=shared_server.base_url, timeout=10) as client:
        for secret in secrets:
            assert create(client, secret).status_code == 201
            for _ in range(100):
                for method in ("GET", "HEAD", "OPTIONS"):
                    page = client.request(method, f"/s/{secret.sid}")
                    assert page.status_code in {200, 204}
                peek = client.post(f"/api/v1/secrets/{secret.sid}/peek", json=secret.proof_body())
                assert peek.json()["views_left"] == 1
            for _ in range(10):  # id-only holders: wrong proofs
                wrong = client.post(
                    f"/api/v1/secrets/{secret.sid}/reveal", json={"proof": "A" * 43}
                )
                assert wrong.status_code == 404
        for secret in secrets:
            first = client.post(f"/api/v1/secrets/{secret.sid}/reveal", json=secret.reveal_body())
            assert (first.status_code, first.content) == (200, secret.blob)
            again = client.post(f"/api/v1/secrets/{secret.sid}/reveal", json=secret.reveal_body())
            assert again.json()["state"] == "consumed"
    output = shared_server.output()
    for secret in secrets:
        assert secret.sid not in output
    ports = set(re.findall(r"127\.0\.0\.1:(\d+)", output))
    assert ports == {str(shared_server.port)}  # only the bind address, never a client's


def test_reveal_is_streamed_with_content_length(shared_server: ServerProcess) -> None:
    secret = SimSecret.make(300_000)
    with httpx.Client(base_url=shared_server.base_url, timeout=10) as client:
        assert create(client, secret).status_code == 201
        url = f"/api/v1/secrets/{secret.sid}/reveal"
        with client.stream("POST", url, json=secret.reveal_body()) as response:
            assert response.status_code == 200
            assert response.headers["content-length"] == "300000"
            assert "transfer-encoding" not in response.headers
            pieces = list(response.iter_raw())
    assert b"".join(pieces) == secret.blob


def test_every_404_is_the_same_on_the_wire(shared_server: ServerProcess) -> None:
    secret = SimSecret.make()
    with httpx.Client(base_url=shared_server.base_url, timeout=10) as client:
        assert create(client, secret).status_code == 201
        answers = [
            client.post(f"/api/v1/secrets/{secret.sid}/reveal", json={"proof": "A" * 43}),
            client.post(f"/api/v1/secrets/{SimSecret.make().sid}/reveal", json={"proof": "A" * 43}),
            client.post("/api/v1/secrets/not-an-id/reveal", json={"proof": "A" * 43}),
            client.post(f"/api/v1/secrets/{secret.sid}", json={"proof": "A" * 43}),
            client.post(f"/api/v1/secrets/{secret.sid}/open", json={"proof": "A" * 43}),
        ]
    first = answers[0]
    assert first.status_code == 404
    for answer in answers[1:]:
        assert answer.status_code == 404
        assert answer.content == first.content
        # Everything but the clock: uvicorn stamps each answer with the current second.
        same = [(k, v) for k, v in answer.headers.items() if k != "date"]
        assert same == [(k, v) for k, v in first.headers.items() if k != "date"]


def _raw_exchange(port: int, head: bytes, chunks: list[bytes]) -> tuple[bytes, int]:
    """Send ``head`` then ``chunks`` until the server answers; return answer and chunks sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        sent = 0
        sock.settimeout(0.05)
        answer = b""
        for chunk in chunks:
            with contextlib.suppress(TimeoutError):
                answer = sock.recv(65536)
            if answer:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
        sock.settimeout(10)
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break  # the server closed the connection after answering
            answer += data
    return answer, sent


def _status_and_body(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"connection: close" in head.lower()
    return status, json.loads(body)


def test_declared_oversize_is_refused_before_the_body(shared_server: ServerProcess) -> None:
    head = (
        b"POST /api/v1/secrets HTTP/1.1\r\nHost: ots\r\n"
        + f"Content-Type: {CREATE_TYPE}\r\nContent-Length: 1000000000\r\n\r\n".encode()
    )
    answer, sent = _raw_exchange(shared_server.port, head, [b"\x00" * 65536] * 200)
    status, body = _status_and_body(answer)
    assert (status, body["error"]) == (413, "too_large")
    assert sent == 0


def test_chunked_oversize_is_cut_off_while_streaming(shared_server: ServerProcess) -> None:
    secret = SimSecret.make()
    meta = json.dumps(secret.meta()).encode()
    head = (
        b"POST /api/v1/secrets HTTP/1.1\r\nHost: ots\r\n"
        + f"Content-Type: {CREATE_TYPE}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    )
    prefix = struct.pack(">I", len(meta)) + meta
    data = b"\x01" * 65536
    chunks = [b"%x\r\n%s\r\n" % (len(prefix), prefix)] + [b"%x\r\n%s\r\n" % (len(data), data)] * 200
    answer, sent = _raw_exchange(shared_server.port, head, chunks)
    status, body = _status_and_body(answer)
    assert (status, body["error"]) == (413, "too_large")
    assert sent < 40  # 1 MiB is 16 chunks; the server stopped well before the 12 MiB offered
    with httpx.Client(base_url=shared_server.base_url) as client:
        peek = client.post(f"/api/v1/secrets/{secret.sid}/peek", json=secret.proof_body())
        assert peek.status_code == 404
        assert client.get("/readyz").status_code == 200


def test_uvicorn_does_not_trust_forwarded_headers_itself(tmp_path: Path) -> None:
    env = {"OTS_RATE_LIMIT_PER_MINUTE": "1", "OTS_RATE_LIMIT_BURST": "2"}
    with (
        running_server(tmp_path, env=env) as server,
        httpx.Client(base_url=server.base_url) as client,
    ):
        statuses = [
            client.post(
                "/api/v1/receipts/status",
                json={"receipt": "otsr_" + "A" * 43},
                headers={"X-Forwarded-For": f"198.51.100.{i}"},
            ).status_code
            for i in range(3)
        ]
        health = client.get("/healthz")
    assert statuses == [404, 404, 429]
    assert "server" not in health.headers
