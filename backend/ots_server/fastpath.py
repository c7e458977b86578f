"""The create, peek and reveal routes found without Starlette's router.

Starlette's router tries each route's regular expression in turn, then runs the endpoint
inside its own exception wrapper (``request_response``), inside the ``ExceptionMiddleware``
that wraps the router and does the same job. :class:`FastRoutes` sits where the router sits,
inside that middleware, and recognises ``POST /api/v1/secrets``,
``POST /api/v1/secrets/{id}/peek`` and ``POST /api/v1/secrets/{id}/reveal`` by plain string
tests; it sets the scope exactly as the router would (``route``, ``endpoint``,
``path_params``, ``router``) and calls the route's endpoint. Everything else, including any
path these tests do not accept as exactly one of the three, goes to the router unchanged.

Invariants:

- The same endpoints, the same answers: an exception from an endpoint reaches the app's
  ``ExceptionMiddleware``, whose handlers (the same ones the inner wrapper would use) answer
  it; no handler of this app reads the request it is given.
- A path is only taken here when the router would take it the same way: an ``{id}`` segment
  is any non-empty text without ``/`` (Starlette's default ``str`` convertor), with no
  ``root_path``.
- The three routes have no route-level middleware (``Route(middleware=...)``), which this
  path would skip: app-wide middleware goes in :func:`ots_server.app.create_app`'s ``wrap``.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

CREATE_PATH = "/api/v1/secrets"
_ONE_PREFIX = "/api/v1/secrets/"


class FastRoutes:
    """In place of ``router``: the three routes by string tests, the rest to the router."""

    def __init__(self, router: Router, *, create: Route, peek: Route, reveal: Route) -> None:
        self.router = router
        self.create = create
        self.actions = {"peek": peek, "reveal": reveal}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route, params = self._match(scope)
        if route is None:
            await self.router(scope, receive, send)
            return
        scope["router"] = self.router
        scope["route"] = route
        scope["endpoint"] = route.endpoint
        scope["path_params"] = params
        response = await route.endpoint(Request(scope, receive, send))
        await response(scope, receive, send)

    def _match(self, scope: Scope) -> tuple[Route | None, dict[str, Any]]:
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            return None, {}
        path: str = scope["path"]
        if path == CREATE_PATH:
            return self.create, {}
        if not path.startswith(_ONE_PREFIX):
            return None, {}
        id, slash, action = path[len(_ONE_PREFIX) :].partition("/")
        route = self.actions.get(action) if slash and id else None
        return route, ({"id": id} if route is not None else {})
