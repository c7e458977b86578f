"""Verifying a CI ID token against a secret's binding.

:class:`Verifier` holds the trusted issuers (``OTS_OIDC_ISSUERS``), the audience and one
:class:`~ots_server.oidc.jwks.JwksCache` per issuer. ``verify(token, binding)`` returns only
when every check below passes; otherwise it raises :class:`TokenRejected` (403, nothing
consumed) or :class:`OidcUnavailable` (503, retryable, nothing consumed).

Checks, in order (each failure names the check, never the token or a claim's value):

1. The binding's platform has a trusted issuer; the token is at most 16 KiB of ASCII.
2. The token's header names an algorithm the issuer is pinned to (``none`` and ``HS*`` can
   never be configured: :mod:`ots_server.oidc.issuers`) and a ``kid`` the issuer publishes
   (an unknown one refreshes the key set, rate-limited). The JWK's own ``alg``, if any, must
   agree, and its key type must fit the algorithm (PyJWT refuses an RSA key for ES256).
3. The signature (PyJWT), then ``iss`` equal to the issuer URL, ``aud`` containing the
   audience, ``exp`` and ``iat`` present, ``exp``/``nbf``/``iat`` within :data:`LEEWAY`.
4. Each claim the binding pins (:meth:`~ots_server.oidc.binding.Binding.claims`) is a string
   equal, byte for byte, to the binding's value (compared in constant time); a workflow pin
   is GitHub's ``job_workflow_ref``, completed with the token's ``ref`` when the binding names
   no ref.

Tokens are never logged, stored or echoed; only the outcome is.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from ots_server.oidc.binding import Binding
from ots_server.oidc.issuers import Issuer
from ots_server.oidc.jwks import JwksCache, JwksUnavailable, UnknownKey

#: Seconds of clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
LEEWAY = 60
#: Longest token accepted (GitHub's and GitLab's are about 1-2 KiB).
MAX_TOKEN_BYTES = 16 * 1024


class TokenRejected(Exception):
    """The ID token does not prove the binding; ``reason`` is fixed text for the answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OidcUnavailable(Exception):
    """The issuer's keys cannot be fetched now: retry later."""


class Verifier:
    def __init__(
        self,
        issuers: tuple[Issuer, ...],
        audience: str | None,
        clock: Callable[[], float],
        transport: httpx.AsyncBaseTransport | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuers = {issuer.platform: issuer for issuer in issuers}
        self.audience = audience
        self._wall_clock = wall_clock
        self._caches = {issuer.platform: JwksCache(issuer, clock, transport) for issuer in issuers}

    def trusts(self, binding: Binding) -> bool:
        """True when a secret with this binding can be verified here (issuer and audience)."""
        return binding.platform in self.issuers and self.audience is not None

    async def verify(self, token: str, binding: Binding) -> None:
        issuer = self.issuers.get(binding.platform)
        if issuer is None or self.audience is None:
            raise TokenRejected("this server no longer trusts the issuer of the binding")
        if len(token) > MAX_TOKEN_BYTES or not token.isascii():
            raise TokenRejected("the ID token is malformed")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("the ID token is malformed") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in issuer.algorithms:
            raise TokenRejected("the ID token's algorithm is not accepted for its issuer")
        if not isinstance(kid, str):
            raise TokenRejected("the ID token names no signing key")
        try:
            jwk = await self._caches[issuer.platform].key(kid)
        except UnknownKey:
            raise TokenRejected(
                "the ID token is signed with a key its issuer does not publish"
            ) from None
        except JwksUnavailable as exc:
            raise OidcUnavailable(str(exc)) from exc
        claims = self._decode(token, jwk, alg, issuer)
        ref_claim = claims.get("ref")
        ref = ref_claim if isinstance(ref_claim, str) and ref_claim else None
        if ref is None and binding.needs_ref():
            raise TokenRejected("the ID token has no 'ref' claim, which the workflow pin needs")
        pinned = binding.claims(ref)
        for name, wanted in pinned.items():
            got = claims.get(name)
            if not isinstance(got, str) or not hmac.compare_digest(
                got.encode("utf-8"), wanted.encode("ascii")
            ):
                raise TokenRejected(f"the ID token's claim '{name}' does not match the binding")

    def _decode(self, token: str, jwk: dict[str, Any], alg: str, issuer: Issuer) -> dict[str, Any]:
        if jwk.get("alg", alg) != alg:
            raise TokenRejected("the ID token's algorithm does not match its key")
        try:
            key = jwt.PyJWK(jwk, algorithm=alg)
        except jwt.PyJWTError:
            raise TokenRejected("the ID token's algorithm does not match its key") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self.audience,
                issuer=issuer.url,
                leeway=LEEWAY,
                options={"require": ["exp", "iat", "iss", "aud"], "verify_signature": True},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("the ID token has expired") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("the ID token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("the ID token is for another audience") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("the ID token is from another issuer") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("the ID token's signature does not verify") from None
        except jwt.PyJWTError:
            raise TokenRejected("the ID token is malformed or lacks a required claim") from None
        iat = claims.get("iat")
        if not isinstance(iat, int | float) or iat > self._wall_clock() + LEEWAY:
            raise TokenRejected("the ID token is not valid yet")
        return claims
