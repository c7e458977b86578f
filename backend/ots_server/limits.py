"""The limits a request is held to: anonymous ones, or an account's.

A request with a valid account token gets the account limits (``OTS_ACCOUNT_TTL_MAX``,
``OTS_ACCOUNT_MAX_BYTES``, ``OTS_ACCOUNT_RATE_LIMIT_*``); every other limit is the same for
everyone. ``GET /api/v1/limits`` publishes the caller's limits (:meth:`Limits.published`), so
a client that sent its token learns what its account may do.
"""

from __future__ import annotations

from dataclasses import dataclass

from ots_server.settings import Settings


@dataclass(frozen=True, slots=True)
class Limits:
    ttl_min: int
    ttl_max: int
    ttl_default: int
    max_bytes: int
    max_views: int
    max_attempts: int
    default_attempts: int
    rate_limit_per_minute: int
    rate_limit_burst: int

    @classmethod
    def for_caller(cls, settings: Settings, *, account: bool) -> Limits:
        return cls(
            ttl_min=settings.ttl_min,
            ttl_max=settings.account_ttl_max if account else settings.ttl_max,
            ttl_default=settings.ttl_default,
            max_bytes=settings.account_max_bytes if account else settings.max_bytes,
            max_views=settings.max_views,
            max_attempts=settings.max_attempts,
            default_attempts=settings.default_attempts,
            rate_limit_per_minute=(
                settings.account_rate_limit_per_minute
                if account
                else settings.rate_limit_per_minute
            ),
            rate_limit_burst=(
                settings.account_rate_limit_burst if account else settings.rate_limit_burst
            ),
        )

    def published(self, settings: Settings) -> dict[str, int | str | bool | None]:
        """The body of ``GET /api/v1/limits`` (and the ``limits`` of ``GET /api/v1/account``)."""
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
            "public_url": settings.public_url,
            "require_account": settings.require_account,
        }
