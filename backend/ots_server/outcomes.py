"""Store outcomes as HTTP answers: the one place that maps them (docs/API.md has the contract).

Handlers call one store method and let its outcome (:mod:`ots_server.store.outcomes`) propagate;
:func:`outcome_handlers` gives the exception handlers :func:`ots_server.app.create_app`
registers, one per outcome, so every endpoint answers an outcome with the same bytes:

- ``NotFound``: the one indistinguishable 404 (:func:`ots_server.errors.not_found`), whatever
  was asked for: an unknown id, a wrong proof and a purged record look alike.
- ``Gone`` / ``RequestGone``: 410 with the state and its time (only a caller whose proof
  matched ever gets here: the store decides that).
- ``IdExists``: 409 ``exists``, naming a request under ``/api/v1/requests`` and a secret
  elsewhere; ``Answered``: 409 ``answered`` with the time of the answer that was stored.
- ``BindingRequired``: 403 ``id_token_required`` (a bound secret revealed without a verified
  ID token for its binding; nothing spent).
- ``PassphraseRequired``: 401; ``WrongPassphrase``: 403, counted as ``wrong_passphrase`` or,
  when it was the last attempt, ``burned_by_attempts``.
- ``NoSuchAccount``: the 401 of a bad token (the account was deleted after its token was
  checked).
- ``StoreFull`` / ``StoreUnavailable``: 507 / 503, logged (:func:`ots_server.errors.store_failure`).

Details are fixed text or a state name: an answer never echoes an id, a proof or a token. A
create's body-reading failures that need ``Connection: close`` are answered where the body is
read (:mod:`ots_server.bodies`), before any outcome exists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from starlette.requests import Request
from starlette.responses import Response

from ots_server.errors import ApiError, not_found, store_failure
from ots_server.metrics import Metrics
from ots_server.middleware.auth import unauthorized
from ots_server.store import (
    Answered,
    BindingRequired,
    Gone,
    IdExists,
    NoSuchAccount,
    NotFound,
    PassphraseRequired,
    RequestGone,
    StoreFull,
    StoreUnavailable,
    WrongPassphrase,
)

Handler = Callable[[Request, Exception], Awaitable[Response]]

#: The path prefix of the request endpoints: what an ``IdExists`` there is about.
REQUESTS_PATH = "/api/v1/requests"


def _subject(request: Request) -> str:
    # The matched route's template (the router puts it in the scope), not the URL: a proxy's
    # root path in front of it changes nothing.
    template = getattr(request.scope.get("route"), "path", "")
    return "request" if template.startswith(REQUESTS_PATH) else "secret"


async def _not_found(request: Request, exc: Exception) -> Response:
    return not_found()


async def _gone(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Gone)
    detail = f"the secret is {exc.state}"
    return ApiError(410, "gone", detail, state=exc.state, at=exc.at).response()


async def _request_gone(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestGone)
    detail = f"the request is {exc.state}"
    return ApiError(410, "gone", detail, state=exc.state, at=exc.at).response()


async def _exists(request: Request, exc: Exception) -> Response:
    return ApiError(409, "exists", f"a {_subject(request)} with this id exists").response()


async def _answered(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Answered)
    return ApiError(409, "answered", "the request has an answer", at=exc.at).response()


async def _passphrase_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PassphraseRequired)
    return ApiError(
        401,
        "passphrase_required",
        "this secret needs the passphrase proof",
        attempts_left=exc.attempts_left,
    ).response()


async def _binding_required(request: Request, exc: Exception) -> Response:
    return ApiError(
        403,
        "id_token_required",
        "this secret is bound to a CI identity: send that pipeline's ID token in Ots-Id-Token",
    ).response()


async def _no_account(request: Request, exc: Exception) -> Response:
    return unauthorized().response()


async def _store_failed(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreFull | StoreUnavailable)
    return store_failure(exc).response()


def outcome_handlers(metrics: Metrics) -> Mapping[type[Exception], Handler]:
    """The exception handlers of every store outcome an endpoint may meet."""

    async def wrong_passphrase(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WrongPassphrase)
        metrics.event("burned_by_attempts" if exc.burned else "wrong_passphrase")
        return ApiError(
            403,
            "wrong_passphrase",
            "the passphrase proof does not match",
            attempts_left=exc.attempts_left,
            burned=exc.burned,
        ).response()

    return {
        NotFound: _not_found,
        Gone: _gone,
        RequestGone: _request_gone,
        IdExists: _exists,
        Answered: _answered,
        PassphraseRequired: _passphrase_required,
        BindingRequired: _binding_required,
        WrongPassphrase: wrong_passphrase,
        NoSuchAccount: _no_account,
        StoreUnavailable: _store_failed,
        StoreFull: _store_failed,
    }
