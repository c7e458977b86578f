"""``ots share --for`` and ``ots get`` of a bound link, end to end: the real CLI (``main``),
a real ``ots-server`` under uvicorn, a real local OIDC issuer (tests/oidc_issuer.py) that
also plays the GitHub Actions runner's ID-token service.

What is checked: a simulated GitHub Actions job fetches its own token (with the server's URL
as audience) and reads the secret; a GitLab job reads it with the token GitLab puts in
``OTS_ID_TOKEN`` (or a variable named by ``--id-token-env``); outside CI, or in a job without
``id-token: write``, or for another pipeline, ``ots get`` exits 4 and nothing is consumed; an
unreachable issuer is exit 9 with nothing consumed; an untrusted platform is refused at share
(exit 10); a server that drops or strips the binding is caught (exit 8).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from oidc_issuer import (
    GITHUB_CLAIMS,
    GITLAB_CLAIMS,
    RUNNER_BEARER,
    LocalIssuer,
    bound_server,
    running_issuer,
)
from processes import ServerProcess, free_port

from ots_cli.core import b64

from .support import cli_env, run_cli

GITHUB_FOR = "github:octo-org/deploy@main:production"
GITHUB_BOUND = "github:octo-org/deploy@refs/heads/main:production"
GITLAB_FOR = "gitlab:group/sub/project@main"


class Stage:
    def __init__(self, issuer: LocalIssuer, server: ServerProcess) -> None:
        self.issuer, self.server = issuer, server

    def env(self, **extra: str) -> dict[str, str]:
        env = cli_env(OTS_SERVER=self.server.base_url, **extra)
        for name in ("GITHUB_ACTIONS", "GITLAB_CI", "OTS_ID_TOKEN", "CI"):
            if name not in extra:
                env.pop(name, None)
        for name in ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"):
            if name not in extra:
                env.pop(name, None)
        return env

    def github_job(self, **extra: str) -> dict[str, str]:
        """A GitHub Actions job with ``permissions: id-token: write``."""
        runner = {
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "ACTIONS_ID_TOKEN_REQUEST_URL": self.issuer.runner_url,
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": RUNNER_BEARER,
        }
        return self.env(**{**runner, **extra})

    def share(self, secret: bytes, *argv: str) -> str:
        result = run_cli(["share", *argv], stdin=secret, env=self.env())
        assert result.code == 0, result.err
        return result.text.strip()

    def views_left(self, link: str, claims: dict[str, Any] | None = None) -> int:
        """The views left, read by the pipeline ``claims`` describe (GitHub's by default):
        a bound secret's peek needs its token too."""
        token = self.issuer.mint(claims or GITHUB_CLAIMS, audience=self.server.base_url)
        peeked = run_cli(["--json", "peek", link], env=self.env(OTS_ID_TOKEN=token))
        assert peeked.code == 0, peeked.err
        views: int = peeked.json()["views_left"]
        return views


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    with running_issuer() as issuer:
        issuers = f"github={issuer.url} RS256,ES256;gitlab={issuer.url}"
        with bound_server(tmp_path_factory.mktemp("oidc-server"), issuers) as server:
            yield Stage(issuer, server)


@pytest.fixture(autouse=True)
def _fresh_issuer(stage: Stage) -> None:
    stage.issuer.down = False
    stage.issuer.runner_claims = dict(GITHUB_CLAIMS)
    stage.issuer.runner_requests.clear()


def test_a_github_actions_job_reads_a_secret_bound_to_it(stage: Stage) -> None:
    link = stage.share(b"deploy key", "--for", GITHUB_FOR)
    # Outside the pipeline even a peek is refused, naming whom the link is for.
    outside = run_cli(["peek", link], env=stage.env())
    assert outside.code == 4
    assert "only be read by GitHub Actions jobs of octo-org/deploy on refs/heads/main" in (
        outside.err
    )
    peeked = run_cli(["--json", "peek", link], env=stage.github_job())
    assert peeked.code == 0, peeked.err
    assert peeked.json()["binding"] == GITHUB_BOUND
    shown = run_cli(["peek", link], env=stage.github_job())
    assert "readable by  GitHub Actions jobs of octo-org/deploy on refs/heads/main" in shown.text
    stage.issuer.runner_requests.clear()
    got = run_cli(["get", link], env=stage.github_job())
    assert got.code == 0, got.err
    assert got.out == b"deploy key"
    # The job asked its runner for a token for exactly this server, and printed none.
    assert stage.issuer.runner_requests == [stage.server.base_url]
    assert "eyJ" not in got.err
    assert run_cli(["get", link], env=stage.github_job()).code == 6


def test_ots_run_fetches_the_token_too(stage: Stage, tmp_path: Path) -> None:
    link = stage.share(b"run value", "--for", GITHUB_FOR)
    out = tmp_path / "seen"
    done = run_cli(
        ["run", link, "--env", "VALUE", "--", "sh", "-c", f'printf %s "$VALUE" > {out}'],
        env=stage.github_job(),
    )
    assert done.code == 0, done.err
    assert out.read_bytes() == b"run value"


def test_outside_ci_get_explains_and_consumes_nothing(stage: Stage) -> None:
    link = stage.share(b"not for laptops", "--for", GITHUB_FOR)
    got = run_cli(["get", link, "--yes"], env=stage.env())
    assert got.code == 4
    assert "only be read by GitHub Actions jobs of octo-org/deploy on refs/heads/main" in got.err
    assert "in environment production" in got.err
    assert "nothing was consumed" in got.err
    assert got.out == b""
    assert stage.views_left(link) == 1


def test_a_github_job_without_id_token_permission_is_told_so(stage: Stage) -> None:
    link = stage.share(b"x" * 8, "--for", GITHUB_FOR)
    job = stage.env(CI="true", GITHUB_ACTIONS="true")
    got = run_cli(["get", link], env=job)
    assert got.code == 4
    assert "permissions: id-token: write" in got.err
    assert stage.views_left(link) == 1


@pytest.mark.parametrize(
    "claims",
    [
        {**GITHUB_CLAIMS, "ref": "refs/heads/feature"},
        {**GITHUB_CLAIMS, "environment": "staging"},
        {**GITHUB_CLAIMS, "repository": "octo-org/fork"},
    ],
    ids=["other-ref", "other-environment", "other-repository"],
)
def test_another_pipeline_is_refused_and_consumes_nothing(
    stage: Stage, claims: dict[str, Any]
) -> None:
    link = stage.share(b"only main", "--for", GITHUB_FOR)
    stage.issuer.runner_claims = claims
    got = run_cli(["get", link], env=stage.github_job())
    assert got.code == 4, got.err
    assert "rejected this job's ID token" in got.err
    assert stage.views_left(link) == 1


def test_a_gitlab_job_reads_with_its_id_token_variable(stage: Stage) -> None:
    link = stage.share(b"gitlab value", "--for", GITLAB_FOR)
    token = stage.issuer.mint(GITLAB_CLAIMS, audience=stage.server.base_url)
    got = run_cli(["get", link], env=stage.env(CI="true", GITLAB_CI="true", OTS_ID_TOKEN=token))
    assert got.code == 0, got.err
    assert got.out == b"gitlab value"
    assert token not in got.err


def test_id_token_env_names_another_variable(stage: Stage) -> None:
    link = stage.share(b"named", "--for", GITLAB_FOR)
    token = stage.issuer.mint(GITLAB_CLAIMS, audience=stage.server.base_url)
    missing = run_cli(["get", link, "--id-token-env", "MY_TOKEN"], env=stage.env(CI="true"))
    assert missing.code == 4
    assert "MY_TOKEN" in missing.err
    assert stage.views_left(link, GITLAB_CLAIMS) == 1
    got = run_cli(
        ["get", link, "--id-token-env", "MY_TOKEN"], env=stage.env(CI="true", MY_TOKEN=token)
    )
    assert got.code == 0, got.err
    assert got.out == b"named"


def test_a_token_for_another_audience_is_refused(stage: Stage) -> None:
    link = stage.share(b"aud", "--for", GITLAB_FOR)
    token = stage.issuer.mint(GITLAB_CLAIMS, audience="https://sts.amazonaws.com")
    got = run_cli(["get", link], env=stage.env(CI="true", OTS_ID_TOKEN=token))
    assert got.code == 4
    assert "audience" in got.err
    assert stage.views_left(link, GITLAB_CLAIMS) == 1


def test_issuer_down_is_exit_9_and_consumes_nothing(tmp_path: Path) -> None:
    with running_issuer() as issuer, bound_server(tmp_path, f"github={issuer.url}") as server:
        stage = Stage(issuer, server)
        stage.issuer.runner_claims = dict(GITHUB_CLAIMS)
        link = stage.share(b"later", "--for", GITHUB_FOR)
        issuer.down = True
        got = run_cli(["get", link], env=stage.github_job())
        assert got.code == 9, got.err
        assert "nothing was consumed" in got.err
        issuer.down = False
        assert stage.views_left(link) == 1
        assert run_cli(["get", link], env=stage.github_job()).out == b"later"


def test_share_for_an_untrusted_platform_is_exit_10(tmp_path: Path) -> None:
    with running_issuer() as issuer, bound_server(tmp_path, f"github={issuer.url}") as server:
        env = cli_env(OTS_SERVER=server.base_url)
        refused = run_cli(["share", "--for", GITLAB_FOR], stdin=b"v", env=env)
        assert refused.code == 10, refused.err
        assert "does not accept secrets bound" in refused.err
        assert refused.out == b""


@pytest.mark.parametrize("spec", ["github:octo", "github:octo/app@", "bitbucket:a/b", "gitlab:p"])
def test_a_malformed_for_is_a_usage_error(stage: Stage, spec: str) -> None:
    got = run_cli(["share", "--for", spec], stdin=b"v", env=stage.env())
    assert got.code == 2
    assert "--for" in got.err


# -- a server that drops or strips the binding -----------------------------------------------------


class Tampering(httpx.BaseTransport):
    """Real HTTP to the real server, with the answers changed like a hostile server would."""

    def __init__(self, strip_header: bool, token: str | None = None) -> None:
        self.inner = httpx.HTTPTransport()
        self.strip_header = strip_header
        #: A server that does not enforce the binding: it releases without the job's token
        #: (modelled by adding a valid one on its own, since the real server checks).
        self.token = token
        self.cut = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.token is not None and request.url.path.endswith(("/peek", "/reveal")):
            request.headers["Ots-Id-Token"] = self.token
        response = self.inner.handle_request(request)
        path = request.url.path
        if path.endswith("/peek") and response.status_code == 200:
            body = json.loads(response.read())
            body["binding"] = None
            if self.strip_header:
                header = b64.decode(body["header"])
                self.cut = header[55] + 1
                stripped = bytes(header[:6]) + bytes([header[6] & ~2]) + header[7:55]
                body["header"] = b64.encode(stripped)
                body["size"] -= self.cut
            return httpx.Response(200, json=body, headers={"Ots-Server": "1"})
        if path.endswith("/reveal") and response.status_code == 200 and self.strip_header:
            blob = response.read()
            stripped = blob[:6] + bytes([blob[6] & ~2]) + blob[7:55] + blob[55 + self.cut :]
            return httpx.Response(
                200,
                content=stripped,
                headers={"Ots-Views-Left": response.headers["ots-views-left"]},
            )
        return response

    def close(self) -> None:
        self.inner.close()


def test_a_server_that_drops_the_binding_is_caught_before_anything_is_consumed(
    stage: Stage,
) -> None:
    link = stage.share(b"guarded", "--for", GITHUB_FOR)
    with httpx.Client(transport=Tampering(strip_header=False)) as http:
        got = run_cli(["get", link], env=stage.github_job(), http=http)
    assert got.code == 8, got.err
    assert "binding" in got.err
    assert stage.views_left(link) == 1


def test_a_server_that_strips_the_binding_from_the_blob_fails_decryption(stage: Stage) -> None:
    link = stage.share(b"guarded", "--for", GITHUB_FOR)
    token = stage.issuer.mint(GITHUB_CLAIMS, audience=stage.server.base_url)
    with httpx.Client(transport=Tampering(strip_header=True, token=token)) as http:
        got = run_cli(["get", link], env=stage.env(), http=http)
    assert got.code == 8, got.err
    assert "authentication failed" in got.err or "decrypt" in got.err
    assert got.out == b""


def test_a_runner_that_refuses_the_token_request_is_exit_4(stage: Stage) -> None:
    link = stage.share(b"runner says no", "--for", GITHUB_FOR)
    job = stage.github_job(ACTIONS_ID_TOKEN_REQUEST_TOKEN="not-the-runner-token")
    got = run_cli(["get", link], env=job)
    assert got.code == 4, got.err
    assert "runner refused an ID token (HTTP 401)" in got.err
    assert "not-the-runner-token" not in got.err
    assert stage.views_left(link) == 1


def test_an_unreachable_runner_token_service_is_exit_9(stage: Stage) -> None:
    link = stage.share(b"runner away", "--for", GITHUB_FOR)
    job = stage.github_job(ACTIONS_ID_TOKEN_REQUEST_URL=f"http://127.0.0.1:{free_port()}/t?x=1")
    got = run_cli(["get", link], env=job)
    assert got.code == 9, got.err
    assert "nothing was consumed" in got.err
    assert stage.views_left(link) == 1


def test_a_workflow_pin_admits_only_that_workflow_file(stage: Stage) -> None:
    link = stage.share(b"release only", "--for", GITHUB_FOR + ":release.yml")
    lint = GITHUB_CLAIMS["job_workflow_ref"].replace("release.yml", "lint.yml")
    stage.issuer.runner_claims = {**GITHUB_CLAIMS, "job_workflow_ref": lint}
    refused = run_cli(["get", link], env=stage.github_job())
    assert refused.code == 4, refused.err
    assert "job_workflow_ref" in refused.err
    assert stage.views_left(link) == 1
    stage.issuer.runner_claims = dict(GITHUB_CLAIMS)
    got = run_cli(["get", link], env=stage.github_job())
    assert (got.code, got.out) == (0, b"release only")
