"""FastRoutes (ots_server.fastpath) takes exactly the requests the router would give to the
create, peek and reveal routes, with the same path parameters; anything else goes on to the
router, and the answers through the app stay the router's."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.routing import Match, Route, Router
from starlette.testclient import TestClient

from ots_server.fastpath import FastRoutes

ID = "AAAAAAAAAAAAAAAAAAAAAA"


async def endpoint(request: Any) -> Any:
    raise AssertionError("not called")


ROUTES = [
    Route("/api/v1/secrets", endpoint, methods=["POST"]),
    Route("/api/v1/secrets/{id}/peek", endpoint, methods=["POST"]),
    Route("/api/v1/secrets/{id}/reveal", endpoint, methods=["POST"]),
    Route("/api/v1/secrets/{id}/burn", endpoint, methods=["POST"]),
]
FAST = FastRoutes(Router(ROUTES), create=ROUTES[0], peek=ROUTES[1], reveal=ROUTES[2])


def scope(path: str, method: str = "POST", root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": root_path}


def router_choice(request: dict[str, Any]) -> tuple[Route | None, dict[str, Any]]:
    for route in ROUTES:
        match, child = route.matches(request)
        if match is Match.FULL:
            return route, child["path_params"]
    return None, {}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/secrets",
        f"/api/v1/secrets/{ID}/peek",
        f"/api/v1/secrets/{ID}/reveal",
        "/api/v1/secrets/x/reveal",
        "/api/v1/secrets/%2F/reveal",
    ],
)
def test_the_hot_routes_are_taken_as_the_router_takes_them(path: str) -> None:
    route, params = FAST._match(scope(path))
    assert route is not None
    assert (route, params) == router_choice(scope(path))


@pytest.mark.parametrize(
    ("path", "method", "root_path"),
    [
        ("/api/v1/secrets/", "POST", ""),
        ("/api/v1/secrets//reveal", "POST", ""),
        (f"/api/v1/secrets/{ID}/reveal/", "POST", ""),
        (f"/api/v1/secrets/{ID}/burn", "POST", ""),
        (f"/api/v1/secrets/a/{ID}/reveal", "POST", ""),
        (f"/api/v1/secrets/{ID}", "POST", ""),
        (f"/api/v1/secrets/{ID}/reveal\n", "POST", ""),
        ("/api/v1/secretsX", "POST", ""),
        ("/api/v1/secrets", "GET", ""),
        (f"/api/v1/secrets/{ID}/reveal", "GET", ""),
        (f"/prefix/api/v1/secrets/{ID}/reveal", "POST", "/prefix"),
    ],
)
def test_everything_else_goes_to_the_router(path: str, method: str, root_path: str) -> None:
    assert FAST._match(scope(path, method, root_path)) == (None, {})


def test_answers_through_the_app_are_the_routers(client: TestClient) -> None:
    # A malformed id on a fast route: the indistinguishable 404, as from the router.
    unknown = client.post("/api/v1/secrets/nope/reveal", json={"proof": "x"})
    unmatched = client.post("/api/v1/secrets/nope/reveal/", json={"proof": "x"})
    assert unknown.status_code == unmatched.status_code == 404
    assert unknown.content == unmatched.content
    # The wrong method on a fast route's path is still the router's 405.
    assert client.get("/api/v1/secrets").status_code == 405
    # An error inside a fast route's endpoint is answered by the app's handlers.
    bad = client.post("/api/v1/secrets", content=b"x", headers={"Content-Type": "text/plain"})
    assert bad.status_code == 415
    assert bad.json()["error"] == "unsupported_media_type"
