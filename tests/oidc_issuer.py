"""A local OIDC issuer for the binding tests: real keys, a real JWKS over HTTP, real tokens.

:class:`LocalIssuer` runs an HTTP server (stdlib ``ThreadingHTTPServer``) on 127.0.0.1 in a
thread, serving what GitHub's and GitLab's issuers serve: the discovery document
(``/.well-known/openid-configuration``) and the key set (``/jwks``). Its keys are real RSA
(2048-bit) and EC (P-256) keys from ``cryptography``; :meth:`LocalIssuer.mint` signs tokens
with PyJWT. It can rotate keys, publish only some of them, and go down (answer 503), and it
counts key-set fetches, so the server's caching and rate limiting can be observed.

It also plays a GitHub Actions runner's ID-token service (``/runner-token``): with the right
bearer it answers ``{"value": <token>}`` for the ``audience`` asked, carrying the claims the
test configured, exactly as ``ACTIONS_ID_TOKEN_REQUEST_URL`` does on a real runner.

The issuer URL is ``http://127.0.0.1:PORT`` (the server accepts it only with the test-only
``OTS_OIDC_ALLOW_HTTP_LOOPBACK=true``). Nothing here is a mock of the code under test: the
server verifies with its real code against this real endpoint.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from processes import ServerProcess, free_port

RUNNER_BEARER = "runner-request-token-for-tests"


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.alg)
        public = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": self.alg}


# Generating a 2048-bit RSA key takes a second or more on a loaded machine: one key per kid per
# test process is enough (each test still gets its own issuer, key list and counters).
@functools.cache
def rsa_key(kid: str) -> SigningKey:
    return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))


@functools.cache
def ec_key(kid: str) -> SigningKey:
    return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))


@dataclass
class LocalIssuer:
    keys: list[SigningKey] = field(default_factory=lambda: [rsa_key("rsa-1"), ec_key("ec-1")])
    #: Published in the JWKS (by kid); ``None``: every key in ``keys``.
    published: set[str] | None = None
    down: bool = False
    jwks_fetches: int = 0
    #: Claims the runner endpoint puts in the tokens it mints (plus iss, aud, iat, nbf, exp).
    runner_claims: dict[str, Any] = field(default_factory=dict)
    runner_requests: list[str] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def runner_url(self) -> str:
        # A real runner's URL already carries a query (api-version); the client appends.
        return f"{self.url}/runner-token?api-version=2.0"

    def key(self, kid: str) -> SigningKey:
        return next(k for k in self.keys if k.kid == kid)

    def jwks(self) -> dict[str, Any]:
        return {
            "keys": [
                k.jwk() for k in self.keys if self.published is None or k.kid in self.published
            ]
        }

    def mint(
        self,
        claims: dict[str, Any],
        *,
        audience: str,
        kid: str = "rsa-1",
        issuer: str | None = None,
        lifetime: int = 300,
        now: float | None = None,
        headers: dict[str, Any] | None = None,
    ) -> str:
        """A token signed with key ``kid``; standard claims first, then ``claims`` on top."""
        at = int(time.time() if now is None else now)
        payload = {
            "iss": self.url if issuer is None else issuer,
            "aud": audience,
            "iat": at,
            "nbf": at,
            "exp": at + lifetime,
            "sub": "repo:test",
            **claims,
        }
        signing = self.key(kid)
        return jwt.encode(
            payload, signing.private, algorithm=signing.alg, headers={"kid": kid, **(headers or {})}
        )


def _handler(issuer: LocalIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the test output stays readable

        def _json(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            if parts.path == "/runner-token":
                if self.headers.get("Authorization") != f"Bearer {RUNNER_BEARER}":
                    self._json(401, {"message": "bad runner token"})
                    return
                audience = parse_qs(parts.query).get("audience", [""])[0]
                issuer.runner_requests.append(audience)
                self._json(200, {"value": issuer.mint(issuer.runner_claims, audience=audience)})
                return
            if issuer.down:
                self._json(503, {"message": "down"})
                return
            if parts.path == "/.well-known/openid-configuration":
                self._json(200, {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/jwks"})
            elif parts.path == "/jwks":
                issuer.jwks_fetches += 1
                self._json(200, issuer.jwks())
            else:
                self._json(404, {})

    return Handler


@contextmanager
def running_issuer(issuer: LocalIssuer | None = None) -> Iterator[LocalIssuer]:
    """Serve ``issuer`` on a free loopback port until the block ends."""
    issuer = issuer or LocalIssuer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(issuer))
    issuer.port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


GITHUB_CLAIMS = {
    "repository": "octo-org/deploy",
    "repository_owner": "octo-org",
    "ref": "refs/heads/main",
    "environment": "production",
    "job_workflow_ref": "octo-org/deploy/.github/workflows/release.yml@refs/heads/main",
}
GITLAB_CLAIMS = {"project_path": "group/sub/project", "ref": "main", "ref_type": "branch"}


@contextmanager
def bound_server(directory: Path, issuers: str) -> Iterator[ServerProcess]:
    """A real ots-server (uvicorn) in ``directory`` trusting ``issuers`` (OTS_OIDC_ISSUERS,
    loopback http allowed), whose public URL is its own address: tokens minted for its
    ``base_url`` carry the audience it expects."""
    port = free_port()
    server = ServerProcess.in_directory(
        directory,
        env={
            "OTS_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "OTS_OIDC_ISSUERS": issuers,
            "OTS_OIDC_ALLOW_HTTP_LOOPBACK": "true",
        },
    )
    server.port = port
    server.start()
    try:
        yield server
    finally:
        server.stop()
