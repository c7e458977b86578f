"""The trusted OIDC issuers (``OTS_OIDC_ISSUERS``): which issuer speaks for each platform of a
binding, and with which signature algorithms.

Form: entries separated by ``;``, each ``PLATFORM=URL`` optionally followed by a space and a
comma-separated list of algorithms (default ``RS256``)::

    github=https://token.actions.githubusercontent.com;gitlab=https://gitlab.com RS256

Invariants:

- At most one issuer per platform (a binding names a platform, and the operator decides which
  issuer speaks for it). An empty value trusts no issuer: bindings are refused at create.
- An issuer URL is ``https://`` with a host, no user information, query or fragment, and no
  trailing slash (it is compared with the token's ``iss`` exactly). ``http://`` is accepted by
  the parser only for a loopback host; :mod:`ots_server.settings` refuses it unless the
  test-only ``OTS_OIDC_ALLOW_HTTP_LOOPBACK`` is true.
- Algorithms are asymmetric only: ``none`` and every ``HS*`` are refused here, so no
  configuration can let a shared-secret or unsigned token through.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

PLATFORMS = ("github", "gitlab")
#: Signature algorithms an issuer may be pinned to (PyJWT names).
ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_ISSUERS = "github=https://token.actions.githubusercontent.com;gitlab=https://gitlab.com"


@dataclass(frozen=True, slots=True)
class Issuer:
    platform: str
    url: str
    algorithms: tuple[str, ...] = ("RS256",)

    @property
    def insecure(self) -> bool:
        """True for an ``http://`` (loopback, test-only) issuer."""
        return self.url.startswith("http://")


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def check_url(url: str, what: str) -> str:
    """``url`` if it is an acceptable issuer or JWKS URL, else ``ValueError``."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{what}: expected an https:// URL")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ValueError(f"{what}: http:// is accepted only for a loopback host (tests)")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise ValueError(f"{what}: no user information, query or fragment")
    return url


def parse_issuers(text: str) -> tuple[Issuer, ...]:
    """Parse ``OTS_OIDC_ISSUERS``; ``ValueError`` with the expected form otherwise."""
    issuers: list[Issuer] = []
    for entry in text.split(";") if text else ():
        platform, sep, rest = entry.partition("=")
        if not sep or platform not in PLATFORMS:
            raise ValueError("expected PLATFORM=URL entries (github or gitlab) separated by ;")
        if any(issuer.platform == platform for issuer in issuers):
            raise ValueError(f"{platform} is named twice")
        url, space, algs = rest.partition(" ")
        check_url(url, platform)
        if url.endswith("/"):
            raise ValueError(f"{platform}: the issuer URL must not end with /")
        algorithms = tuple(algs.split(",")) if space else ("RS256",)
        for alg in algorithms:
            if alg not in ALGORITHMS:
                raise ValueError(
                    f"{platform}: algorithm {alg!r} refused (asymmetric only: "
                    f"{', '.join(sorted(ALGORITHMS))})"
                )
        issuers.append(Issuer(platform, url, algorithms))
    return tuple(issuers)


def format_issuers(issuers: tuple[Issuer, ...]) -> str:
    return ";".join(
        f"{i.platform}={i.url}"
        + ("" if i.algorithms == ("RS256",) else f" {','.join(i.algorithms)}")
        for i in issuers
    )
