"""CI workload identity: secrets bound to a GitHub Actions or GitLab CI identity.

A secret created with a ``binding`` (docs/API.md, docs/FORMAT.md "Binding") is released only
to a reveal that presents an OIDC ID token from that pipeline, verified here against the
issuer's published keys with PyJWT:

- :mod:`.binding`: the canonical binding text and the claims it pins;
- :mod:`.issuers`: ``OTS_OIDC_ISSUERS``, the trusted issuer of each platform and its pinned
  algorithms;
- :mod:`.jwks`: the cached, rate-limited, timed-out key set fetches;
- :mod:`.verify`: the checks a token passes, and the two ways it fails (rejected: 403;
  issuer unreachable: 503).

The store enforces the binding atomically (``Store.reveal(..., binding=...)``): the app passes
the binding it verified a token against, and a bound secret revealed without it changes
nothing. The binding is also inside the ciphertext's associated data (it is part of the
header), so a server that drops it is detected by the reader.
"""

from __future__ import annotations

from ots_server.oidc.binding import MAX_BINDING_BYTES, Binding, parse_binding
from ots_server.oidc.issuers import DEFAULT_ISSUERS, Issuer, parse_issuers
from ots_server.oidc.verify import OidcUnavailable, TokenRejected, Verifier

__all__ = [
    "DEFAULT_ISSUERS",
    "MAX_BINDING_BYTES",
    "Binding",
    "Issuer",
    "OidcUnavailable",
    "TokenRejected",
    "Verifier",
    "parse_binding",
    "parse_issuers",
]
