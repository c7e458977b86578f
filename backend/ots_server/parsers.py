"""Strict parsers of ``OTS_*`` values: each takes the exact documented form or raises
``ValueError`` with a message that says what was expected (the caller names the variable and
decides whether the value may be echoed). Nothing is trimmed, clamped or guessed. Durations are
the CLI's grammar (``ots_cli.core.durations``), so ``2w`` means the same to ``ots --ttl`` and to
``OTS_TTL_MAX``: the server keeps its own copy (the two packages never import each other) and
tests/server/test_durations.py holds the two to the same answers.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

from ots_server.store.redis.url import is_redis_url, parse_redis_url

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
KIB = 1024
MIB = 1024 * KIB
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")

_ZERO = re.compile(r"0{1,12}[wdhms]?")
_DURATION_FORM = "expected a duration: seconds, or numbers with w, d, h, m, s (90s, 1h30m, 7d, 2w)"
_SIZE = re.compile(r"([0-9]{1,15})(B|KiB|MiB|GiB)?")
_SIZE_UNITS = {None: 1, "B": 1, "KiB": KIB, "MiB": MIB, "GiB": 1024 * MIB}
_INTEGER = re.compile(r"[0-9]{1,12}")
#: The CLI's duration grammar: units largest first, at most 100 years.
_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_RANKS = [unit for unit, _ in _UNITS]
_GROUP = re.compile(r"([0-9]{1,9})([wdhms])")
_MAX_DURATION = 100 * 365 * DAY


def _positive_duration(text: str) -> int | None:
    """Seconds in ``text`` exactly as ``ots --ttl`` reads it, or ``None`` for anything the CLI
    refuses (a form it does not take, zero, more than 100 years)."""
    value = text.strip().lower()
    if value.isascii() and value.isdigit() and len(value) <= 10:
        seconds = int(value)
    else:
        seconds, position, last_rank = 0, 0, -1
        for match in _GROUP.finditer(value):
            rank = _RANKS.index(match.group(2))
            if match.start() != position or rank <= last_rank:
                return None
            seconds += int(match.group(1)) * dict(_UNITS)[match.group(2)]
            position, last_rank = match.end(), rank
        if position == 0 or position != len(value):
            return None
    return seconds if 0 < seconds <= _MAX_DURATION else None


def format_duration(seconds: int) -> str:
    """``3600`` -> ``1h``; ``5400`` -> ``1h30m``; ``0`` -> ``0s``; weeks are shown as days (as
    the CLI shows them)."""
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in _UNITS[1:]:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def parse_duration(text: str) -> int:
    """A duration as the CLI's ``--ttl`` takes it (``90``, ``90s``, ``1h30m``, ``7d``, ``2w``:
    one grammar for both), or zero (``0``, ``0s``), to seconds. White space around it is an
    error here, not trimmed."""
    if _ZERO.fullmatch(text):
        return 0
    if text != text.strip():
        raise ValueError(_DURATION_FORM)
    seconds = _positive_duration(text)
    if seconds is None:
        raise ValueError(_DURATION_FORM)
    return seconds


def parse_size(text: str) -> int:
    """``1048576``, ``512KiB`` or ``1MiB`` to bytes."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError("expected a size in bytes, optionally with B, KiB, MiB or GiB (1MiB)")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2)]


def format_size(size: int) -> str:
    """``size`` in the largest unit of :func:`parse_size` that holds it exactly (``1536KiB``)."""
    for unit in ("GiB", "MiB", "KiB"):
        if size and size % _SIZE_UNITS[unit] == 0:
            return f"{size // _SIZE_UNITS[unit]}{unit}"
    return f"{size}B" if size else "0"


def parse_positive_duration(text: str) -> int:
    """A duration of at least one second (0 would mean "unset", which is the variable's absence)."""
    seconds = parse_duration(text)
    if seconds == 0:
        raise ValueError("expected a duration of at least 1s")
    return seconds


def parse_positive_size(text: str) -> int:
    size = parse_size(text)
    if size == 0:
        raise ValueError("expected a size of at least 1 byte")
    return size


def parse_int(text: str) -> int:
    if _INTEGER.fullmatch(text) is None:
        raise ValueError("expected a non-negative integer in decimal digits")
    return int(text)


def parse_store_url(text: str) -> str:
    if is_redis_url(text):
        parse_redis_url(text)  # every part checked now, so a bad URL fails at start-up
        return text
    scheme, sep, rest = text.partition("://")
    if not sep or scheme != "sqlite":
        raise ValueError(
            "expected sqlite:///absolute/path/to/ots.sqlite3, redis://, rediss://, "
            "redis+sentinel:// or redis+cluster:// (see docs/deploy.md)"
        )
    if not rest.startswith("/"):
        raise ValueError("expected sqlite:///absolute/path/to/ots.sqlite3 (an absolute path)")
    return text


def parse_bool(text: str) -> bool:
    if text not in {"true", "false"}:
        raise ValueError("expected true or false")
    return text == "true"


def parse_secret_key(text: str) -> str | None:
    if text == "":
        return None
    if not 32 <= len(text) <= 1024 or not text.isascii() or not text.isprintable():
        raise ValueError("expected 32 to 1024 printable ASCII characters (e.g. 43 random base64)")
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
