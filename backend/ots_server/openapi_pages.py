"""The operational endpoints and the pages in the API description (:mod:`ots_server.openapi`):
``/api/v1/openapi.json``, ``/healthz``, ``/readyz``, ``/metrics``, the link and request pages
(``/s/{id}``, ``/r/{id}``), the create and receipt pages and their assets. Like
:mod:`ots_server.openapi_requests`, it takes the document's ``json`` and ``errors`` helpers from
:func:`ots_server.openapi.build_openapi`, so every error answer is declared the one way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ots_server.openapi_schemas import ref

Errors = Callable[..., dict[str, Any]]
Json = Callable[..., dict[str, Any]]


def page_paths(json: Json, errors: Errors) -> dict[str, Any]:
    """The paths outside ``/api/v1`` (and the document itself): none takes a token."""
    return {
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": json({"type": "object"}, "OpenAPI 3.1"), **errors(405)},
            }
        },
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "Liveness",
                "responses": {"200": json(ref("Status"), "Serving"), **errors(405)},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "Readiness: the store answers",
                "responses": {"200": json(ref("Status"), "Ready"), **errors(405, 503)},
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus text format; no ids",
                "responses": {
                    "200": {
                        "description": "Metrics",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    **errors(405),
                },
            }
        },
        "/s/{id}": {
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "Any value; the page is the same for every id",
                }
            ],
            **{
                method: {
                    "operationId": f"linkPage{method.title()}",
                    "summary": (
                        "The reveal page (docs/web.md), or with OTS_WEB=false a fixed page "
                        "that explains the CLI; the same bytes for every id, no state change"
                    ),
                    "responses": {
                        "200": {
                            "description": "The page",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        },
                        **errors(405),
                    },
                }
                for method in ("get", "head")
            },
            "options": {
                "operationId": "linkPageOptions",
                "summary": "Allowed methods",
                "responses": {"204": {"description": "No content"}, **errors(405)},
            },
        },
        "/r/{id}": {
            "parameters": [
                {
                    "name": "id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "Any value; the page is the same for every id",
                }
            ],
            **{
                method: {
                    "operationId": f"requestPage{method.title()}",
                    "summary": (
                        "The responder's page of a request (docs/web.md), which encrypts and "
                        "answers in the browser; with OTS_WEB_CREATE=false or OTS_REQUIRE_ACCOUNT "
                        "a page that explains `ots respond`, and with OTS_WEB=false a fixed page "
                        "that does; the same bytes for every id, no state change"
                    ),
                    "responses": {
                        "200": {
                            "description": "The page",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        },
                        **errors(405),
                    },
                }
                for method in ("get", "head")
            },
            "options": {
                "operationId": "requestPageOptions",
                "summary": "Allowed methods",
                "responses": {"204": {"description": "No content"}, **errors(405)},
            },
        },
        "/": {
            "get": {
                "operationId": "createPage",
                "summary": (
                    "The create page (docs/web.md), which encrypts in the browser; with "
                    "OTS_WEB_CREATE=false or OTS_REQUIRE_ACCOUNT a page that explains the CLI; "
                    "404 with OTS_WEB=false"
                ),
                "responses": {
                    "200": {
                        "description": "The page",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                    **errors(404, 405),
                },
            }
        },
        "/receipt": {
            "get": {
                "operationId": "receiptPage",
                "summary": (
                    "The receipt page (docs/web.md): reads a receipt token from the URL's "
                    "fragment; the same bytes for every request; 404 with OTS_WEB=false"
                ),
                "responses": {
                    "200": {
                        "description": "The page",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    },
                    **errors(404, 405),
                },
            }
        },
        "/assets/{version}/{name}": {
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in ("version", "name")
            ],
            "get": {
                "operationId": "pageAsset",
                "summary": (
                    "A script, stylesheet or icon of the pages; immutable, gzip'd when "
                    "accepted; 404 for any other name or version, or with OTS_WEB=false"
                ),
                "responses": {
                    "200": {
                        "description": "The asset",
                        "content": {
                            media: {"schema": {"type": "string"}}
                            for media in ("text/javascript", "text/css", "image/svg+xml")
                        },
                    },
                    **errors(404, 405),
                },
            },
        },
    }
