"""The binding's place in the secret endpoints: refuse untrusted bindings at create, and turn
a reveal's ``Ots-Id-Token`` header into the verified binding the store checks.

Kept out of :mod:`ots_server.api` so the request path there changes by a few lines only:

- :meth:`BindingGate.check_create` runs on the create's meta, before the blob is read: a
  binding whose platform has no trusted issuer here, or a server without an audience
  (``OTS_OIDC_AUDIENCE`` / ``OTS_PUBLIC_URL``), is ``422 binding_refused`` (the CLI's exit 10).
- :meth:`BindingGate.check_peek`: a bound secret's peek (link proof right) needs a verified
  token too (issue 19: peek and reveal). Without one it is ``403 id_token_required`` whose
  ``binding`` names the pipeline that can read it (policy, not secret: a client learns whom to
  ask for a token, and a person whom the link is for); nothing is counted.
- :meth:`BindingGate.verified_binding` reads the header. Without it, nothing extra happens:
  the store itself refuses a bound secret (``BindingRequired``, 403 ``id_token_required``), so
  an unbound reveal costs no extra store call. With it, one read-only peek (the link check
  first: a wrong proof stays the indistinguishable 404) gives the stored binding, the token is
  verified against exactly that binding, and the store is then told which binding was proven;
  it compares again inside its atomic reveal. A rejected token is ``403 id_token_rejected``,
  an unreachable issuer ``503 oidc_unavailable`` with ``Retry-After``; neither changes
  anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from ots_server.bodies import CreateMeta
from ots_server.errors import ApiError
from ots_server.oidc.binding import parse_binding
from ots_server.oidc.verify import OidcUnavailable, TokenRejected, Verifier
from ots_server.settings import Settings
from ots_server.store import Store

#: The request header a reveal carries the CI ID token in (never the URL or the JSON body,
#: so it is never part of anything that might be logged with the path).
TOKEN_HEADER = "ots-id-token"  # noqa: S105 (a header name)
#: Seconds a client should wait after ``oidc_unavailable``.
RETRY_AFTER = 5

log = logging.getLogger("ots_server.oidc")


class BindingGate:
    def __init__(self, settings: Settings, clock: Callable[[], float]) -> None:
        self.verifier = Verifier(settings.oidc_issuers, settings.audience, clock)

    def check_create(self, meta: CreateMeta) -> None:
        """Refuse a binding this server cannot verify (422 ``binding_refused``)."""
        if meta.binding is None:
            return
        if not self.verifier.trusts(parse_binding(meta.binding)):
            raise ApiError(
                422,
                "binding_refused",
                "this server does not verify ID tokens of this binding's CI platform "
                "(untrusted issuer, or no audience configured)",
            )

    async def verified_binding(
        self, headers: Mapping[str, str], store: Store, id: bytes, check: bytes, now: int
    ) -> str | None:
        """The binding the request's ID token proves, or ``None`` when it carries no token
        (or the secret is not bound)."""
        token = headers.get(TOKEN_HEADER)
        if token is None:
            return None
        info = await store.peek(id, check, now)
        if info.binding is None:
            return None
        await self._verify(token, info.binding)
        return info.binding

    async def check_peek(self, headers: Mapping[str, str], binding: str | None) -> None:
        """Refuse the peek of a bound secret without a verified ID token for its binding."""
        if binding is None:
            return
        token = headers.get(TOKEN_HEADER)
        if token is None:
            raise ApiError(
                403,
                "id_token_required",
                "this secret is bound to a CI identity: send that pipeline's ID token in "
                "Ots-Id-Token",
                binding=binding,
            )
        await self._verify(token, binding)

    async def _verify(self, token: str, binding: str) -> None:
        """403 ``id_token_rejected`` or 503 ``oidc_unavailable`` unless ``token`` proves it."""
        try:
            await self.verifier.verify(token, parse_binding(binding))
        except TokenRejected as exc:
            raise ApiError(403, "id_token_rejected", exc.reason) from None
        except OidcUnavailable as exc:
            log.warning("the CI issuer's keys cannot be fetched: %s", exc)
            raise ApiError(
                503,
                "oidc_unavailable",
                "the CI identity provider cannot be reached to verify the ID token; "
                "nothing was consumed, retry later",
                headers={"Retry-After": str(RETRY_AFTER)},
            ) from None
