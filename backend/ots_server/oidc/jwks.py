"""The JWKS cache: each trusted issuer's public keys, fetched over HTTPS and kept for a while.

Keys are found through OpenID Connect discovery (``ISSUER/.well-known/openid-configuration``
names ``jwks_uri``), then the key set itself; both with httpx (async), a short timeout, no
redirects and a size cap.

Invariants:

- A key set is reused for :data:`MAX_AGE` seconds; after that the next lookup refreshes it.
  A token whose ``kid`` is not in the set triggers a refresh (key rotation), but at most once
  per :data:`MIN_REFRESH` seconds per issuer, so a stream of tokens with made-up ``kid`` values
  cannot make the server hammer the issuer.
- A fetch that fails (network, timeout, status, malformed JSON) is :class:`JwksUnavailable`
  when there is no usable cached set: the caller answers 503 and nothing is consumed. With a
  cached set, a failed periodic refresh keeps using it (an issuer outage does not stop reveals
  that its current keys can verify) for up to :data:`STALE_FOR` seconds.
- One fetch at a time per issuer (an ``asyncio.Lock``); concurrent lookups wait for it.
- The clock is the app's injected one, so tests can move it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

from ots_server.oidc.issuers import Issuer, check_url

#: Seconds a fetched key set is used before it is refreshed.
MAX_AGE = 3600
#: Seconds between two refreshes caused by an unknown ``kid``.
MIN_REFRESH = 30
#: Seconds a cached set stays usable while refreshes fail.
STALE_FOR = 24 * 3600
#: Timeout of each HTTP request to the issuer.
TIMEOUT = 5.0
#: Largest discovery document or key set read.
MAX_BODY = 256 * 1024


class JwksUnavailable(Exception):
    """The issuer's keys cannot be fetched (and none are cached): retry later."""


class UnknownKey(Exception):
    """The token names a key the issuer does not publish (after a refresh, if allowed)."""


class JwksCache:
    """The key sets of one issuer."""

    def __init__(
        self,
        issuer: Issuer,
        clock: Callable[[], float],
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.issuer = issuer
        self.clock = clock
        self._transport = transport
        self._keys: dict[str, dict[str, Any]] = {}
        self._fetched_at: float | None = None
        self._tried_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> dict[str, Any]:
        """The JWK with this ``kid``; :class:`UnknownKey` or :class:`JwksUnavailable`."""
        now = self.clock()
        if self._fetched_at is not None and now - self._fetched_at < MAX_AGE:
            found = self._keys.get(kid)
            if found is not None:
                return found
        async with self._lock:
            now = self.clock()
            fresh = self._fetched_at is not None and now - self._fetched_at < MAX_AGE
            if kid in self._keys and fresh:
                return self._keys[kid]
            may_refresh = self._tried_at is None or now - self._tried_at >= MIN_REFRESH
            if not fresh or may_refresh:
                self._tried_at = now
                try:
                    self._keys = await self._fetch()
                    self._fetched_at = now
                except JwksUnavailable:
                    usable = self._fetched_at is not None and now - self._fetched_at < STALE_FOR
                    if not usable:
                        raise
            found = self._keys.get(kid)
            if found is None:
                raise UnknownKey
            return found

    async def _fetch(self) -> dict[str, dict[str, Any]]:
        async with httpx.AsyncClient(
            timeout=TIMEOUT, follow_redirects=False, transport=self._transport
        ) as client:
            discovery = await _get_json(
                client, f"{self.issuer.url}/.well-known/openid-configuration"
            )
            jwks_uri = discovery.get("jwks_uri")
            if not isinstance(jwks_uri, str):
                raise JwksUnavailable("the discovery document has no jwks_uri")
            try:
                check_url(jwks_uri, "jwks_uri")
            except ValueError as exc:
                raise JwksUnavailable(str(exc)) from None
            if jwks_uri.startswith("http://") and not self.issuer.insecure:
                raise JwksUnavailable("an https issuer named an http jwks_uri")
            document = await _get_json(client, jwks_uri)
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise JwksUnavailable("the key set has no keys")
        found: dict[str, dict[str, Any]] = {}
        for jwk in keys:
            # Keys without a kid, or for another use, are never picked: a token must name one.
            usable = isinstance(jwk, dict) and isinstance(jwk.get("kid"), str)
            if usable and jwk.get("use", "sig") == "sig":
                found[jwk["kid"]] = jwk
        return found


async def _get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    try:
        async with client.stream("GET", url, headers={"Accept": "application/json"}) as answer:
            if answer.status_code != 200:
                raise JwksUnavailable(f"the issuer answered HTTP {answer.status_code}")
            body = bytearray()
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    raise JwksUnavailable("the issuer's answer is too large")
    except httpx.HTTPError as exc:
        raise JwksUnavailable(f"cannot reach the issuer ({type(exc).__name__})") from exc
    try:
        data = json.loads(body)
    except ValueError:
        raise JwksUnavailable("the issuer's answer is not JSON") from None
    if not isinstance(data, dict):
        raise JwksUnavailable("the issuer's answer is not a JSON object")
    return data
