"""The browser pages: the reveal page at ``/s/{id}``, the create page at ``/``, the receipt
page at ``/receipt``, the responder's page of a request at ``/r/{id}``, and the assets they
load.

The server's part is static: each page is the same bytes for every request (only the language
varies), with no state and no cookie. All cryptography runs in the browser
(``static/ots-format.js`` and ``static/ots-writer.js`` with the vendored libsodium.js, in the
page and, for a large secret, in the download Service Worker ``static/download-sw.js``); keys
and receipt tokens stay in the URL's fragment, which the browser never sends. ``OTS_WEB=false``
turns the pages off: ``/s/{id}`` and ``/r/{id}`` then serve the plain CLI instructions pages
(the app's, in :mod:`ots_server.ops`), and ``/``, ``/receipt`` and ``/assets/`` answer the
server's 404. ``OTS_WEB_CREATE=false``, or ``OTS_REQUIRE_ACCOUNT`` (the page has no account
token), makes ``/`` a page that explains how to share with the CLI, and ``/r/{id}`` one that
explains how to answer with the CLI: answering a request stores a new secret, which is a create
like ``/``'s. See docs/web.md.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ots_server.settings import Settings
from ots_server.web.assets import Assets
from ots_server.web.pages import PAGE_CSP, Page

__all__ = ["PAGE_CSP", "WebPages"]

#: The largest file a browser without a streaming download path is given from memory.
MEMORY_SAVE_CAP = 128 * 1024 * 1024
#: Texts up to this size are shown in the page; larger ones are offered as a file, as the CLI does.
TEXT_SHOWN_CAP = 1024 * 1024


#: The create page's own scripts, in load order (libsodium.js first, in the template).
CREATE_SCRIPTS = (
    "ots-format.js",
    "ots-writer.js",
    "ots-upload.js",
    "ots-ui.js",
    "ots-secret-form.js",
    "create.js",
)
RECEIPT_SCRIPTS = ("ots-ui.js", "receipt.js")
RESPOND_SCRIPTS = (
    "ots-format.js",
    "ots-writer.js",
    "ots-upload.js",
    "ots-ui.js",
    "ots-secret-form.js",
    "ots-request.js",
    "respond.js",
)
#: The shared form's template slots, worded for an answer on the responder's page.
RESPOND_ALIASES = {
    "what_legend": "respond_what_legend",
    "password_hint": "respond_password_hint",
    "progress_heading": "respond_progress_heading",
}


class WebPages:
    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.assets = Assets()
        data: dict[str, object] = {
            "worker": "../" + self.assets.url("argon2-worker.js").lstrip("/"),
            "downloadWorker": "../" + self.assets.url("download-sw.js").lstrip("/"),
            "memorySaveCap": MEMORY_SAVE_CAP,
            "textShownCap": TEXT_SHOWN_CAP,
        }
        self.reveal = Page("reveal.html", "reveal.js", self.assets, data)
        if settings.web_create and not settings.require_account:
            create_data: dict[str, object] = {
                "worker": self.assets.url("argon2-worker.js").lstrip("/"),
            }
            self.home = Page("create.html", CREATE_SCRIPTS, self.assets, create_data, root="")
            self.respond = Page(
                "respond.html", RESPOND_SCRIPTS, self.assets, {}, aliases=RESPOND_ALIASES
            )
        else:
            account = settings.require_account
            reason = "cli_reason_account" if account else "cli_reason_off"
            self.home = Page(
                "create-cli.html", None, self.assets, {}, root="", aliases={"cli_reason": reason}
            )
            reason = "respond_cli_reason_account" if account else "respond_cli_reason_off"
            self.respond = Page(
                "respond-cli.html", None, self.assets, {}, aliases={"respond_cli_reason": reason}
            )
        self.receipt = Page("receipt.html", RECEIPT_SCRIPTS, self.assets, {}, root="")

    async def reveal_page(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": "GET, HEAD, OPTIONS"})
        return self.reveal.response(request)

    async def respond_page(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": "GET, HEAD, OPTIONS"})
        return self.respond.response(request)

    async def home_page(self, request: Request) -> Response:
        return self.home.response(request)

    async def receipt_page(self, request: Request) -> Response:
        return self.receipt.response(request)

    async def asset(self, request: Request) -> Response:
        response = await self.assets.serve(request)
        if response.status_code == 200:
            # Workers take their policy from their own script's response.
            response.headers["Content-Security-Policy"] = PAGE_CSP
        return response

    def routes(self) -> list[Route]:
        return [
            Route("/s/{id}", self.reveal_page, methods=["GET", "HEAD", "OPTIONS"]),
            Route("/r/{id}", self.respond_page, methods=["GET", "HEAD", "OPTIONS"]),
            Route("/", self.home_page, methods=["GET", "HEAD"]),
            Route("/receipt", self.receipt_page, methods=["GET", "HEAD"]),
            Route("/assets/{version}/{name}", self.asset, methods=["GET", "HEAD"]),
        ]
