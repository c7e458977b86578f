"""The table of ``OTS_*`` variables: each one's settings field, form, default, meaning and
parser, the single source that :class:`ots_server.settings.Settings` parses, ``ots-server
--help`` prints and the README's settings table and docs/server.md are checked against.

:func:`unknown_variables` warns about ``OTS_*`` names that are neither settings nor the CLI's
(:data:`CLIENT_VARIABLES`), naming the closest setting; it derives the known names from
:data:`VARIABLES` and never reads a value. :func:`shown` renders a value in its variable's
units for error messages. Nothing here reads the environment but the names given to it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ots_server.oidc.issuers import DEFAULT_ISSUERS, parse_issuers
from ots_server.parsers import (
    format_duration,
    format_size,
    parse_bool,
    parse_duration,
    parse_int,
    parse_log_level,
    parse_networks,
    parse_path,
    parse_positive_duration,
    parse_positive_size,
    parse_public_url,
    parse_secret_key,
    parse_size,
    parse_store_url,
)


def parse_audience(text: str) -> str:
    """An audience: 1..255 printable ASCII characters without spaces."""
    if not 1 <= len(text) <= 255 or not all("!" <= c <= "~" for c in text):
        raise ValueError("expected 1..255 printable ASCII characters without spaces")
    return text


@dataclass(frozen=True)
class Variable:
    """One ``OTS_*`` variable: its settings field, expected form, default and meaning."""

    name: str
    field: str
    form: str
    default: str
    help: str
    parse: Callable[[str], Any]
    secret: bool = False


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "OTS_DATA_DIR", "data_dir", "absolute path",
        'platformdirs user_data_dir("ots-server")',
        "directory of the default SQLite file (created 0700)", parse_path,
    ),
    Variable(
        "OTS_STORE_URL", "store_url", "sqlite:///ABS/PATH or redis://…",
        "sqlite:///<OTS_DATA_DIR>/ots.sqlite3",
        "where secrets are stored: a SQLite file, or Redis (docs/deploy.md)", parse_store_url,
        secret=True,
    ),
    Variable("OTS_TTL_MIN", "ttl_min", "duration", "60s", "shortest TTL accepted", parse_duration),
    Variable("OTS_TTL_MAX", "ttl_max", "duration", "7d", "longest TTL accepted", parse_duration),
    Variable(
        "OTS_TTL_DEFAULT", "ttl_default", "duration", "1d",
        "TTL when the client sends none", parse_duration,
    ),
    Variable(
        "OTS_MAX_BYTES", "max_bytes", "size", "1MiB",
        "largest ciphertext accepted (at most 16GiB; 16MiB with Redis)", parse_size,
    ),
    Variable("OTS_MAX_VIEWS", "max_views", "integer", "100", "most views per secret", parse_int),
    Variable(
        "OTS_MAX_ATTEMPTS", "max_attempts", "integer", "10",
        "most wrong-passphrase attempts a client may allow", parse_int,
    ),
    Variable(
        "OTS_DEFAULT_ATTEMPTS", "default_attempts", "integer", "5",
        "wrong-passphrase attempts when the client sends none", parse_int,
    ),
    Variable(
        "OTS_RECEIPT_GRACE", "receipt_grace", "duration", "7d",
        "how long receipts and tombstones outlive a secret's expiry", parse_duration,
    ),
    Variable(
        "OTS_WEB", "web", "true/false", "true",
        "serve the reveal page that decrypts in the browser (false: CLI instructions)",
        parse_bool,
    ),
    Variable(
        "OTS_WEB_CREATE", "web_create", "true/false", "true",
        "serve the create page at / (false, or when accounts are required: CLI instructions)",
        parse_bool,
    ),
    Variable(
        "OTS_PUBLIC_URL", "public_url", "http(s) URL", "(unset)",
        "base URL clients should put in links; published by /api/v1/limits", parse_public_url,
    ),
    Variable(
        "OTS_TRUSTED_PROXIES", "trusted_proxies", "IPs/CIDRs, comma-separated", "(none)",
        "peers whose X-Forwarded-For is believed", parse_networks,
    ),
    Variable(
        "OTS_RATE_LIMIT_PER_MINUTE", "rate_limit_per_minute", "integer", "120",
        "API POSTs per client per minute (per process; shared by all with Redis; 0 disables)",
        parse_int,
    ),
    Variable(
        "OTS_RATE_LIMIT_BURST", "rate_limit_burst", "integer", "30",
        "API POSTs a client may make at once before the rate applies", parse_int,
    ),
    Variable(
        "OTS_RATE_LIMIT_IPV6_PREFIX", "rate_limit_ipv6_prefix", "integer", "64",
        "IPv6 clients share a rate limit per network of this prefix length (1..128)", parse_int,
    ),
    Variable(
        "OTS_RATE_LIMIT_KEY", "rate_limit_key", "32+ characters", "(unset)",
        "Redis store: the key of the client-address HMAC; unset: a random one kept in Redis",
        parse_secret_key, secret=True,
    ),
    Variable(
        "OTS_REQUIRE_ACCOUNT", "require_account", "true or false", "false",
        "only requests with an account token may create secrets (reading never needs one)",
        parse_bool,
    ),
    Variable(
        "OTS_ACCOUNT_TTL_MAX", "account_ttl_max", "duration", "30d",
        "longest TTL accepted with an account token (at least OTS_TTL_MAX)",
        parse_positive_duration,
    ),
    Variable(
        "OTS_ACCOUNT_MAX_BYTES", "account_max_bytes", "size", "4*OTS_MAX_BYTES",
        "largest ciphertext accepted with an account token (at least OTS_MAX_BYTES)",
        parse_positive_size,
    ),
    Variable(
        "OTS_ACCOUNT_RATE_LIMIT_PER_MINUTE", "account_rate_limit_per_minute", "integer", "600",
        "API POSTs per account per minute, whatever its address (0 disables)", parse_int,
    ),
    Variable(
        "OTS_ACCOUNT_RATE_LIMIT_BURST", "account_rate_limit_burst", "integer", "120",
        "API POSTs an account may make at once before its rate applies", parse_int,
    ),
    Variable(
        "OTS_MAX_CONCURRENT_UPLOADS", "max_concurrent_uploads", "integer", "32",
        "creates a process receives at once; more are answered 503 with Retry-After", parse_int,
    ),
    Variable(
        "OTS_UPLOAD_TIMEOUT", "upload_timeout", "duration", "60s",
        "time a client has to send a whole request body; slower ones get 408", parse_duration,
    ),
    Variable(
        "OTS_MAX_UPLOADS_PER_CLIENT", "max_uploads_per_client", "integer", "4",
        "of those, creates one client or account sends at once; more get 429", parse_int,
    ),
    Variable(
        "OTS_MAX_HEADER_BYTES", "max_header_bytes", "size", "16KiB",
        "largest request line and headers; a larger head is answered 431 and closed",
        parse_size,
    ),
    Variable(
        "OTS_HEADER_TIMEOUT", "header_timeout", "duration", "10s",
        "time a connection has to send a request's line and headers; then it is closed",
        parse_duration,
    ),
    Variable(
        "OTS_MAX_CONNECTIONS", "max_connections", "integer", "1000",
        "open connections per process; one more is answered 503 and closed", parse_int,
    ),
    Variable(
        "OTS_MAX_STORE_BYTES", "max_store_bytes", "size", "0",
        "SQLite store: stored data past which creates get 507; 0: no limit", parse_size,
    ),
    Variable(
        "OTS_SWEEP_INTERVAL", "sweep_interval", "duration", "60s",
        "how often expired secrets and old receipts are purged", parse_duration,
    ),
    Variable(
        "OTS_CHECKPOINT_INTERVAL", "checkpoint_interval", "duration", "5m",
        "how often the SQLite WAL is checkpointed and truncated", parse_duration,
    ),
    Variable(
        "OTS_REDIS_ALLOW_EVICTION", "redis_allow_eviction", "true or false", "false",
        "start even if Redis may evict keys (maxmemory-policy other than noeviction)",
        parse_bool,
    ),
    Variable(
        "OTS_LOG_LEVEL", "log_level", "level", "info",
        "critical, error, warning, info or debug", parse_log_level,
    ),
    Variable(
        "OTS_OIDC_ISSUERS", "oidc_issuers", "PLATFORM=URL[ ALG,…];…", DEFAULT_ISSUERS,
        "trusted CI issuers for bound secrets (github, gitlab; empty: none; docs/ci.md)",
        parse_issuers,
    ),
    Variable(
        "OTS_OIDC_AUDIENCE", "oidc_audience", "text", "(OTS_PUBLIC_URL)",
        "audience a CI ID token must name; bound secrets are refused when neither is set",
        parse_audience,
    ),
    Variable(
        "OTS_OIDC_ALLOW_HTTP_LOOPBACK", "oidc_allow_http_loopback", "true or false", "false",
        "TESTS ONLY: accept http:// issuers on a loopback address", parse_bool,
    ),
)  # fmt: skip

BY_FIELD = {variable.field: variable for variable in VARIABLES}
BY_NAME = {variable.name: variable for variable in VARIABLES}

#: The CLI's own variables (``ots``, not ``ots-server``): never warned about as unknown. A test
#: keeps this in step with the ``OTS_`` names in ots_cli's sources.
CLIENT_VARIABLES = frozenset(
    {
        "OTS_ALLOW_WEAK_KDF",
        "OTS_CONFIG_DIR",
        "OTS_ID_TOKEN",
        "OTS_KEYRING_TIMEOUT",
        "OTS_MIN_DOWNLOAD_RATE",
        "OTS_PASSPHRASE_COST",
        "OTS_REQUEST_TIMEOUT",
        "OTS_SERVER",
        "OTS_TOKEN",
        "OTS_TTL",
        "OTS_VIEWS",
    }
)


def shown(variable: Variable, value: int, environ: Mapping[str, str]) -> str:
    """``value`` as the operator wrote it (or as its documented default reads), else formatted
    in the variable's units (never in raw seconds or bytes when it has units)."""
    for text in (environ.get(variable.name), variable.default):
        if text is None:
            continue
        try:
            if variable.parse(text) == value:
                return text
        except ValueError:
            continue
    return formatter(variable)(value)


def formatter(variable: Variable) -> Callable[[int], str]:
    """How a value of ``variable`` is shown in an error: in the units its form is written in."""
    if variable.form == "duration":
        return format_duration
    if variable.form == "size":
        return format_size
    return str


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """A warning for each ``OTS_*`` name in ``environ`` that is neither a setting of the server
    nor a variable of the CLI, naming the closest setting if one is close (a typo). Only names:
    a value may be a secret and is never read."""
    known = [variable.name for variable in VARIABLES]
    warnings = []
    for name in sorted(environ):
        if not name.startswith("OTS_") or name in BY_NAME or name in CLIENT_VARIABLES:
            continue
        warning = f"{name} is not a setting of ots-server and is ignored"
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        warnings.append(f"{warning}; did you mean {close[0]}?" if close else warning)
    return warnings


def describe_variables() -> str:
    """A plain-text table of every variable with its default, for ``--help``."""
    width = max(len(variable.name) for variable in VARIABLES)
    lines = ["environment variables (default in brackets):"]
    for variable in VARIABLES:
        lines.append(f"  {variable.name:<{width}}  {variable.help} [{variable.default}]")
    return "\n".join(lines)
