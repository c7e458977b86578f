"""Secrets bound to a CI identity, through the real app and a real local OIDC issuer.

The issuer (tests/oidc_issuer.py) serves a real JWKS over HTTP on 127.0.0.1 with real RSA and
EC keys, and tokens are signed with PyJWT; the app verifies them with its own code
(ots_server.oidc). Every refusal is checked to change nothing: views and passphrase attempts
are read back with a peek afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from binding_cases import GRAMMAR_CASES
from cryptography.hazmat.primitives import serialization
from oidc_issuer import GITHUB_CLAIMS, GITLAB_CLAIMS, LocalIssuer, rsa_key, running_issuer
from starlette.testclient import TestClient

from ots_server.app import create_app
from ots_server.oidc import jwks
from ots_server.oidc.issuers import Issuer, parse_issuers
from ots_server.settings import Settings, SettingsError
from ots_server.store.sqlite.store import SQLiteStore

from .support import START, FakeClock, SimSecret, assert_error, b64, create, post

AUDIENCE = "http://ots.test"
GITHUB_BOUND = "github:octo-org/deploy@refs/heads/main:production"
GITLAB_BOUND = "gitlab:group/sub/project@main"


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with running_issuer() as running:
        yield running


def oidc_settings(tmp_path: Path, issuers: tuple[Issuer, ...], **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "rate_limit_per_minute": 0,
        "account_rate_limit_per_minute": 0,
        "public_url": AUDIENCE,
        "oidc_issuers": issuers,
        "oidc_allow_http_loopback": True,
        **changes,
    }
    return Settings(**values)


@pytest.fixture
def app_client(tmp_path: Path, issuer: LocalIssuer, clock: FakeClock) -> Iterator[TestClient]:
    settings = oidc_settings(
        tmp_path,
        (
            Issuer("github", issuer.url, ("RS256", "ES256")),
            Issuer("gitlab", issuer.url, ("RS256",)),
        ),
    )
    store = SQLiteStore(tmp_path / "store.sqlite3")
    try:
        app = create_app(settings, store, clock=clock)
        with TestClient(app, base_url=AUDIENCE) as client:
            yield client
    finally:
        store.close_sync()


def bound_secret(client: TestClient, binding: str, **make: Any) -> SimSecret:
    secret = SimSecret.make(**make)
    answer = create(client, secret, binding=binding, views=2)
    assert answer.status_code == 201, answer.text
    return secret


def reveal(client: TestClient, secret: SimSecret, token: str | None, **body: Any) -> httpx.Response:
    headers = {} if token is None else {"Ots-Id-Token": token}
    answer: httpx.Response = client.post(
        f"/api/v1/secrets/{secret.sid}/reveal",
        json={**secret.reveal_body(), **body},
        headers=headers,
    )
    return answer


def unchanged(client: TestClient, secret: SimSecret, views: int = 2) -> dict[str, Any]:
    """The secret as the store holds it, views untouched. Read from the store itself: a bound
    secret's peek needs a token, and what is checked here is that nothing was spent."""
    store = client.app.state.store  # type: ignore[attr-defined]
    info = client.portal.call(store.peek, secret.id, secret.link_check, int(START))  # type: ignore[union-attr]
    assert info.views_left == views
    return {"views_left": info.views_left, "binding": info.binding,
            "attempts_left": info.attempts_left}  # fmt: skip


def peek(client: TestClient, secret: SimSecret, token: str | None = None) -> httpx.Response:
    headers = {} if token is None else {"Ots-Id-Token": token}
    answer: httpx.Response = client.post(
        f"/api/v1/secrets/{secret.sid}/peek", json=secret.proof_body(), headers=headers
    )
    return answer


# -- the right token ---------------------------------------------------------------------------


def test_peek_and_reveal_need_the_right_token_and_the_peek_names_the_binding(
    app_client: TestClient, issuer: LocalIssuer
) -> None:
    secret = bound_secret(app_client, GITHUB_BOUND)
    assert unchanged(app_client, secret)["binding"] == GITHUB_BOUND
    # The peek needs the token too: without it, the answer names whom the secret is for.
    required = assert_error(peek(app_client, secret), 403, "id_token_required")
    assert required["binding"] == GITHUB_BOUND
    other = issuer.mint({**GITHUB_CLAIMS, "environment": "staging"}, audience=AUDIENCE)
    rejected = assert_error(peek(app_client, secret, other), 403, "id_token_rejected")
    assert "environment" in rejected["detail"]
    assert "binding" not in rejected
    token = issuer.mint(GITHUB_CLAIMS, audience=AUDIENCE)
    peeked = peek(app_client, secret, token)
    assert peeked.status_code == 200, peeked.text
    assert peeked.json()["binding"] == GITHUB_BOUND
    assert peeked.json()["views_left"] == 2
    answer = reveal(app_client, secret, token)
    assert answer.status_code == 200, answer.text
    assert answer.content == secret.blob
    assert answer.headers["ots-views-left"] == "1"


def test_bound_answers_match_the_api_description(
    app_client: TestClient, issuer: LocalIssuer
) -> None:
    """The peek's and reveal's answers for a bound secret, validated against the served
    OpenAPI document (status, headers, body schema)."""
    import schemathesis
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    api = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app_client.app)
    checks = [status_code_conformance, content_type_conformance, response_schema_conformance]
    secret = bound_secret(app_client, GITHUB_BOUND)
    token = issuer.mint(GITHUB_CLAIMS, audience=AUDIENCE)
    wrong = issuer.mint({**GITHUB_CLAIMS, "ref": "refs/heads/dev"}, audience=AUDIENCE)
    path = "/api/v1/secrets/{id}/"
    body: Any = secret.proof_body()
    for action, headers, status in [
        ("peek", {}, 403),
        ("peek", {"Ots-Id-Token": wrong}, 403),
        ("reveal", {}, 403),
        ("reveal", {"Ots-Id-Token": wrong}, 403),
        ("peek", {"Ots-Id-Token": token}, 200),
    ]:
        case = api[path + action]["POST"].Case(
            path_parameters={"id": secret.sid}, body=body, headers=headers
        )
        response = case.call(base_url=AUDIENCE)
        assert response.status_code == status, response.text
        case.validate_response(response, checks=checks)
    unchanged(app_client, secret)


def test_an_ec_key_verifies_when_the_issuer_is_pinned_to_es256(
    app_client: TestClient, issuer: LocalIssuer
) -> None:
    secret = bound_secret(app_client, GITHUB_BOUND)
    answer = reveal(app_client, secret, issuer.mint(GITHUB_CLAIMS, audience=AUDIENCE, kid="ec-1"))
    assert answer.status_code == 200, answer.text


def test_gitlab_binding_checks_project_path_and_ref(
    app_client: TestClient, issuer: LocalIssuer
) -> None:
    secret = bound_secret(app_client, GITLAB_BOUND)
    other = {**GITLAB_CLAIMS, "project_path": "group/sub/other"}
    refused = reveal(app_client, secret, issuer.mint(other, audience=AUDIENCE))
    assert "project_path" in assert_error(refused, 403, "id_token_rejected")["detail"]
    unchanged(app_client, secret)
    answer = reveal(app_client, secret, issuer.mint(GITLAB_CLAIMS, audience=AUDIENCE))
    assert answer.status_code == 200, answer.text


def test_a_workflow_pin_checks_job_workflow_ref(
    app_client: TestClient, issuer: LocalIssuer
) -> None:
    """`:ENVIRONMENT:WORKFLOW` pins GitHub's job_workflow_ref to that file of the repository,
    at the binding's ref or, without one, at the token's own ref."""
    release = "octo-org/deploy/.github/workflows/release.yml@refs/heads/main"
    with_ref = bound_secret(app_client, GITHUB_BOUND + ":release.yml")
    other = {**GITHUB_CLAIMS, "job_workflow_ref": release.replace("release", "lint")}
    refused = reveal(app_client, with_ref, issuer.mint(other, audience=AUDIENCE))
    assert "job_workflow_ref" in assert_error(refused, 403, "id_token_rejected")["detail"]
    unchanged(app_client, with_ref)
    right = {**GITHUB_CLAIMS, "job_workflow_ref": release}
    assert reveal(app_client, with_ref, issuer.mint(right, audience=AUDIENCE)).status_code == 200
    # No ref in the binding: any ref, but the workflow file at the ref the job runs on.
    any_ref = bound_secret(app_client, "github:octo-org/deploy::release.yml")
    on_dev = {**GITHUB_CLAIMS, "ref": "refs/heads/dev", "environment": "x"}
    stale = {**on_dev, "job_workflow_ref": release}  # the file at another ref than the job's
    refused = reveal(app_client, any_ref, issuer.mint(stale, audience=AUDIENCE))
    assert_error(refused, 403, "id_token_rejected")
    fresh = {**on_dev, "job_workflow_ref": release.replace("main", "dev")}
    # A token without a ref cannot complete the pin: refused, saying why, nothing spent.
    no_ref = {name: value for name, value in fresh.items() if name != "ref"}
    refused = reveal(app_client, any_ref, issuer.mint(no_ref, audience=AUDIENCE))
    assert "'ref'" in assert_error(refused, 403, "id_token_rejected")["detail"]
    unchanged(app_client, any_ref)
    assert reveal(app_client, any_ref, issuer.mint(fresh, audience=AUDIENCE)).status_code == 200


def test_a_binding_without_ref_or_environment_pins_only_the_repository(
    app_client: TestClient, issuer: LocalIssuer
) -> None:
    secret = bound_secret(app_client, "github:octo-org/deploy")
    claims = {**GITHUB_CLAIMS, "ref": "refs/heads/feature", "environment": "staging"}
    assert reveal(app_client, secret, issuer.mint(claims, audience=AUDIENCE)).status_code == 200


# -- refusals change nothing ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({**GITHUB_CLAIMS, "repository": "octo-org/other"}, "repository"),
        ({**GITHUB_CLAIMS, "repository": "Octo-Org/deploy"}, "repository"),
        ({**GITHUB_CLAIMS, "ref": "refs/heads/main2"}, "'ref'"),
        ({**GITHUB_CLAIMS, "ref": "refs/tags/main"}, "'ref'"),
        ({**GITHUB_CLAIMS, "environment": "staging"}, "environment"),
        ({k: v for k, v in GITHUB_CLAIMS.items() if k != "environment"}, "environment"),
        ({**GITHUB_CLAIMS, "ref": ["refs/heads/main"]}, "'ref'"),
    ],
    ids=[
        "repository",
        "repository-case",
        "ref",
        "ref-kind",
        "environment",
        "environment-missing",
        "ref-not-a-string",
    ],
)
def test_a_token_for_another_pipeline_is_refused(
    app_client: TestClient, issuer: LocalIssuer, claims: dict[str, Any], why: str
) -> None:
    secret = bound_secret(app_client, GITHUB_BOUND, passphrase=True)
    answer = reveal(
        app_client, secret, issuer.mint(claims, audience=AUDIENCE), passphrase_proof=b64(bytes(32))
    )
    assert why in assert_error(answer, 403, "id_token_rejected")["detail"]
    # No view and not even a passphrase attempt was spent (the passphrase proof was wrong).
    assert unchanged(app_client, secret)["attempts_left"] == 5


@pytest.mark.parametrize(
    ("mint", "why"),
    [
        ({"now": 1_000_000_000}, "expired"),
        ({"lifetime": -120}, "expired"),
        ({"now": 4_000_000_000}, "not valid yet"),
        ({"audience": "https://sts.amazonaws.com"}, "audience"),
        ({"issuer": "https://token.actions.githubusercontent.com"}, "issuer"),
    ],
    ids=["expired", "expired-just", "not-yet-valid", "wrong-audience", "wrong-issuer"],
)
def test_a_token_outside_its_time_audience_or_issuer_is_refused(
    app_client: TestClient, issuer: LocalIssuer, mint: dict[str, Any], why: str
) -> None:
    secret = bound_secret(app_client, GITHUB_BOUND)
    options = {"audience": AUDIENCE, **mint}
    token = issuer.mint(GITHUB_CLAIMS, **options)
    assert (
        why in assert_error(reveal(app_client, secret, token), 403, "id_token_rejected")["detail"]
    )
    unchanged(app_client, secret)


def test_nbf_in_the_future_is_refused(app_client: TestClient, issuer: LocalIssuer) -> None:
    import time

    secret = bound_secret(app_client, GITHUB_BOUND)
    token = issuer.mint({**GITHUB_CLAIMS, "nbf": int(time.time()) + 600}, audience=AUDIENCE)
    answer = reveal(app_client, secret, token)
    assert "not valid yet" in assert_error(answer, 403, "id_token_rejected")["detail"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forged(header: dict[str, Any], payload: dict[str, Any], sign: Any) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def _payload(issuer: LocalIssuer) -> dict[str, Any]:
    token = issuer.mint(GITHUB_CLAIMS, audience=AUDIENCE)
    payload: dict[str, Any] = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return payload


def test_alg_none_is_refused(app_client: TestClient, issuer: LocalIssuer) -> None:
    secret = bound_secret(app_client, GITHUB_BOUND)
    token = _forged({"alg": "none", "kid": "rsa-1", "typ": "JWT"}, _payload(issuer), lambda _: b"")
    answer = reveal(app_client, secret, token)
    assert "algorithm" in assert_error(answer, 403, "id_token_rejected")["detail"]
    unchanged(app_client, secret)


def test_hs256_signed_with_the_public_key_is_refused(
    app_client: TestClient, issuer: LocalIssuer
) -> None:
    """The classic confusion: HMAC keyed with the RSA public key the JWKS publishes."""
    secret = bound_secret(app_client, GITHUB_BOUND)
    public_pem = (
        issuer.key("rsa-1")
        .private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    def sign(data: bytes) -> bytes:
        return hmac.new(public_pem, data, hashlib.sha256).digest()

    token = _forged({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}, _payload(issuer), sign)
    answer = reveal(app_client, secret, token)
    assert "algorithm" in assert_error(answer, 403, "id_token_rejected")["detail"]
    unchanged(app_client, secret)


def test_an_algorithm_the_issuer_is_not_pinned_to_is_refused(
    app_client: TestClient, issuer: LocalIssuer
) -> None:
    secret = bound_secret(app_client, GITLAB_BOUND)  # gitlab: RS256 only
    token = issuer.mint(GITLAB_CLAIMS, audience=AUDIENCE, kid="ec-1")
    answer = reveal(app_client, secret, token)
    assert "algorithm" in assert_error(answer, 403, "id_token_rejected")["detail"]


def test_a_key_of_the_wrong_type_for_the_algorithm_is_refused(
    app_client: TestClient, issuer: LocalIssuer
) -> None:
    secret = bound_secret(app_client, GITHUB_BOUND)
    # Signed with the RSA key, but naming the EC key: RS256 with a P-256 JWK cannot verify.
    token = issuer.mint(GITHUB_CLAIMS, audience=AUDIENCE, headers={"kid": "ec-1"})
    assert_error(reveal(app_client, secret, token), 403, "id_token_rejected")
    unchanged(app_client, secret)


def test_a_bad_signature_is_refused(app_client: TestClient, issuer: LocalIssuer) -> None:
    secret = bound_secret(app_client, GITHUB_BOUND)
    head, body, signature = issuer.mint(GITHUB_CLAIMS, audience=AUDIENCE).split(".")
    other = issuer.mint({**GITHUB_CLAIMS, "repository": "octo-org/evil"}, audience=AUDIENCE)
    spliced = ".".join((head, other.split(".")[1], signature))
    assert (
        "signature"
        in assert_error(reveal(app_client, secret, spliced), 403, "id_token_rejected")["detail"]
    )
    assert body != other.split(".")[1]


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "é.é.é", "x" * 20_000])
def test_malformed_tokens_are_refused(app_client: TestClient, token: str) -> None:
    secret = bound_secret(app_client, GITHUB_BOUND)
    headers = {"Ots-Id-Token": token} if token.isascii() else {"Ots-Id-Token": token.encode()}
    answer = app_client.post(
        f"/api/v1/secrets/{secret.sid}/reveal", json=secret.reveal_body(), headers=headers
    )
    assert_error(answer, 403, "id_token_rejected")
    unchanged(app_client, secret)


def test_without_a_token_a_bound_secret_is_not_released(
    app_client: TestClient, issuer: LocalIssuer
) -> None:
    secret = bound_secret(app_client, GITHUB_BOUND, passphrase=True)
    answer = reveal(app_client, secret, None, passphrase_proof=b64(bytes(32)))
    assert_error(answer, 403, "id_token_required")
    assert unchanged(app_client, secret)["attempts_left"] == 5
    assert issuer.jwks_fetches == 0  # nothing to verify: the store refused on its own


def test_a_wrong_link_proof_with_a_token_is_the_plain_404(
    app_client: TestClient, issuer: LocalIssuer
) -> None:
    secret = bound_secret(app_client, GITHUB_BOUND)
    token = issuer.mint(GITHUB_CLAIMS, audience=AUDIENCE)
    answer = app_client.post(
        f"/api/v1/secrets/{secret.sid}/reveal",
        json=secret.reveal_body(proof=bytes(32)),
        headers={"Ots-Id-Token": token},
    )
    assert_error(answer, 404, "not_found")
    assert issuer.jwks_fetches == 0


def test_an_unbound_secret_ignores_a_token(app_client: TestClient, issuer: LocalIssuer) -> None:
    secret = SimSecret.make()
    assert create(app_client, secret).status_code == 201
    assert post(app_client, secret, "peek", secret.proof_body()).json()["binding"] is None
    answer = reveal(app_client, secret, issuer.mint(GITLAB_CLAIMS, audience=AUDIENCE))
    assert answer.status_code == 200
    assert issuer.jwks_fetches == 0


# -- keys: cache, unknown kid, rotation, outage ---------------------------------------------------


def test_keys_are_cached_then_rotation_is_picked_up_rate_limited(
    app_client: TestClient, issuer: LocalIssuer, clock: FakeClock
) -> None:
    secret = (
        bound_secret(app_client, GITHUB_BOUND, views=1)
        if False
        else bound_secret(app_client, GITHUB_BOUND)
    )
    assert (
        reveal(app_client, secret, issuer.mint(GITHUB_CLAIMS, audience=AUDIENCE)).status_code == 200
    )
    assert issuer.jwks_fetches == 1
    # The issuer rotates: a new key signs, the old one is withdrawn.
    issuer.keys.append(rsa_key("rsa-2"))
    issuer.published = {"rsa-2", "ec-1"}
    rotated = issuer.mint(GITHUB_CLAIMS, audience=AUDIENCE, kid="rsa-2")
    clock.advance(jwks.MIN_REFRESH)  # the last fetch is old enough to refresh for a new kid
    assert reveal(app_client, secret, rotated).status_code == 200
    assert issuer.jwks_fetches == 2
    # A made-up kid right after a refresh does not fetch again (rate limit), and is refused.
    other = bound_secret(app_client, GITHUB_BOUND)
    issuer.keys.append(rsa_key("rsa-3"))
    unknown = issuer.mint(GITHUB_CLAIMS, audience=AUDIENCE, kid="rsa-3")
    answer = reveal(app_client, other, unknown)
    assert "does not publish" in assert_error(answer, 403, "id_token_rejected")["detail"]
    assert issuer.jwks_fetches == 2
    unchanged(app_client, other)
    # Once published and the interval has passed, the same token works.
    issuer.published = {"rsa-2", "rsa-3"}
    clock.advance(jwks.MIN_REFRESH)
    assert reveal(app_client, other, unknown).status_code == 200
    assert issuer.jwks_fetches == 3


def test_an_unknown_kid_fetches_once_per_interval(
    app_client: TestClient, issuer: LocalIssuer
) -> None:
    secret = bound_secret(app_client, GITHUB_BOUND)
    issuer.keys.append(rsa_key("never-published"))
    issuer.published = {"rsa-1"}
    token = issuer.mint(GITHUB_CLAIMS, audience=AUDIENCE, kid="never-published")
    for _ in range(5):
        assert_error(reveal(app_client, secret, token), 403, "id_token_rejected")
    assert issuer.jwks_fetches == 1
    unchanged(app_client, secret)


def test_issuer_down_is_503_retryable_and_consumes_nothing(
    app_client: TestClient, issuer: LocalIssuer
) -> None:
    secret = bound_secret(app_client, GITHUB_BOUND)
    token = issuer.mint(GITHUB_CLAIMS, audience=AUDIENCE)
    issuer.down = True
    answer = reveal(app_client, secret, token)
    assert_error(answer, 503, "oidc_unavailable")
    assert answer.headers["retry-after"] == "5"
    assert_error(peek(app_client, secret, token), 503, "oidc_unavailable")
    unchanged(app_client, secret)
    issuer.down = False
    assert peek(app_client, secret, token).status_code == 200
    assert reveal(app_client, secret, token).status_code == 200


def test_unreachable_issuer_is_503(tmp_path: Path, clock: FakeClock) -> None:
    with running_issuer() as gone:
        url = gone.url
        token = gone.mint(GITHUB_CLAIMS, audience=AUDIENCE)
    settings = oidc_settings(tmp_path, (Issuer("github", url, ("RS256",)),))
    store = SQLiteStore(tmp_path / "store.sqlite3")
    try:
        with TestClient(create_app(settings, store, clock=clock), base_url=AUDIENCE) as client:
            secret = bound_secret(client, GITHUB_BOUND)
            assert_error(reveal(client, secret, token), 503, "oidc_unavailable")
            unchanged(client, secret)
    finally:
        store.close_sync()


# -- create --------------------------------------------------------------------------------------


def test_create_with_an_untrusted_platform_is_refused(
    tmp_path: Path, issuer: LocalIssuer, clock: FakeClock
) -> None:
    settings = oidc_settings(tmp_path, (Issuer("github", issuer.url),))
    store = SQLiteStore(tmp_path / "store.sqlite3")
    try:
        with TestClient(create_app(settings, store, clock=clock), base_url=AUDIENCE) as client:
            secret = SimSecret.make()
            assert_error(create(client, secret, binding=GITLAB_BOUND), 422, "binding_refused")
            assert post(client, secret, "peek", secret.proof_body()).status_code == 404
            assert create(client, secret, binding=GITHUB_BOUND).status_code == 201
    finally:
        store.close_sync()


def test_create_without_an_audience_is_refused(
    tmp_path: Path, issuer: LocalIssuer, clock: FakeClock
) -> None:
    settings = oidc_settings(tmp_path, (Issuer("github", issuer.url),), public_url=None)
    store = SQLiteStore(tmp_path / "store.sqlite3")
    try:
        with TestClient(create_app(settings, store, clock=clock), base_url=AUDIENCE) as client:
            answer = create(client, SimSecret.make(), binding=GITHUB_BOUND)
            assert_error(answer, 422, "binding_refused")
    finally:
        store.close_sync()


@pytest.mark.parametrize(
    "binding",
    ["github:octo/app@main", "GITHUB:octo/app", "github:octo", 7, "", "gitlab:a", "x" * 300],
)
def test_create_with_a_malformed_binding_is_400(app_client: TestClient, binding: object) -> None:
    assert_error(create(app_client, SimSecret.make(), binding=binding), 400, "bad_request")


def test_tokens_never_reach_logs_or_answers(
    app_client: TestClient, issuer: LocalIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = bound_secret(app_client, GITHUB_BOUND)
    wrong = issuer.mint({**GITHUB_CLAIMS, "ref": "refs/heads/x"}, audience=AUDIENCE)
    right = issuer.mint(GITHUB_CLAIMS, audience=AUDIENCE)
    answers = [reveal(app_client, secret, wrong), reveal(app_client, secret, right)]
    issuer.down = True
    answers.append(reveal(app_client, secret, right))
    for token in (wrong, right):
        signature = token.split(".")[2]
        assert signature not in caplog.text
        for answer in answers:
            assert signature.encode() not in answer.content
            assert signature not in str(answer.headers)


# -- settings ----------------------------------------------------------------------------------


def test_issuer_settings_are_strict() -> None:
    assert parse_issuers("") == ()
    assert parse_issuers("gitlab=https://gitlab.example.com ES256,RS256") == (
        Issuer("gitlab", "https://gitlab.example.com", ("ES256", "RS256")),
    )
    for bad in (
        "github=https://x.example HS256",
        "github=https://x.example none",
        "github=https://x.example RS256,HS512",
        "github=http://x.example",
        "github=https://x.example/",
        "github=https://user@x.example",
        "github=https://x.example?a=b",
        "bitbucket=https://x.example",
        "github=https://a.example;github=https://b.example",
        "https://x.example",
    ):
        with pytest.raises(ValueError, match=r"\w"):
            parse_issuers(bad)


def test_http_issuers_need_the_test_only_switch(tmp_path: Path) -> None:
    environ = {"OTS_DATA_DIR": str(tmp_path), "OTS_OIDC_ISSUERS": "github=http://127.0.0.1:9"}
    with pytest.raises(SettingsError, match="OTS_OIDC_ALLOW_HTTP_LOOPBACK"):
        Settings.from_env(environ)
    settings = Settings.from_env({**environ, "OTS_OIDC_ALLOW_HTTP_LOOPBACK": "true"})
    assert settings.oidc_issuers == (Issuer("github", "http://127.0.0.1:9"),)
    defaults = Settings.from_env({"OTS_DATA_DIR": str(tmp_path)})
    assert [i.url for i in defaults.oidc_issuers] == [
        "https://token.actions.githubusercontent.com",
        "https://gitlab.com",
    ]
    assert defaults.audience is None
    tuned = Settings.from_env(
        {"OTS_DATA_DIR": str(tmp_path), "OTS_PUBLIC_URL": "https://ots.example.com"}
    )
    assert tuned.audience == "https://ots.example.com"
    own = Settings.from_env({"OTS_DATA_DIR": str(tmp_path), "OTS_OIDC_AUDIENCE": "ots-prod"})
    assert own.audience == "ots-prod"


# -- the two copies of the binding grammar ---------------------------------------------------------


@pytest.mark.parametrize("text", GRAMMAR_CASES)
def test_server_and_client_agree_on_the_binding_grammar(text: str) -> None:
    """ots_cli and ots_server never import each other, so each has the grammar; they must
    accept exactly the same texts (docs/FORMAT.md, Binding)."""
    from ots_cli.core.binding import parse_binding as client_parse
    from ots_server.oidc.binding import parse_binding as server_parse

    def accepts(parse: Any) -> bool:
        try:
            parse(text)
        except ValueError:
            return False
        return True

    assert accepts(client_parse) == accepts(server_parse)
    if accepts(server_parse):
        assert server_parse(text).text == text
