"""What the ots API answers, as typed values and errors: pure, no HTTP library involved.

:mod:`ots_cli.api.client` sends the requests; this module turns a JSON answer into a typed
record (NamedTuples: a tenth of the import cost of frozen dataclasses), and a failure status
with its JSON body into the one
:class:`~ots_cli.errors.OtsError` it means (docs/API.md, "Errors").

Invariants:

- A field of the wrong type, or missing, is a :class:`~ots_cli.errors.ProtocolError`; nothing
  is guessed or defaulted.
- Error messages name the server's host and never quote a proof, token, id or key. A server's
  own ``detail`` text is never shown (it is untrusted, and the codes say enough).
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from ots_cli.api.binding_answers import BINDING_CODES, binding_error
from ots_cli.core.durations import format_duration
from ots_cli.errors import (
    AuthError,
    NotFound,
    OtsError,
    PassphraseRequired,
    PolicyRefused,
    ProtocolError,
    SecretExpired,
    SecretGone,
    Unavailable,
    WrongPassphrase,
)

__all__ = [
    "RECEIPT_STATES",
    "Account",
    "AccountLimits",
    "AccountToken",
    "Burned",
    "Created",
    "Limits",
    "Peeked",
    "ReceiptStatus",
    "Revealed",
    "auth_error",
    "error_for",
    "field_bool",
    "field_int",
    "field_optional_int",
    "field_str",
    "out_of_range",
    "parse_account",
    "parse_receipt_status",
    "too_large",
]


class Limits(NamedTuple):
    ttl_min: int
    ttl_max: int
    ttl_default: int
    max_bytes: int
    max_views: int
    max_attempts: int
    default_attempts: int
    #: Only account holders may create secrets (false from servers that predate accounts).
    require_account: bool = False
    #: The operator's ``OTS_PUBLIC_URL``: the base URL links should use, or None.
    public_url: str | None = None


class Created(NamedTuple):
    id: str
    receipt: str
    created_at: int
    expires_at: int
    views: int
    attempts: int | None


class Peeked(NamedTuple):
    id: str
    header: bytes
    size: int
    created_at: int
    expires_at: int
    views_left: int
    passphrase: bool
    attempts_left: int | None
    #: The CI identity the secret is bound to (canonical text), or ``None``.
    binding: str | None = None


class Revealed(NamedTuple):
    blob: bytes
    views_left: int | None


class Burned(NamedTuple):
    id: str
    state: str
    at: int


class ReceiptStatus(NamedTuple):
    id: str
    state: str
    created_at: int
    expires_at: int
    views: int
    views_left: int
    read_at: int | None
    burned_at: int | None


RECEIPT_STATES = ("pending", "read", "burned", "expired")


class AccountLimits(NamedTuple):
    ttl_max: int
    max_bytes: int
    max_views: int
    rate_limit_per_minute: int


class AccountToken(NamedTuple):
    name: str
    created_at: int
    last_used: str | None


class Account(NamedTuple):
    email: str
    created_at: int
    limits: AccountLimits
    tokens: list[AccountToken]


def parse_account(data: dict[str, Any]) -> Account:
    """``GET /api/v1/account``: the email, limits and token names (never a token)."""
    limits = data.get("limits")
    tokens = data.get("tokens")
    if not isinstance(limits, dict) or not isinstance(tokens, list):
        raise ProtocolError("the server's account answer lacks its limits or tokens")
    parsed = []
    for token in tokens:
        if not isinstance(token, dict):
            raise ProtocolError("the server's account answer has a malformed token entry")
        last_used = token.get("last_used")
        if last_used is not None and not isinstance(last_used, str):
            raise ProtocolError("the server's answer lacks a valid 'last_used'")
        parsed.append(
            AccountToken(field_str(token, "name"), field_int(token, "created_at"), last_used)
        )
    return Account(
        email=field_str(data, "email"),
        created_at=field_int(data, "created_at"),
        limits=AccountLimits(**{name: field_int(limits, name) for name in AccountLimits._fields}),
        tokens=parsed,
    )


def parse_receipt_status(data: object) -> ReceiptStatus:
    """One receipt's state, as ``/receipts/status`` and ``/account/receipts`` answer it."""
    if not isinstance(data, dict):
        raise ProtocolError("the server's receipt answer is not a JSON object")
    state = field_str(data, "state")
    if state not in RECEIPT_STATES:
        raise ProtocolError(f"the server reported an unknown receipt state {state!r}")
    return ReceiptStatus(
        id=field_str(data, "id"),
        state=state,
        created_at=field_int(data, "created_at"),
        expires_at=field_int(data, "expires_at"),
        views=field_int(data, "views"),
        views_left=field_int(data, "views_left"),
        read_at=field_optional_int(data, "read_at"),
        burned_at=field_optional_int(data, "burned_at"),
    )


def error_for(
    status: int,
    body: bytes,
    *,
    host: str,
    subject: str = "secret",
    ttl: int | None = None,
    retry_after: str | None = None,
    token_source: str | None = None,
    server: str | None = None,
) -> OtsError:
    """The error for a non-2xx, non-3xx answer; ``subject`` is "secret", "receipt" or
    "account"; ``token_source`` says where the token sent with the request came from, and
    ``server`` is the base URL the hints name (``host`` when not given)."""
    try:
        data = json.loads(body)
        code = data.get("error") if isinstance(data, dict) else None
    except ValueError:
        code = None
    if not isinstance(code, str):
        if status in (502, 503, 504):
            return Unavailable(
                f"the server {host} is unavailable (HTTP {status})",
                hints=("try again later",),
            )
        return ProtocolError(
            f"unexpected answer from {host} (HTTP {status}, not the ots API)",
            hints=("check that the server address points to an ots server",),
        )
    assert isinstance(data, dict)
    if status == 401 and code in ("unauthorized", "account_required"):
        return auth_error(code, host, server or host, token_source)
    if code == "not_found" and status == 404:
        if subject == "account":
            return ProtocolError(
                f"the server {host} does not support accounts",
                hints=("it may run an older version of ots",),
            )
        if subject == "receipt":
            return NotFound(
                "the server does not know this receipt",
                hints=("receipts are purged a while after the secret expires",),
            )
        return NotFound(
            "no such secret, or the link's key does not match",
            hints=(
                "check that the link was copied whole: the key after '#' may be cut off "
                "or mistyped",
            ),
        )
    if code == "gone" and status == 410:
        state, at = data.get("state"), _lenient_int(data, "at")
        if state == "expired":
            return SecretExpired("the secret expired before it was read", at=at)
        if state == "burned":
            return SecretGone(
                "the secret was burned",
                state="burned",
                at=at,
                hints=("the sender destroyed it, or too many wrong passphrases were tried",),
            )
        if state == "consumed":
            return SecretGone(
                "the secret was already read: someone else may have seen it",
                state="consumed",
                at=at,
                hints=("if you did not read it yourself, tell the sender now",),
            )
        return ProtocolError("the server reported an unknown secret state")
    if code == "passphrase_required":
        return PassphraseRequired("this secret needs a passphrase")
    if code == "wrong_passphrase":
        left = _lenient_int(data, "attempts_left") or 0
        if data.get("burned") is True:
            return WrongPassphrase(
                "wrong passphrase; that was the last attempt and the secret is now burned",
                attempts_left=0,
                burned=True,
            )
        return WrongPassphrase(
            f"wrong passphrase; {left} attempt{'s' if left != 1 else ''} left before the "
            "secret is burned",
            attempts_left=left,
        )
    if code == "too_large":
        return too_large(_lenient_int(data, "max_bytes"), account=token_source is not None)
    if code in ("invalid_ttl", "invalid_views", "invalid_attempts"):
        low, high = _lenient_int(data, "min"), _lenient_int(data, "max")
        return out_of_range(code, low, high, ttl)
    if code == "rate_limited":
        retry = _lenient_int(data, "retry_after") or _digits(retry_after)
        return PolicyRefused(
            "the server is rate limiting this client",
            reason="rate_limited",
            retry_after=retry,
            hints=(f"try again in {retry} second{'' if retry == 1 else 's'}",) if retry else (),
        )
    if code in BINDING_CODES:
        return binding_error(code, data)
    if status in (401, 403):
        return AuthError(
            f"the server refused this request without an account ({code})",
            hints=("this server may allow only account holders to create secrets",),
        )
    if code in ("unavailable", "timeout") or status == 408 or status >= 500:
        return Unavailable(
            f"the server {host} is unavailable (HTTP {status})",
            hints=("try again later",),
        )
    return ProtocolError(
        f"the server refused the request ({code}, HTTP {status})",
        hints=("the server may run a version of ots that this client does not support",),
    )


def auth_error(code: str, host: str, server: str, source: str | None) -> AuthError:
    """401: no account where one is needed, or a token the server does not accept."""
    login = f"log in with a token from the server's operator: ots login --server {server}"
    if code == "account_required":
        return AuthError(
            "this server only lets account holders create secrets",
            hints=(login, "in CI, give the token in OTS_TOKEN or with --token-file PATH"),
        )
    if source is None:
        return AuthError(f"the server {host} wants an account token for this", hints=(login,))
    if source in ("keyring", "insecure file"):
        where = "the keyring" if source == "keyring" else "the insecure token file"
        return AuthError(
            f"the server {host} rejected the token from {where} (unknown or revoked)",
            hints=(
                f"run `ots login --server {server}` again with a valid token",
                "or `ots logout` to go on without an account",
            ),
        )
    return AuthError(
        f"the server {host} rejected the token in {source} (unknown or revoked)",
        hints=(f"{source} holds a bad or revoked token: replace it, or leave it out",),
    )


def too_large(max_bytes: int | None, *, account: bool) -> PolicyRefused:
    """The refusal of a secret above the server's size limit: the limit in human units, and
    where a larger one would come from (an account, or the operator's setting)."""
    from ots_cli.core.render import describe_bytes

    message = "the secret is too large for this server"
    if max_bytes:
        message += f" (it takes at most {describe_bytes(max_bytes)} once encrypted)"
    if account:
        hints: tuple[str, ...] = (
            "the server's operator sets your account's limit with OTS_ACCOUNT_MAX_BYTES",
        )
    else:
        hints = (
            "an account on this server may take more (OTS_ACCOUNT_MAX_BYTES): see `ots login`",
            "the server's operator sets this limit with OTS_MAX_BYTES",
        )
    return PolicyRefused(f"{message}; nothing was shared", reason="too_large", hints=hints)


def out_of_range(
    code: str, low: int | None, high: int | None, ttl: int | None = None
) -> PolicyRefused:
    """The refusal of a ttl, views or attempts value outside the server's published range."""
    if code == "invalid_ttl":
        message = "the server refused the ttl"
        if low is not None and high is not None:
            given = f" {format_duration(ttl)}" if ttl else ""
            message = (
                f"the server refused the ttl{given}: it accepts "
                f"{format_duration(low)} to {format_duration(high)}"
            )
    else:
        what = "views" if code == "invalid_views" else "attempts"
        message = f"the server refused the number of {what}"
        if low is not None and high is not None:
            message += f": it accepts {low} to {high}"
    return PolicyRefused(message, reason=code)


def field_int(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError(f"the server's answer lacks a valid {name!r}")
    return value


def field_optional_int(data: dict[str, Any], name: str) -> int | None:
    return None if data.get(name) is None else field_int(data, name)


def field_str(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str):
        raise ProtocolError(f"the server's answer lacks a valid {name!r}")
    return value


def field_bool(data: dict[str, Any], name: str) -> bool:
    value = data.get(name)
    if not isinstance(value, bool):
        raise ProtocolError(f"the server's answer lacks a valid {name!r}")
    return value


def _digits(value: str | None) -> int | None:
    if value is None or not value.isascii() or not value.isdigit():
        return None
    return int(value)


def _lenient_int(data: dict[str, Any], name: str) -> int | None:
    """An optional detail of an error answer: a wrong type is ignored, not an error."""
    value = data.get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None
