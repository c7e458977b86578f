"""Operational endpoints and the link pages: health, readiness, metrics, OpenAPI, and, with
``OTS_WEB=false``, ``/s/{id}`` and ``/r/{id}``.

None of these reads a request body or changes state. Each link page is fixed bytes loaded
once per app: it never echoes the id or anything else from the URL, and makes no data call.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ots_server.errors import error_response
from ots_server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from ots_server.metrics import Metrics
from ots_server.middleware.headers import DEFAULT_CSP
from ots_server.store import Store, StoreError


def _load_link_page(name: str) -> tuple[bytes, str]:
    html = resources.files("ots_server").joinpath(f"static/{name}").read_bytes()
    styles = re.findall(rb"<style>(.*?)</style>", html, flags=re.DOTALL)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(style).digest()).decode() + "'"
        for style in styles
    )
    csp = DEFAULT_CSP.replace("default-src 'none'", f"default-src 'none'; style-src {hashes}")
    return html, csp


class Operations:
    def __init__(self, store: Store, metrics: Metrics, openapi: dict[str, Any]) -> None:
        self.store = store
        self.metrics = metrics
        self.openapi = json.dumps(openapi, separators=(",", ":")).encode()
        self.page, self.page_csp = _load_link_page("link.html")
        self.request_page_bytes, self.request_page_csp = _load_link_page("request.html")

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        try:
            await self.store.check()
        except StoreError:
            return error_response(503, "unavailable", "the store is not answering")
        return JSONResponse({"status": "ready"})

    async def metrics_text(self, request: Request) -> Response:
        return Response(self.metrics.render(), media_type=METRICS_CONTENT_TYPE)

    async def openapi_json(self, request: Request) -> Response:
        return Response(self.openapi, media_type="application/json")

    async def link_page(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": "GET, HEAD, OPTIONS"})
        return Response(
            self.page,
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": self.page_csp},
        )

    async def request_page(self, request: Request) -> Response:
        """``/r/{id}`` with ``OTS_WEB=false``: how to answer the request with the CLI."""
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": "GET, HEAD, OPTIONS"})
        return Response(
            self.request_page_bytes,
            media_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": self.request_page_csp},
        )
