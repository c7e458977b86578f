"""Start-up checks of a Redis store: refuse a Redis that would break a promise, warn about one
that keeps fewer.

Run by ``ots-server serve`` before uvicorn starts (exit status 3 on a refusal), on every
primary (each Cluster node; the current primary behind Sentinel):

- Redis must answer, and be 6.2 or newer (Valkey reports a compatible ``redis_version``).
- ``maxmemory-policy`` must be ``noeviction``: any other policy lets Redis delete unread
  secrets (or their tombstones, which would free their ids and hide "already consumed") to make
  room. ``OTS_REDIS_ALLOW_EVICTION=true`` starts anyway, with a warning.
- Persistence decides what a Redis crash costs, so it is reported, not refused:
  ``appendonly yes`` with ``appendfsync always`` keeps every promise; ``everysec`` can lose
  about the last second on a power cut or kernel crash; snapshots only (``save``) lose
  everything since the last snapshot and can resurrect consumed secrets; neither is the
  *ephemeral* mode, where any Redis restart loses every unread secret.

Managed services often forbid ``CONFIG`` (ACLs) or rename it. A refused command is not an
error: the check says what it could not verify and continues (``INFO`` is tried first, as it
is more often allowed). Network failures are errors: Redis must be reachable to start.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.exceptions import ResponseError

from ots_server.store.outcomes import StoreError, StoreUnavailable
from ots_server.store.redis.client import RedisConnection

MIN_VERSION = (6, 2)


class RedisRefused(StoreError):
    """Redis is configured in a way that breaks a promise; the server does not start."""


async def _ask(connection: RedisConnection, *command: str) -> list[Any] | None:
    """``command``'s answer from each primary, or None if Redis refuses the command."""
    try:
        return await connection.on_each_primary(*command)
    except StoreUnavailable as exc:
        if isinstance(exc.__cause__, ResponseError):
            return None  # NOPERM, or CONFIG renamed away: not allowed to look
        raise


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for part in text.split(".")[:2]:
        parts.append(int(part) if part.isdigit() else 0)
    return tuple(parts)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _config(values: Sequence[Any], name: str) -> list[str] | None:
    """The value of ``name`` in each CONFIG GET answer (a dict of bytes or str)."""
    found = []
    for value in values:
        answer = {_text(k): _text(v) for k, v in value.items()} if isinstance(value, dict) else {}
        if name not in answer:
            return None
        found.append(answer[name])
    return found


async def _policies(connection: RedisConnection) -> list[str] | None:
    infos = await _ask(connection, "INFO", "memory")
    if infos is not None and all("maxmemory_policy" in info for info in infos):
        return [_text(info["maxmemory_policy"]) for info in infos]
    configs = await _ask(connection, "CONFIG", "GET", "maxmemory-policy")
    return None if configs is None else _config(configs, "maxmemory-policy")


async def _persistence(connection: RedisConnection) -> list[str]:
    """Warnings about what a crash of Redis can cost."""
    answers = {}
    for name in ("appendonly", "appendfsync", "save"):
        configs = await _ask(connection, "CONFIG", "GET", name)
        values = None if configs is None else _config(configs, name)
        if values is None:
            return [
                "cannot read Redis's persistence settings (CONFIG GET is not permitted): make "
                "sure Redis runs with appendonly yes and appendfsync always, or accept what "
                "docs/deploy.md says the other modes lose"
            ]
        answers[name] = values
    warnings = []
    for appendonly, fsync, save in zip(
        answers["appendonly"], answers["appendfsync"], answers["save"], strict=True
    ):
        if appendonly != "yes" and save.strip() == "":
            warnings.append(
                "Redis runs in ephemeral mode (appendonly no, no save points): a Redis restart "
                "loses every unread secret"
            )
        elif appendonly != "yes":
            warnings.append(
                "Redis persists by snapshots only (appendonly no): a Redis crash loses the "
                "secrets created since the last snapshot and can make consumed secrets "
                "readable again; use appendonly yes and appendfsync always"
            )
        elif fsync != "always":
            warnings.append(
                f"Redis runs with appendfsync {fsync}: a power cut or kernel crash can lose the "
                "last second of writes (acknowledged secrets, and consumes); use appendfsync "
                "always for no loss"
            )
    return sorted(set(warnings))


async def preflight(connection: RedisConnection, *, allow_eviction: bool) -> list[str]:
    """Raise :class:`RedisRefused` or ``StoreUnavailable``; else return the warnings."""
    try:
        await connection.on_each_primary("PING")
    except StoreUnavailable as exc:
        raise StoreUnavailable(f"cannot reach Redis at OTS_STORE_URL ({exc})") from exc
    warnings: list[str] = []
    servers = await _ask(connection, "INFO", "server")
    if servers is None:
        warnings.append("cannot read the Redis version (INFO is not permitted); 6.2+ is needed")
    else:
        for server in servers:
            version = str(server.get("redis_version", "0"))
            if _version(version) < MIN_VERSION:
                raise RedisRefused(f"Redis {version} is too old; ots needs Redis 6.2 or newer")
    policies = await _policies(connection)
    if policies is None:
        warnings.append(
            "cannot read Redis's maxmemory-policy (INFO and CONFIG GET are not permitted): "
            "make sure it is noeviction, or unread secrets may be evicted"
        )
    else:
        for policy in sorted(set(policies) - {"noeviction"}):
            message = (
                f"Redis maxmemory-policy is {policy}: Redis may evict unread secrets and "
                "tombstones under memory pressure"
            )
            if not allow_eviction:
                raise RedisRefused(
                    message + "; set maxmemory-policy noeviction (then a full Redis answers "
                    "creates with 507), or OTS_REDIS_ALLOW_EVICTION=true to accept the loss"
                )
            warnings.append(message + " (allowed by OTS_REDIS_ALLOW_EVICTION)")
    return warnings + await _persistence(connection)
