"""The app factory: ``create_app(settings, store, clock=...)`` builds one Starlette app.

Nothing is created at import time; every app has its own metrics, rate limiter and routes.
Middleware, from the outside in::

    SecurityHeaders   every response, even 500s from Starlette's error middleware
    Observe           one access-log line and one metrics observation per request
    Authenticate      bearer tokens on API requests (401 for a bad one, before anything else)
    RateLimit         token buckets on API POSTs, per client or per account (429 before any
                      body is read)
    Starlette's ServerErrorMiddleware -> ExceptionMiddleware -> FastRoutes -> Router
                      (FastRoutes: create, peek and reveal without the router's regexes,
                      :mod:`ots_server.fastpath`; everything else to the router)

The ExceptionMiddleware's handlers answer every error the same way for every endpoint:
``ApiError``, Starlette's HTTP errors (a 404 from the router is the secret 404), and the store's
outcomes (:func:`ots_server.outcomes.outcome_handlers`): endpoints never catch them.

The lifespan runs the background maintenance (expiry sweep, and with SQLite the WAL
checkpoint); requests never do. A checkpoint that could not complete (readers were in the
way) is counted as ``checkpoint_busy`` and retried after :data:`CHECKPOINT_RETRY` seconds,
doubling up to the checkpoint interval, so deleted ciphertext does not linger in the WAL a
whole interval longer. With a store that shares rate limits between instances (Redis), the
buckets live there; otherwise in this process.
An app built without running its lifespan (a ``TestClient`` used without ``with``) still
answers every request correctly: expiry is enforced on every read by the store, the sweeper
only frees space.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import ASGIApp

from ots_server.account_api import AccountApi
from ots_server.api import SecretsApi
from ots_server.errors import ApiError, error_response, not_found
from ots_server.fastpath import FastRoutes
from ots_server.limits import Limits
from ots_server.logs import FIELDS
from ots_server.metrics import Metrics
from ots_server.middleware.auth import Authenticate
from ots_server.middleware.headers import SecurityHeaders
from ots_server.middleware.observe import Observe
from ots_server.middleware.ratelimit import Limiter, RateLimit, RateLimiter, SharesRateLimits
from ots_server.openapi import build_openapi
from ots_server.ops import Operations
from ots_server.outcomes import outcome_handlers
from ots_server.requests_api import RequestsApi
from ots_server.settings import Settings
from ots_server.store import Store
from ots_server.web import WebPages

logger = logging.getLogger("ots_server")

_HTTP_ERRORS = {
    405: ("method_not_allowed", "method not allowed"),
}
#: Seconds before retrying a checkpoint that was busy; doubles up to the checkpoint interval.
CHECKPOINT_RETRY = 1.0


class OtsApp(Starlette):
    """A Starlette app whose own middleware wraps Starlette's error middleware too, and whose
    hot routes skip the router (:mod:`ots_server.fastpath`)."""

    def __init__(
        self,
        *,
        wrap: Callable[[ASGIApp], ASGIApp],
        fast: Callable[[Router], ASGIApp] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._wrap = wrap
        self._fast = fast

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        if self._fast is not None:
            # Starlette's stack ends in the router: the fast routes take its place there,
            # inside the ExceptionMiddleware, and hand it everything else.
            node = stack
            while getattr(node, "app", None) is not self.router:
                node = node.app  # type: ignore[attr-defined]
            node.app = self._fast(self.router)  # type: ignore[attr-defined]
        return self._wrap(stack)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        # Byte for byte the 404 of an unknown secret: a prober learns nothing from the router.
        return not_found()
    error, detail = _HTTP_ERRORS.get(exc.status_code, ("bad_request", "bad request"))
    return error_response(exc.status_code, error, detail, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Starlette's error middleware sends this, then re-raises so the server logs the bug.
    return error_response(500, "internal_error", "internal server error")


async def _client_disconnect(request: Request, exc: Exception) -> Response:
    # Nobody is listening any more; the status only reaches the access log.
    return error_response(400, "bad_request", "the client went away during the upload")


async def _maintain(
    settings: Settings, store: Store, clock: Callable[[], float], metrics: Metrics
) -> None:
    """Sweep expired secrets and checkpoint the WAL at their intervals, forever; both run once
    at start, so a WAL left behind by a crash is cleaned up without waiting an interval. Only
    SQLite has a WAL: with Redis there is no checkpoint (and no ``checkpoint`` event)."""
    loop = asyncio.get_running_loop()
    next_sweep = loop.time()
    next_checkpoint = loop.time() if settings.store_kind == "sqlite" else math.inf
    retry = CHECKPOINT_RETRY
    while True:
        if loop.time() >= next_sweep:
            next_sweep = loop.time() + settings.sweep_interval
            try:
                result = await store.purge_expired(int(clock()))
            except Exception as exc:  # keep sweeping after a transient store failure
                logger.error("sweep failed: %s", type(exc).__name__)
            else:
                counts = dataclasses.asdict(result)
                if any(counts.values()):
                    logger.info("sweep", extra={FIELDS: counts})
        if loop.time() >= next_checkpoint:
            complete = False
            try:
                complete = (await store.maintenance()).complete
            except Exception as exc:
                logger.error("checkpoint failed: %s", type(exc).__name__)
            if complete:
                metrics.event("checkpoint")
                retry = CHECKPOINT_RETRY
                next_checkpoint = loop.time() + settings.checkpoint_interval
            else:
                metrics.event("checkpoint_busy")
                next_checkpoint = loop.time() + min(retry, settings.checkpoint_interval)
                retry *= 2
        await asyncio.sleep(max(0.0, min(next_sweep, next_checkpoint) - loop.time()))


def _limiter(
    settings: Settings, store: Store, clock: Callable[[], float], *, account: bool
) -> Limiter | None:
    limits = Limits.for_caller(settings, account=account)
    per_minute, burst = limits.rate_limit_per_minute, limits.rate_limit_burst
    if per_minute == 0:
        return None
    if isinstance(store, SharesRateLimits):
        return store.rate_limiter(per_minute, burst, clock, key=settings.rate_limit_key)
    return RateLimiter(per_minute, burst, clock)


def create_app(
    settings: Settings,
    store: Store,
    *,
    clock: Callable[[], float] = time.time,
    owns_store: bool = False,
) -> Starlette:
    """Build the app. ``owns_store``: close the store when the lifespan ends."""
    metrics = Metrics()
    api = SecretsApi(settings, store, clock, metrics)
    account_api = AccountApi(settings, store, clock)
    requests = RequestsApi(settings, store, clock, metrics)
    ops = Operations(store, metrics, build_openapi())
    routes = [
        Route("/api/v1/secrets", api.create, methods=["POST"]),
        Route("/api/v1/secrets/{id}/peek", api.peek, methods=["POST"]),
        Route("/api/v1/secrets/{id}/reveal", api.reveal, methods=["POST"]),
        Route("/api/v1/secrets/{id}/burn", api.burn, methods=["POST"]),
        Route("/api/v1/receipts/status", api.receipt_status, methods=["POST"]),
        Route("/api/v1/receipts/status/batch", api.receipt_statuses, methods=["POST"]),
        Route("/api/v1/receipts/burn", api.receipt_burn, methods=["POST"]),
        Route("/api/v1/requests", requests.create, methods=["POST"]),
        Route("/api/v1/requests/{id}/peek", requests.peek, methods=["POST"]),
        Route("/api/v1/requests/{id}/answer", requests.answer, methods=["POST"]),
        Route("/api/v1/requests/{id}/status", requests.status, methods=["POST"]),
        Route("/api/v1/requests/{id}/close", requests.close, methods=["POST"]),
        Route("/api/v1/limits", api.limits, methods=["GET"]),
        Route("/api/v1/account", account_api.account, methods=["GET"]),
        Route("/api/v1/account/receipts", account_api.receipts, methods=["GET"]),
        Route("/api/v1/openapi.json", ops.openapi_json, methods=["GET"]),
        Route("/healthz", ops.healthz, methods=["GET"]),
        Route("/readyz", ops.readyz, methods=["GET"]),
        Route("/metrics", ops.metrics_text, methods=["GET"]),
    ]
    if settings.web:
        routes += WebPages(settings).routes()
    else:
        routes.append(Route("/s/{id}", ops.link_page, methods=["GET", "HEAD", "OPTIONS"]))
        routes.append(Route("/r/{id}", ops.request_page, methods=["GET", "HEAD", "OPTIONS"]))
    limiter = _limiter(settings, store, clock, account=False)
    account_limiter = _limiter(settings, store, clock, account=True)

    def wrap(app: ASGIApp) -> ASGIApp:
        limited = RateLimit(
            app,
            limiter=limiter,
            account_limiter=account_limiter,
            trusted=settings.trusted_proxies,
            ipv6_prefix=settings.rate_limit_ipv6_prefix,
            on_limited=lambda: metrics.event("rate_limited"),
        )
        authenticated = Authenticate(
            limited, store=store, clock=clock, on_refused=lambda: metrics.event("unauthorized")
        )
        return SecurityHeaders(Observe(authenticated, routes=routes, metrics=metrics))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(_maintain(settings, store, clock, metrics))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if owns_store:
                await store.close()

    by_path = {route.path: route for route in routes if isinstance(route, Route)}

    def fast(router: Router) -> ASGIApp:
        return FastRoutes(
            router,
            create=by_path["/api/v1/secrets"],
            peek=by_path["/api/v1/secrets/{id}/peek"],
            reveal=by_path["/api/v1/secrets/{id}/reveal"],
        )

    app = OtsApp(
        wrap=wrap,
        fast=fast,
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            # Store outcomes (NotFound, Gone, ..., StoreFull): each one answered the same
            # way by every endpoint.
            **outcome_handlers(metrics),
            ClientDisconnect: _client_disconnect,
            Exception: _internal_error,
        },
    )
    # A slash redirect would echo the path (the id) into a Location header.
    app.router.redirect_slashes = False
    app.state.settings = settings
    app.state.store = store
    app.state.metrics = metrics
    app.state.rate_limiter = limiter
    app.state.account_rate_limiter = account_limiter
    app.state.upload_slots = api.slots
    return app
