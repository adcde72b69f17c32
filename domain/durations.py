"""Durations as process owners write them: `90s`, `15m`, `4h`, `1d`, `2w`, or `1h30m`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_PART = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """`"1h30m"` → 1:30:00. Raises ValueError with a hint on anything else."""
    compact = text.strip().replace(" ", "")
    if not compact or _PART.sub("", compact) != "":
        raise ValueError(f'"{text}" is not a duration (try "15m", "4h", "2d" or "1h30m")')
    seconds = sum(int(n) * _UNITS[u] for n, u in _PART.findall(compact))
    if seconds <= 0:
        raise ValueError(f'"{text}" must be longer than zero')
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest spelling `parse_duration` reads back: 5400 s → `1h30m`."""
    seconds = int(value.total_seconds())
    if seconds <= 0:
        return "0s"
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        count, seconds = divmod(seconds, _UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _coerce(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, timedelta)):
        raise ValueError(f'"{value}" is not a duration (try "15m", "4h", "2d" or "1h30m")')
    if isinstance(value, (int, float)):
        raise ValueError(f'"{value}" needs a unit (try "{value}m" or "{value}h")')
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
