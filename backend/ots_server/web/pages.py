"""The web pages, rendered once per language when the app is built.

A page is a template with ``{{key}}`` slots filled from one message catalogue per language
(``i18n/<lang>.json``), ``{{asset:NAME}}`` / ``{{sri:NAME}}`` from :class:`Assets`, and a JSON
data block the page's script reads (its messages and asset paths). ``{{include:parts/NAME}}``
on a line of its own is replaced by that template part first (markup two pages share). Every
value is HTML-escaped; the JSON block also escapes ``<``, so no value can end the ``<script>``
element.

Invariants:
- A page's bytes depend only on the language: never on the id, the query beyond ``lang``, a
  header other than Accept-Language, or any state. ``GET /s/{id}`` is no oracle.
- Responses say ``Content-Language`` and ``Vary: Accept-Language``; the HTML is ``no-store``
  (the security headers force it) while its assets are immutable.
- Asset paths are relative to the page (``../assets/…`` from ``/s/{id}``, ``assets/…`` from
  ``/`` and ``/receipt``: the page's ``root``), so a server behind a path prefix works
  unchanged.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response

from ots_server.web.assets import Assets

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
#: The page's policy, exactly as the reveal page issue states it.
PAGE_CSP = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; "
    "connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_SLOT = re.compile(r"\{\{(\w+)(?::([\w.-]+))?\}\}")
_INCLUDE = re.compile(r"^\{\{include:(parts/[\w.-]+)\}\}\n", re.MULTILINE)


def template_source(template: str) -> str:
    """A template's text with its parts included (one level: parts include nothing)."""
    templates = resources.files("ots_server.web").joinpath("templates")

    def include(match: re.Match[str]) -> str:
        return templates.joinpath(match.group(1)).read_text()

    return _INCLUDE.sub(include, templates.joinpath(template).read_text())


def _uses(code: str, key: str) -> bool:
    """Whether a page script refers to message ``key`` (``M.key`` or ``"key"``)."""
    return re.search(rf'\bM\.{key}\b|"{key}"', code) is not None


_QUALITY = re.compile(r"^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$")


def load_catalogue(language: str) -> dict[str, str]:
    text = resources.files("ots_server.web").joinpath(f"i18n/{language}.json").read_text("utf-8")
    catalogue: dict[str, str] = json.loads(text)
    return catalogue


def negotiate(accept_language: str | None) -> str:
    """The best of :data:`LANGUAGES` for an Accept-Language header (RFC 9110 §12.5.4)."""
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for position, item in enumerate((accept_language or "").split(",")[:32]):
        tag, _, params = item.partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = 1.0
        if params:
            match = _QUALITY.match(params)
            if match is None:
                continue
            q = float(match.group(1))
        # Earlier entries win ties, as browsers list them in order of preference.
        if primary in LANGUAGES and q > best_q and q > 0:
            best, best_q = primary, q
        elif primary == "*" and q > best_q and position == 0:
            best, best_q = DEFAULT_LANGUAGE, q
    return best


class Page:
    """One template, rendered for every language at build time.

    ``scripts``: the page's own scripts whose messages it needs (``None``: a page without
    script, which gets no data block messages). ``root``: the path from the page to the
    server's root (``"../"`` from ``/s/{id}``, ``""`` from ``/``). ``aliases``: template slots
    filled from another catalogue key (one template, several variants).
    """

    def __init__(
        self,
        template: str,
        scripts: str | tuple[str, ...] | None,
        assets: Assets,
        data: dict[str, object],
        *,
        root: str = "../",
        aliases: dict[str, str] | None = None,
    ) -> None:
        web = resources.files("ots_server.web")
        source = template_source(template)
        names = (scripts,) if isinstance(scripts, str) else scripts or ()
        code = "\n".join(web.joinpath(f"static/{name}").read_text() for name in names)
        self.rendered: dict[str, bytes] = {}
        for language in LANGUAGES:
            messages = load_catalogue(language)
            messages |= {slot: messages[key] for slot, key in (aliases or {}).items()}
            # The catalogue is shared by every page: a page's data block carries the messages
            # its scripts name (``M.key`` or ``"key"``); the others are in the HTML already.
            wanted = {k: v for k, v in messages.items() if _uses(code, k)}
            page_data = {**data, "lang": language, "messages": wanted}
            self.rendered[language] = self._render(
                source, language, messages, assets, page_data, root
            )

    @staticmethod
    def _render(
        source: str,
        language: str,
        messages: dict[str, str],
        assets: Assets,
        data: dict[str, object],
        root: str,
    ) -> bytes:
        links = "".join(
            f'<li><a href="?lang={code}" hreflang="{code}" lang="{code}" data-lang="{code}"'
            + (' aria-current="true"' if code == language else "")
            + f">{html.escape(load_catalogue(code)['lang_name'])}</a></li>"
            for code in LANGUAGES
        )
        page_json = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        specials = {
            "lang": language,
            "lang_links": links,
            "page_json": page_json.replace("<", "\\u003c").replace("&", "\\u0026"),
        }

        def fill(match: re.Match[str]) -> str:
            kind, name = match.group(1), match.group(2)
            if kind == "asset" and name:
                return html.escape(root + assets.url(name).lstrip("/"))
            if kind == "sri" and name:
                return html.escape(assets.integrity(name))
            if kind in specials:
                return specials[kind]
            return html.escape(messages[kind])

        return _SLOT.sub(fill, source).encode()

    def response(self, request: Request) -> Response:
        requested = request.query_params.get("lang")
        if requested in LANGUAGES:
            language = requested
        else:
            language = negotiate(request.headers.get("accept-language"))
        return Response(
            self.rendered[language],
            media_type="text/html; charset=utf-8",
            headers={
                "Content-Security-Policy": PAGE_CSP,
                "Content-Language": language,
                "Vary": "Accept-Language",
            },
        )
