"""Server settings: one frozen dataclass, parsed strictly from ``OTS_*`` environment variables.

``Settings()`` gives the documented defaults and never reads the environment;
``Settings.from_env(os.environ)`` is the only place the environment is read. Every value is
validated twice: the parser rejects anything that is not exactly the documented form (no
silent trimming, clamping or guessing), and ``__post_init__`` checks ranges and cross-field
rules, so a ``Settings`` built with keyword overrides in a test is held to the same rules.

Every error is a :class:`SettingsError` whose message names the variable and the expected
form. Values are echoed back, except for ``OTS_STORE_URL`` which may carry a password.

:data:`VARIABLES` is the single table of variables: the parser, ``ots-server --help`` and the
staleness test of docs/server.md all read it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
KIB = 1024
MIB = 1024 * KIB

#: Upper bound of ``OTS_MAX_BYTES`` while blobs are held in memory (files come later).
MAX_BYTES_CEILING = 64 * MIB
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


class SettingsError(ValueError):
    """A setting is malformed or out of range; the message names the variable."""


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


_DURATION = re.compile(r"([0-9]{1,12})([smhd]?)")
_DURATION_UNITS = {"": 1, "s": 1, "m": MINUTE, "h": HOUR, "d": DAY}
_SIZE = re.compile(r"([0-9]{1,15})(B|KiB|MiB|GiB)?")
_SIZE_UNITS = {None: 1, "B": 1, "KiB": KIB, "MiB": MIB, "GiB": 1024 * MIB}
_INTEGER = re.compile(r"[0-9]{1,12}")


def parse_duration(text: str) -> int:
    """``90``, ``90s``, ``30m``, ``1h`` or ``7d`` to seconds; anything else is an error."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError("expected a duration: seconds, or a number with s, m, h or d (90s, 7d)")
    return int(match.group(1)) * _DURATION_UNITS[match.group(2)]


def parse_size(text: str) -> int:
    """``1048576``, ``512KiB`` or ``1MiB`` to bytes."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError("expected a size in bytes, optionally with B, KiB, MiB or GiB (1MiB)")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2)]


def parse_int(text: str) -> int:
    if _INTEGER.fullmatch(text) is None:
        raise ValueError("expected a non-negative integer in decimal digits")
    return int(text)


def parse_store_url(text: str) -> str:
    scheme, sep, rest = text.partition("://")
    if not sep or scheme not in {"sqlite", "redis", "rediss"}:
        raise ValueError("expected sqlite:///absolute/path/to/ots.sqlite3 (or redis://…)")
    if scheme == "sqlite" and not rest.startswith("/"):
        raise ValueError("expected sqlite:///absolute/path/to/ots.sqlite3 (an absolute path)")
    return text


def parse_public_url(text: str) -> str | None:
    if text == "":
        return None
    parts = urlsplit(text)
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.query
        or parts.fragment
    ):
        raise ValueError("expected an http(s) URL without credentials, query or fragment")
    return text.rstrip("/")


def parse_networks(text: str) -> tuple[Network, ...]:
    if text.strip() == "":
        return ()
    networks: list[Network] = []
    for item in text.split(","):
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=True))
        except ValueError as exc:
            raise ValueError(
                "expected a comma-separated list of IP addresses or CIDR networks "
                "without host bits (10.0.0.0/8, ::1)"
            ) from exc
    return tuple(networks)


def parse_log_level(text: str) -> str:
    if text.lower() not in LOG_LEVELS:
        raise ValueError("expected one of " + ", ".join(LOG_LEVELS))
    return text.lower()


def parse_path(text: str) -> Path:
    if text == "" or not Path(text).is_absolute():
        raise ValueError("expected an absolute directory path")
    return Path(text)


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "OTS_DATA_DIR", "data_dir", "absolute path",
        'platformdirs user_data_dir("ots-server")',
        "directory of the default SQLite file (created 0700)", parse_path,
    ),
    Variable(
        "OTS_STORE_URL", "store_url", "sqlite:///ABS/PATH", "sqlite:///<OTS_DATA_DIR>/ots.sqlite3",
        "where secrets are stored", parse_store_url, secret=True,
    ),
    Variable("OTS_TTL_MIN", "ttl_min", "duration", "60s", "shortest TTL accepted", parse_duration),
    Variable("OTS_TTL_MAX", "ttl_max", "duration", "7d", "longest TTL accepted", parse_duration),
    Variable(
        "OTS_TTL_DEFAULT", "ttl_default", "duration", "1d",
        "TTL when the client sends none", parse_duration,
    ),
    Variable(
        "OTS_MAX_BYTES", "max_bytes", "size", "1MiB",
        f"largest ciphertext accepted (at most {MAX_BYTES_CEILING // MIB}MiB)", parse_size,
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
        "OTS_PUBLIC_URL", "public_url", "http(s) URL", "(unset)",
        "base URL clients should put in links; published by /api/v1/limits", parse_public_url,
    ),
    Variable(
        "OTS_TRUSTED_PROXIES", "trusted_proxies", "IPs/CIDRs, comma-separated", "(none)",
        "peers whose X-Forwarded-For is believed", parse_networks,
    ),
    Variable(
        "OTS_RATE_LIMIT_PER_MINUTE", "rate_limit_per_minute", "integer", "120",
        "API POSTs per client per minute and process (0 disables)", parse_int,
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
        "OTS_MAX_CONCURRENT_UPLOADS", "max_concurrent_uploads", "integer", "32",
        "creates a process receives at once; more are answered 503 with Retry-After", parse_int,
    ),
    Variable(
        "OTS_UPLOAD_TIMEOUT", "upload_timeout", "duration", "60s",
        "time a client has to send a whole request body; slower ones get 408", parse_duration,
    ),
    Variable(
        "OTS_MAX_STORE_BYTES", "max_store_bytes", "size", "0",
        "stored data (ciphertext and records) past which creates get 507; 0: no limit",
        parse_size,
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
        "OTS_LOG_LEVEL", "log_level", "level", "info",
        "critical, error, warning, info or debug", parse_log_level,
    ),
)  # fmt: skip

_BY_FIELD = {variable.field: variable for variable in VARIABLES}


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("ots-server", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Validated server settings; see :data:`VARIABLES` for each field's variable."""

    data_dir: Path = field(default_factory=_default_data_dir)
    #: Empty means ``sqlite:///<data_dir>/ots.sqlite3``; filled in by ``__post_init__``.
    store_url: str = ""
    ttl_min: int = 60
    ttl_max: int = 7 * DAY
    ttl_default: int = DAY
    max_bytes: int = MIB
    max_views: int = 100
    max_attempts: int = 10
    default_attempts: int = 5
    receipt_grace: int = 7 * DAY
    public_url: str | None = None
    trusted_proxies: tuple[Network, ...] = ()
    rate_limit_per_minute: int = 120
    rate_limit_burst: int = 30
    rate_limit_ipv6_prefix: int = 64
    max_concurrent_uploads: int = 32
    upload_timeout: int = MINUTE
    max_store_bytes: int = 0
    sweep_interval: int = 60
    checkpoint_interval: int = 5 * MINUTE
    log_level: str = "info"

    def __post_init__(self) -> None:
        if not isinstance(self.data_dir, Path) or not self.data_dir.is_absolute():
            raise SettingsError(f"OTS_DATA_DIR: expected an absolute path, got {self.data_dir!r}")
        if self.store_url == "":
            object.__setattr__(self, "store_url", f"sqlite://{self.data_dir / 'ots.sqlite3'}")
        try:
            parse_store_url(self.store_url)
        except ValueError as exc:
            raise SettingsError(f"OTS_STORE_URL: {exc}") from None
        if self.public_url is not None:
            try:
                object.__setattr__(self, "public_url", parse_public_url(self.public_url))
            except ValueError as exc:
                raise SettingsError(f"OTS_PUBLIC_URL: {exc}") from None
        self._check_range("ttl_min", 1, 365 * DAY)
        self._check_range("ttl_max", self.ttl_min, 365 * DAY, "OTS_TTL_MIN")
        self._check_range("ttl_default", self.ttl_min, self.ttl_max, "OTS_TTL_MIN..OTS_TTL_MAX")
        self._check_range("max_bytes", 1, MAX_BYTES_CEILING)
        self._check_range("max_views", 1, 10_000)
        self._check_range("max_attempts", 1, 1_000)
        self._check_range("default_attempts", 1, self.max_attempts, "OTS_MAX_ATTEMPTS")
        self._check_range("receipt_grace", 0, 365 * DAY)
        self._check_range("rate_limit_per_minute", 0, 1_000_000)
        self._check_range("rate_limit_burst", 1, 1_000_000)
        self._check_range("rate_limit_ipv6_prefix", 1, 128)
        self._check_range("max_concurrent_uploads", 1, 100_000)
        self._check_range("upload_timeout", 1, HOUR)
        self._check_range("max_store_bytes", 0, 1 << 50)
        self._check_range("sweep_interval", 1, DAY)
        self._check_range("checkpoint_interval", 1, DAY)
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"OTS_LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)}")

    def _check_range(self, name: str, low: int, high: int, bound: str = "") -> None:
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            relative = f" ({bound})" if bound else ""
            raise SettingsError(
                f"{_BY_FIELD[name].name}: expected an integer between {low} and {high}"
                f"{relative}, got {value!r}"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Parse every ``OTS_*`` variable present in ``environ``; others keep their default."""
        values: dict[str, Any] = {}
        for variable in VARIABLES:
            raw = environ.get(variable.name)
            if raw is None:
                continue
            try:
                values[variable.field] = variable.parse(raw)
            except ValueError as exc:
                shown = "" if variable.secret else f", got {raw!r}"
                raise SettingsError(f"{variable.name}: {exc}{shown}") from None
        return cls(**values)

    @property
    def limits(self) -> dict[str, int | str | None]:
        """The public limits, as published by ``GET /api/v1/limits``."""
        return {
            "api_version": 1,
            "ttl_min": self.ttl_min,
            "ttl_max": self.ttl_max,
            "ttl_default": self.ttl_default,
            "max_bytes": self.max_bytes,
            "max_views": self.max_views,
            "max_attempts": self.max_attempts,
            "default_attempts": self.default_attempts,
            "rate_limit_per_minute": self.rate_limit_per_minute,
            "rate_limit_burst": self.rate_limit_burst,
            "public_url": self.public_url,
        }


def describe_variables() -> str:
    """A plain-text table of every variable with its default, for ``--help``."""
    width = max(len(variable.name) for variable in VARIABLES)
    lines = ["environment variables (default in brackets):"]
    for variable in VARIABLES:
        lines.append(f"  {variable.name:<{width}}  {variable.help} [{variable.default}]")
    return "\n".join(lines)


assert {f.name for f in fields(Settings)} == set(_BY_FIELD), "VARIABLES and Settings disagree"
