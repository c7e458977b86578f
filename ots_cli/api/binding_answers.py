"""The API's answers about bound secrets (docs/API.md, "Bindings") as ots errors.

- ``422 binding_refused`` (create): :class:`PolicyRefused`, exit 10, nothing shared.
- ``403 id_token_required`` (peek or reveal): :class:`IdTokenRequired`, exit 4, nothing
  consumed, with the ``binding`` the answer names when it is a canonical one (anything else
  is dropped: it is only ever shown, never trusted);
- ``403 id_token_rejected`` (peek or reveal): :class:`AuthError`, exit 4, nothing consumed;
  the server's ``detail`` names the failed check and is shown only if it is printable text (it
  never holds the token: the server echoes no values).
- ``503 oidc_unavailable`` (peek or reveal): :class:`Unavailable`, exit 9, nothing consumed.
"""

from __future__ import annotations

from typing import Any

from ots_cli.core.binding import parse_binding
from ots_cli.errors import AuthError, IdTokenRequired, OtsError, PolicyRefused, Unavailable

__all__ = ["BINDING_CODES", "binding_error"]

BINDING_CODES = frozenset(
    {"binding_refused", "id_token_required", "id_token_rejected", "oidc_unavailable"}
)


def binding_error(code: str, data: dict[str, Any]) -> OtsError:
    """The error for one of :data:`BINDING_CODES`."""
    if code == "binding_refused":
        return PolicyRefused(
            "the server does not accept secrets bound to this CI identity",
            reason="binding_refused",
            hints=(
                "its operator trusts no issuer for this platform (OTS_OIDC_ISSUERS), or set no "
                "audience (OTS_PUBLIC_URL or OTS_OIDC_AUDIENCE); nothing was shared",
            ),
        )
    if code == "id_token_required":
        return IdTokenRequired(
            "this secret is bound to a CI identity and the server got no ID token for it",
            binding=_binding(data.get("binding")),
            hints=("nothing was consumed",),
        )
    if code == "id_token_rejected":
        detail = data.get("detail")
        why = detail if isinstance(detail, str) and detail.isprintable() else "rejected"
        return AuthError(
            f"the server rejected this job's ID token: {why[:200]}",
            hints=(
                "nothing was consumed; the secret can only be read by the pipeline it is bound "
                "to (repository, ref and environment must match exactly)",
            ),
        )
    return Unavailable(
        "the server cannot reach the CI identity provider to check the ID token",
        hints=("nothing was consumed; try again later",),
    )


def _binding(value: object) -> str | None:
    """The answer's ``binding`` if it is a canonical binding, else ``None``."""
    if not isinstance(value, str):
        return None
    try:
        return parse_binding(value)
    except ValueError:
        return None
