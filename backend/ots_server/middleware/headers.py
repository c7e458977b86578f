"""Security headers on every response, as pure ASGI middleware (no body buffering).

It wraps the whole app, outside Starlette's error middleware, so 404s and 405s from the
router and even 500s get the headers. Any ``Set-Cookie`` is dropped. A route may send its own
``Content-Security-Policy`` (the pages allow what they load), and versioned page assets may
say ``Cache-Control: public, max-age=31536000, immutable``; every other header here is forced.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

_FORCED: list[tuple[bytes, bytes]] = [
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_REMOVED = {name for name, _ in _FORCED} | {b"set-cookie", b"server"}
#: The one Cache-Control a route may choose instead of no-store: versioned page assets.
_IMMUTABLE = b"public, max-age=31536000, immutable"
#: Every security header of an answer that does not set its own CSP; for the answers the
#: connection edge writes itself (:mod:`ots_server.protocol`), which never reach this middleware.
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", DEFAULT_CSP.encode()),
    *_FORCED,
]


_CSP = b"content-security-policy"
_DEFAULT_CSP = (_CSP, DEFAULT_CSP.encode())
#: What is appended to an answer that set no CSP of its own and no immutable Cache-Control
#: (every API answer): built once, copied onto each answer.
_TAIL = [_DEFAULT_CSP, *_FORCED]


def secure(given: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``given`` without the headers this module decides, then the forced ones."""
    headers = []
    own_csp = immutable = False
    for header in given:
        name = header[0].lower()
        if name in _REMOVED:
            if name == b"cache-control" and header[1] == _IMMUTABLE:
                immutable = True
            continue
        if name == _CSP:
            own_csp = True
        headers.append(header)
    if not own_csp and not immutable:
        headers += _TAIL
        return headers
    if not own_csp:
        headers.append(_DEFAULT_CSP)
    headers.extend(
        (name, _IMMUTABLE if immutable and name == b"cache-control" else value)
        for name, value in _FORCED
    )
    return headers


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": secure(message.get("headers", []))}
            await send(message)

        await self.app(scope, receive, send_with_headers)
