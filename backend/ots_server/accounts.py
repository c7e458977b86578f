"""What an account is made of, as pure functions: its email address, its tokens, their names.

- Email: exactly one ``@``; the local part is kept as given (after trimming the whole address
  of surrounding white space), 1..64 characters, no white space, control characters or any of
  ``"(),:;<>[\\]``, no leading, trailing or doubled dot; the domain is turned into its IDNA
  (ASCII) form and lower-cased, has at least two labels of 1..63 letters, digits and inner
  hyphens and a top-level label that is not all digits; the whole address is at most 254
  characters. Uniqueness is decided on the *email key*, the normalised address case-folded
  (``Alice@example.org`` and ``alice@EXAMPLE.org`` are one account).
- Token: ``ots_`` followed by the canonical unpadded base64url of 32 random bytes (47
  characters). The store keeps ``sha256`` of the token's ASCII text, never the token.
  :func:`token_hash` accepts only that exact shape (non-canonical base64 is refused, not fixed).
- Token name: 1..64 of ``A-Z a-z 0-9 . _ -``, unique within its account.
- Days: a last-used day is a Unix day number (``now // 86400``), shown as ``YYYY-MM-DD`` (UTC).

Nothing here logs or raises with a token in the message; email errors never echo the address
(the operator command that calls it prints what it was given itself).
"""

from __future__ import annotations

import datetime
import hashlib
import re
import secrets

from ots_server import codec
from ots_server.store.rules import DAY_SECONDS, day

__all__ = [
    "DAY_SECONDS",
    "DEFAULT_TOKEN_NAME",
    "InvalidEmail",
    "day",
    "day_text",
    "hash_token",
    "new_token",
    "normalise_email",
    "token_hash",
    "valid_token_name",
]

TOKEN_PREFIX = "ots_"  # noqa: S105 (the shape of a token, not one)
TOKEN_BYTES = 32
MAX_EMAIL = 254
MAX_LOCAL = 64
DEFAULT_TOKEN_NAME = "default"  # noqa: S105 (a name)

_TOKEN_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_LOCAL_FORBIDDEN = frozenset('"(),:;<>[\\]@')


class InvalidEmail(ValueError):
    """The text is not an email address this server accepts; the message says why."""


def new_token() -> tuple[str, bytes]:
    """A fresh token (shown once) and the hash the store keeps."""
    token = TOKEN_PREFIX + codec.b64encode(secrets.token_bytes(TOKEN_BYTES))
    return token, hash_token(token)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii")).digest()


def token_hash(text: str) -> bytes | None:
    """The hash of ``text`` if it is exactly a token's shape, else ``None``."""
    if not text.startswith(TOKEN_PREFIX) or not text.isascii():
        return None
    if codec.b64decode(text[len(TOKEN_PREFIX) :], TOKEN_BYTES) is None:
        return None
    return hash_token(text)


def valid_token_name(name: str) -> bool:
    return _TOKEN_NAME.fullmatch(name) is not None


def _local_part(local: str) -> str:
    if not 1 <= len(local) <= MAX_LOCAL:
        raise InvalidEmail(f"the part before @ must have 1 to {MAX_LOCAL} characters")
    if any(c.isspace() or not c.isprintable() or c in _LOCAL_FORBIDDEN for c in local):
        raise InvalidEmail(
            'the part before @ has white space, a control character or one of "(),:;<>[\\]'
        )
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidEmail("the part before @ starts or ends with a dot, or has two in a row")
    return local


def _domain(domain: str) -> str:
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise InvalidEmail("the domain is not a valid host name") from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidEmail("the domain must be a host name with a dot (example.org)")
    if labels[-1].isdigit():
        raise InvalidEmail("the domain must be a host name, not an address")
    return ascii_domain


def normalise_email(text: str) -> tuple[str, str]:
    """``(email, email_key)``: the address to store and the key that makes it unique."""
    address = text.strip()
    if address.count("@") != 1:
        raise InvalidEmail("expected exactly one @")
    local, domain = address.split("@")
    email = f"{_local_part(local)}@{_domain(domain)}"
    if len(email) > MAX_EMAIL:
        raise InvalidEmail(f"the address is longer than {MAX_EMAIL} characters")
    return email, email.casefold()


def day_text(day_number: int) -> str:
    """``YYYY-MM-DD`` (UTC) of a Unix day number."""
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=day_number)).isoformat()
