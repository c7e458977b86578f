"""Human durations for ``--ttl`` and for display: ``90s``, ``30m``, ``1h30m``, ``7d``, ``2w``.

Invariants:

- :func:`parse_duration` accepts one or more ``<digits><unit>`` groups with units in strictly
  decreasing order (``w d h m s``), or bare digits meaning seconds; nothing else. The result is a
  positive number of seconds. Whether the server accepts it is the server's call (its range is
  published at ``/api/v1/limits``; out-of-range values are refused, never clamped).
- :func:`format_duration` is the inverse for whole units: ``parse_duration(format_duration(n))
  == n`` for every positive ``n``.
"""

from __future__ import annotations

import re

from ots_cli.errors import UsageError

__all__ = ["format_duration", "parse_duration"]

_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
_SECONDS = dict(_UNITS)
_GROUP = re.compile(r"([0-9]{1,9})([wdhms])")
#: Far beyond any server's limit, small enough that arithmetic stays exact and cheap.
_MAX = 100 * 365 * 86400


def parse_duration(text: str, *, what: str = "--ttl") -> int:
    """Seconds in ``text``; :class:`UsageError` naming ``what`` once and the expected form."""
    value = text.strip().lower()
    hint = ("units w, d, h, m, s, largest first (1h30m); bare digits are seconds",)
    invalid = f"invalid duration {text!r} for {what}: use e.g. 30m, 1h, 2d, 1w"
    if value.isascii() and value.isdigit() and len(value) <= 10:
        seconds = int(value)
    else:
        seconds, position, last_rank = 0, 0, -1
        for match in _GROUP.finditer(value):
            rank = [unit for unit, _ in _UNITS].index(match.group(2))
            if match.start() != position or rank <= last_rank:
                raise UsageError(invalid, hints=hint)
            seconds += int(match.group(1)) * _SECONDS[match.group(2)]
            position, last_rank = match.end(), rank
        if position == 0 or position != len(value):
            raise UsageError(invalid, hints=hint)
    if seconds <= 0:
        raise UsageError(f"the duration for {what} must be positive", hints=hint)
    if seconds > _MAX:
        raise UsageError(f"the duration for {what} is longer than 100 years", hints=hint)
    return seconds


def format_duration(seconds: int) -> str:
    """``3600`` → ``1h``; ``5400`` → ``1h30m``; ``0`` → ``0s``; weeks are shown as days."""
    if seconds <= 0:
        return "0s"
    parts = []
    for unit, size in _UNITS[1:]:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
