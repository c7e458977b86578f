"""The CI ID token a bound secret needs (docs/ci.md): where a job finds its own.

A secret shared with ``--for`` is released only to a reveal carrying an OIDC ID token of that
pipeline, for this server (the audience). :func:`id_token` finds it, in this order:

1. ``--id-token-env NAME``: the variable ``NAME`` (it must be set and non-empty);
2. ``OTS_ID_TOKEN``: GitLab CI puts an ID token there with ``id_tokens: OTS_ID_TOKEN:
   aud: <server URL>``; any CI can;
3. GitHub Actions (``GITHUB_ACTIONS=true``): asked from the runner at
   ``ACTIONS_ID_TOKEN_REQUEST_URL`` with ``ACTIONS_ID_TOKEN_REQUEST_TOKEN`` and
   ``audience=<server URL>``; the two variables exist only with ``permissions: id-token:
   write``, so their absence is explained as exactly that.

Anything else is :class:`AuthError` (exit 4) saying which pipeline can read the link; nothing
is consumed, because this runs before the reveal.

Invariants:

- The audience is always the server URL this client talks to, never a value the server
  sends: a hostile server must not obtain a token minted for another service (a cloud
  provider's role federation, say).
- A token is never printed, logged or put in an error message; errors name variables only.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import httpx

from ots_cli.errors import AuthError, Unavailable

__all__ = ["DEFAULT_VARIABLE", "id_token"]

#: The variable a job puts its ID token in (GitLab CI: ``id_tokens:``).
DEFAULT_VARIABLE = "OTS_ID_TOKEN"
#: Seconds to wait for the Actions runner's token service.
TIMEOUT = 15.0
#: Largest token accepted (GitHub's and GitLab's are about 1-2 KiB).
MAX_TOKEN = 16 * 1024


def id_token(
    env: Mapping[str, str],
    *,
    audience: str,
    who: str,
    variable: str | None = None,
    http: httpx.Client | None = None,
) -> str:
    """The ID token for a bound secret readable by ``who`` (a description of the binding)."""
    if variable is not None:
        value = env.get(variable, "")
        if not value:
            raise AuthError(
                f"--id-token-env {variable}: the variable is not set or empty; "
                "nothing was consumed",
                hints=(f"this secret can only be read by {who}",),
            )
        return _checked(value, variable)
    if env.get(DEFAULT_VARIABLE):
        return _checked(env[DEFAULT_VARIABLE], DEFAULT_VARIABLE)
    if env.get("GITHUB_ACTIONS") == "true":
        return _from_actions_runner(env, audience, who, http)
    raise AuthError(
        f"this secret can only be read by {who}; nothing was consumed",
        hints=(
            "run `ots get` in that pipeline: GitHub Actions with `permissions: id-token: "
            f"write`, or GitLab CI with `id_tokens: {DEFAULT_VARIABLE}: aud: {audience}`",
        ),
    )


def _checked(value: str, source: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_TOKEN or not value.isascii() or value.count(".") != 2:
        raise AuthError(f"{source} does not hold an ID token (a JWT); nothing was consumed")
    return value


def _from_actions_runner(
    env: Mapping[str, str], audience: str, who: str, http: httpx.Client | None
) -> str:
    url = env.get("ACTIONS_ID_TOKEN_REQUEST_URL", "")
    bearer = env.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "")
    if not url or not bearer:
        raise AuthError(
            "this GitHub Actions job cannot get an ID token: "
            "ACTIONS_ID_TOKEN_REQUEST_URL is not set; nothing was consumed",
            hints=(
                "give the job `permissions: id-token: write` (docs/ci.md)",
                f"this secret can only be read by {who}",
            ),
        )
    separator = "&" if "?" in url else "?"
    target = f"{url}{separator}audience={quote(audience, safe='')}"
    client = http or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    try:
        answer = client.get(
            target, headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"}
        )
        if answer.status_code != 200:
            raise AuthError(
                f"the Actions runner refused an ID token (HTTP {answer.status_code}); "
                "nothing was consumed",
                hints=("check the job's `permissions: id-token: write`",),
            )
        data = answer.json()
    except httpx.HTTPError as exc:
        raise Unavailable(
            "cannot reach the Actions runner's ID token service; nothing was consumed"
        ) from exc
    except ValueError as exc:
        raise Unavailable("the Actions runner's ID token answer is not JSON") from exc
    finally:
        if http is None:
            client.close()
    value = data.get("value") if isinstance(data, dict) else None
    if not isinstance(value, str):
        raise Unavailable("the Actions runner's answer holds no ID token")
    return _checked(value, "the Actions runner's answer")
