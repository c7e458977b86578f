"""Server settings: one frozen dataclass, parsed strictly from ``OTS_*`` environment variables.

``Settings()`` gives the documented defaults and never reads the environment;
``Settings.from_env(os.environ)`` is the only place the environment is read. Every value is
validated twice: the parser rejects anything that is not exactly the documented form (no
silent trimming, clamping or guessing), and ``__post_init__`` checks ranges and cross-field
rules, so a ``Settings`` built with keyword overrides in a test is held to the same rules.

Every error is a :class:`SettingsError` whose message names the variable and the expected
form. Values are echoed back, except for ``OTS_STORE_URL`` (it may carry a password) and
``OTS_RATE_LIMIT_KEY``; neither appears in the ``repr`` of a ``Settings`` either. A value out
of range is an :class:`OutOfRange`, shown in the setting's units (as written, when it came from
the environment): ``OTS_TTL_MAX=30s is below OTS_TTL_MIN (60s)``. Durations are the CLI's
(:func:`ots_server.parsers.parse_duration`).

Account limits (``OTS_ACCOUNT_*``) apply to requests with a valid account token. Left unset,
``OTS_ACCOUNT_TTL_MAX`` is 30 days (or ``OTS_TTL_MAX`` if that is longer) and
``OTS_ACCOUNT_MAX_BYTES`` is four times ``OTS_MAX_BYTES`` (at most what the store takes); set,
they must not be below the anonymous limits. The limits a caller gets are computed by
:mod:`ots_server.limits`.

Store-specific rules: with a Redis store ``OTS_MAX_BYTES`` is at most
:data:`~ots_server.store.redis.url.REDIS_MAX_BYTES` (a blob travels as one script argument and
lives in Redis's memory), and ``OTS_MAX_STORE_BYTES`` must stay 0 (the quota is SQLite's; with
Redis, ``maxmemory`` is the quota and a full Redis answers creates with 507).

:data:`ots_server.variables.VARIABLES` is the single table of variables: the parser,
``ots-server --help`` and the staleness test of docs/server.md all read it. The value parsers
are in :mod:`ots_server.parsers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from ots_server.oidc.issuers import DEFAULT_ISSUERS, Issuer, parse_issuers
from ots_server.parsers import (
    DAY,
    HOUR,
    LOG_LEVELS,
    MIB,
    MINUTE,
    Network,
    format_size,
    parse_public_url,
    parse_secret_key,
    parse_store_url,
)
from ots_server.store.redis.url import REDIS_MAX_BYTES, is_redis_url
from ots_server.variables import BY_FIELD, BY_NAME, VARIABLES, Variable, formatter, shown

__all__ = [
    "DAY",
    "HOUR",
    "MAX_BYTES_CEILING",
    "MIB",
    "MINUTE",
    "Network",
    "OutOfRange",
    "Settings",
    "SettingsError",
]

#: Upper bound of ``OTS_MAX_BYTES`` with SQLite: blobs past 64 KiB are streamed to files, so
#: memory does not grow with the size; the disk (and ``OTS_MAX_STORE_BYTES``) is the limit.
MAX_BYTES_CEILING = 16 * 1024 * MIB


class SettingsError(ValueError):
    """A setting is malformed or out of range; the message names the variable."""


class OutOfRange(SettingsError):
    """A value outside its range. The message shows values in the setting's units: as the
    operator wrote them when the environment is known (:meth:`message`), else formatted."""

    def __init__(
        self, variable: Variable, value: int, side: str, bound: Variable | None, limit: int
    ) -> None:
        self.variable, self.value, self.side, self.bound, self.limit = (
            variable, value, side, bound, limit
        )  # fmt: skip
        super().__init__(self.message({}))

    def message(self, environ: Mapping[str, str]) -> str:
        """``OTS_TTL_MAX=30s is below OTS_TTL_MIN (60s)``; ``… is above the maximum (1h)``."""
        written = shown(self.variable, self.value, environ)
        if self.bound is not None:
            what = f"{self.bound.name} ({shown(self.bound, self.limit, environ)})"
        else:
            extreme = "the minimum" if self.side == "below" else "the maximum"
            what = f"{extreme} ({formatter(self.variable)(self.limit)})"
        return f"{self.variable.name}={written} is {self.side} {what}"


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("ots-server", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Validated server settings; see :data:`VARIABLES` for each field's variable."""

    data_dir: Path = field(default_factory=_default_data_dir)
    #: Empty means ``sqlite:///<data_dir>/ots.sqlite3``; filled in by ``__post_init__``.
    store_url: str = field(default="", repr=False)
    ttl_min: int = 60
    ttl_max: int = 7 * DAY
    ttl_default: int = DAY
    max_bytes: int = MIB
    max_views: int = 100
    max_attempts: int = 10
    default_attempts: int = 5
    receipt_grace: int = 7 * DAY
    public_url: str | None = None
    web: bool = True
    web_create: bool = True
    trusted_proxies: tuple[Network, ...] = ()
    rate_limit_per_minute: int = 120
    rate_limit_burst: int = 30
    rate_limit_ipv6_prefix: int = 64
    rate_limit_key: str | None = field(default=None, repr=False)
    require_account: bool = False
    #: 0 means unset: ``max(30 days, ttl_max)``; filled in by ``__post_init__``.
    account_ttl_max: int = 0
    #: 0 means unset: ``4 * max_bytes``, at most the store's ceiling; filled in likewise.
    account_max_bytes: int = 0
    account_rate_limit_per_minute: int = 600
    account_rate_limit_burst: int = 120
    max_concurrent_uploads: int = 32
    upload_timeout: int = MINUTE
    max_uploads_per_client: int = 4
    max_header_bytes: int = 16 * 1024
    header_timeout: int = 10
    max_connections: int = 1000
    max_store_bytes: int = 0
    sweep_interval: int = 60
    checkpoint_interval: int = 5 * MINUTE
    redis_allow_eviction: bool = False
    log_level: str = "info"
    oidc_issuers: tuple[Issuer, ...] = field(default_factory=lambda: parse_issuers(DEFAULT_ISSUERS))
    #: ``None``: the public URL (``OTS_PUBLIC_URL``) is the audience; see :attr:`audience`.
    oidc_audience: str | None = None
    oidc_allow_http_loopback: bool = False

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
        self._check_range("max_uploads_per_client", 1, 100_000)
        self._check_range("max_header_bytes", 1024, MIB)
        self._check_range("header_timeout", 1, HOUR)
        self._check_range("max_connections", 1, 1_000_000)
        self._check_range("max_store_bytes", 0, 1 << 50)
        self._check_range("sweep_interval", 1, DAY)
        self._check_range("checkpoint_interval", 1, DAY)
        if self.rate_limit_key is not None:
            try:
                parse_secret_key(self.rate_limit_key)
            except ValueError as exc:
                raise SettingsError(f"OTS_RATE_LIMIT_KEY: {exc}") from None
        if not isinstance(self.redis_allow_eviction, bool):
            raise SettingsError("OTS_REDIS_ALLOW_EVICTION: expected true or false")
        if self.store_kind == "redis":
            self._check_redis()
        self._check_accounts()
        if not isinstance(self.oidc_allow_http_loopback, bool):
            raise SettingsError("OTS_OIDC_ALLOW_HTTP_LOOPBACK: expected true or false")
        if not self.oidc_allow_http_loopback and any(i.insecure for i in self.oidc_issuers):
            raise SettingsError(
                "OTS_OIDC_ISSUERS: http:// issuers need OTS_OIDC_ALLOW_HTTP_LOOPBACK=true "
                "(tests only)"
            )
        if self.log_level not in LOG_LEVELS:
            raise SettingsError(f"OTS_LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)}")

    @property
    def audience(self) -> str | None:
        """The audience CI ID tokens must name: ``OTS_OIDC_AUDIENCE``, else the public URL."""
        return self.oidc_audience or self.public_url

    @property
    def store_kind(self) -> str:
        """``"sqlite"`` or ``"redis"``: which store ``store_url`` names."""
        return "redis" if is_redis_url(self.store_url) else "sqlite"

    @property
    def max_bytes_ceiling(self) -> int:
        """The largest ``max_bytes`` the configured store takes."""
        return REDIS_MAX_BYTES if self.store_kind == "redis" else MAX_BYTES_CEILING

    def _check_accounts(self) -> None:
        if not isinstance(self.require_account, bool):
            raise SettingsError("OTS_REQUIRE_ACCOUNT: expected true or false")
        if self.account_ttl_max == 0:
            object.__setattr__(self, "account_ttl_max", max(30 * DAY, self.ttl_max))
        if self.account_max_bytes == 0:
            default = min(4 * self.max_bytes, self.max_bytes_ceiling)
            object.__setattr__(self, "account_max_bytes", default)
        self._check_range("account_ttl_max", self.ttl_max, 365 * DAY, "OTS_TTL_MAX")
        ceiling = self.max_bytes_ceiling
        self._check_range("account_max_bytes", self.max_bytes, ceiling, "OTS_MAX_BYTES")
        self._check_range("account_rate_limit_per_minute", 0, 1_000_000)
        self._check_range("account_rate_limit_burst", 1, 1_000_000)

    def _check_redis(self) -> None:
        if self.max_bytes > REDIS_MAX_BYTES:
            raise SettingsError(
                f"OTS_MAX_BYTES: expected at most {REDIS_MAX_BYTES // MIB}MiB with the Redis "
                f"store, got {format_size(self.max_bytes)}"
            )
        if self.max_store_bytes:
            raise SettingsError(
                "OTS_MAX_STORE_BYTES: expected 0 with the Redis store (the quota is SQLite's; "
                "set maxmemory in Redis instead: a full Redis answers creates with 507)"
            )

    def _check_range(self, name: str, low: int, high: int, bound: str = "") -> None:
        """``low <= name <= high``, else :class:`OutOfRange`. ``bound`` names the variable a
        bound comes from (``"OTS_TTL_MIN"``, or ``"OTS_TTL_MIN..OTS_TTL_MAX"`` for both); the
        error calls a bound equal to that variable's value by the variable's name."""
        variable = BY_FIELD[name]
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{variable.name}: expected an integer, got {value!r}")
        if low <= value <= high:
            return
        limit, side = (low, "below") if value < low else (high, "above")
        named = [n for n in bound.split("..") if n and getattr(self, BY_NAME[n].field) == limit]
        raise OutOfRange(variable, value, side, BY_NAME[named[0]] if named else None, limit)

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
        try:
            return cls(**values)
        except OutOfRange as exc:
            raise SettingsError(exc.message(environ)) from None


assert {f.name for f in fields(Settings)} == set(BY_FIELD), "VARIABLES and Settings disagree"
