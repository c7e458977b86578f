"""Small, pure formatting helpers for human output: sizes, times, receipt states.

Everything here returns plain strings; nothing prints. Times are shown relative to an injected
``now`` and as UTC, so tests with a fixed clock get fixed text.
"""

from __future__ import annotations

import time

from ots_cli.core.durations import format_duration

__all__ = ["describe_bytes", "describe_state", "describe_time", "utc"]


def describe_bytes(size: int) -> str:
    """``1600`` → ``1.6 KiB``; exact below 1 KiB."""
    if size < 1024:
        return f"{size} byte{'s' if size != 1 else ''}"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            text = f"{value:.1f}".removesuffix(".0")
            return f"{text} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def utc(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def describe_time(timestamp: int, now: int) -> str:
    """``in 59m (2026-01-01 12:00 UTC)`` or ``3h ago (…)``."""
    delta = timestamp - now
    relative = f"in {format_duration(delta)}" if delta > 0 else f"{format_duration(-delta)} ago"
    if delta == 0:
        relative = "now"
    return f"{relative} ({utc(timestamp)})"


def describe_state(
    state: str,
    *,
    views: int,
    views_left: int | None,
    read_at: int | None,
    burned_at: int | None,
    expires_at: int,
    now: int,
) -> str:
    """The sender's one-line view: pending, read at T, burned at T, expired unread."""
    if state == "read":
        return f"read {describe_time(read_at, now)}" if read_at is not None else "read"
    if state == "burned":
        return f"burned {describe_time(burned_at, now)}" if burned_at is not None else "burned"
    if state == "expired":
        partly = views_left is not None and views_left < views
        return "expired after a partial read" if partly else "expired unread"
    if state == "pending":
        text = f"pending, expires {describe_time(expires_at, now)}"
        if views_left is not None and views > 1:
            text += f", {views_left} of {views} views left"
        if read_at is not None:
            text += f", last read {describe_time(read_at, now)}"
        return text
    return state
