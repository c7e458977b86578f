"""The browser pages: the reveal page at ``/s/{id}`` and the assets it loads.

The server's part is static: the same bytes for every id (only the language varies), no data
call, no state, no cookie. All cryptography runs in the browser (``static/ots-format.js`` with
the vendored libsodium.js, in the page and, for a large secret, in its download Service Worker
``static/download-sw.js``); the key stays in the URL's fragment, which the browser never sends.
``OTS_WEB=false`` turns the pages off: ``/s/{id}`` then serves the plain CLI instructions page
and ``/assets/`` answers the server's 404. See docs/web.md.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ots_server.web.assets import Assets
from ots_server.web.pages import PAGE_CSP, Page

__all__ = ["PAGE_CSP", "WebPages"]

#: The largest file a browser without a streaming download path is given from memory.
MEMORY_SAVE_CAP = 128 * 1024 * 1024
#: Texts up to this size are shown in the page; larger ones are offered as a file, as the CLI does.
TEXT_SHOWN_CAP = 1024 * 1024


class WebPages:
    def __init__(self) -> None:
        self.assets = Assets()
        data: dict[str, object] = {
            "worker": "../" + self.assets.url("argon2-worker.js").lstrip("/"),
            "downloadWorker": "../" + self.assets.url("download-sw.js").lstrip("/"),
            "memorySaveCap": MEMORY_SAVE_CAP,
            "textShownCap": TEXT_SHOWN_CAP,
        }
        self.reveal = Page("reveal.html", "reveal.js", self.assets, data)

    async def reveal_page(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": "GET, HEAD, OPTIONS"})
        return self.reveal.response(request)

    async def asset(self, request: Request) -> Response:
        response = await self.assets.serve(request)
        if response.status_code == 200:
            # Workers take their policy from their own script's response.
            response.headers["Content-Security-Policy"] = PAGE_CSP
        return response

    def routes(self) -> list[Route]:
        return [
            Route("/s/{id}", self.reveal_page, methods=["GET", "HEAD", "OPTIONS"]),
            Route("/assets/{version}/{name}", self.asset, methods=["GET", "HEAD"]),
        ]
