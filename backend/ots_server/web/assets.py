"""The web pages' static files: own JavaScript and CSS, the vendored libsodium.js and the
QR code library.

Every file is read once when the app is built and served from memory under
``/assets/<version>/<name>``, where ``<version>`` is a digest of all the files together: a
page names exactly the bytes it was rendered with, so each asset can be cached as immutable
(a year) while the HTML stays ``no-store``. Each asset also has its Subresource Integrity value
(SHA-384) for the ``integrity`` attribute of the ``<script>`` or ``<link>`` that loads it, and
a gzip'd copy made once, sent to clients that accept it.

Invariants:
- Only the files listed here are served; any other name or an old version is the server's
  one 404, byte for byte.
- The vendored files are served unchanged; ``tests/web/test_vendor.py`` checks them against
  ``vendor/vendor.json``, which ``backend/maintenance/refresh_vendor.py`` writes.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from dataclasses import dataclass
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response

from ots_server.errors import not_found

#: Asset name -> path inside the package ``ots_server.web``.
FILES: dict[str, str] = {
    "libsodium-sumo.js": "vendor/libsodium-sumo-0.8.4/libsodium-sumo.js",
    "libsodium-wrappers.js": "vendor/libsodium-wrappers-sumo-0.8.4/libsodium-wrappers.js",
    "qrcode.js": "vendor/qrcode-generator-2.0.4/qrcode.js",
    "ots-format.js": "static/ots-format.js",
    "ots-writer.js": "static/ots-writer.js",
    "ots-upload.js": "static/ots-upload.js",
    "ots-ui.js": "static/ots-ui.js",
    "ots-secret-form.js": "static/ots-secret-form.js",
    "create.js": "static/create.js",
    "ots-request.js": "static/ots-request.js",
    "respond.js": "static/respond.js",
    "receipt.js": "static/receipt.js",
    "ots-links.js": "static/ots-links.js",
    "reveal.js": "static/reveal.js",
    "argon2-worker.js": "static/argon2-worker.js",
    "download-sw.js": "static/download-sw.js",
    "ots.css": "static/ots.css",
    "forms.css": "static/forms.css",
    "icon.svg": "static/icon.svg",
}
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    integrity: str


class Assets:
    """The page assets of one app, loaded at build time."""

    def __init__(self) -> None:
        package = resources.files("ots_server.web")
        self.files: dict[str, Asset] = {}
        digest = hashlib.sha256()
        for name, path in FILES.items():
            body = package.joinpath(path).read_bytes()
            sha384 = base64.b64encode(hashlib.sha384(body).digest()).decode()
            suffix = name[name.rfind(".") :]
            # Compressed once here (libsodium.js: 1.2 MB, 0.39 MB gzip'd), never per request.
            gzipped = gzip.compress(body, 9, mtime=0)
            self.files[name] = Asset(body, gzipped, _TYPES[suffix], f"sha384-{sha384}")
            digest.update(name.encode() + b"\0" + hashlib.sha256(body).digest())
        self.version = digest.hexdigest()[:16]

    def url(self, name: str) -> str:
        """The versioned path of an asset, for a page."""
        if name not in self.files:
            raise KeyError(name)
        return f"/assets/{self.version}/{name}"

    def integrity(self, name: str) -> str:
        return self.files[name].integrity

    async def serve(self, request: Request) -> Response:
        asset = self.files.get(request.path_params["name"])
        if asset is None or request.path_params["version"] != self.version:
            return not_found()
        headers = {"Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding"}
        body = asset.body
        if _accepts_gzip(request.headers.get("accept-encoding", "")):
            body = asset.gzipped
            headers["Content-Encoding"] = "gzip"
        return Response(body, media_type=asset.media_type, headers=headers)


def _accepts_gzip(accept_encoding: str) -> bool:
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() == "gzip":
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False
