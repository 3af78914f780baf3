"""Timeframe names ↔ bar length, so every module agrees on the grid a bar must sit on."""

from __future__ import annotations

import re

_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
TIMEFRAMES: tuple[str, ...] = (
    "1m",
    "3m",
    "5m",
    "15m",
    "30m",
    "1h",
    "2h",
    "4h",
    "8h",
    "12h",
    "1d",
)
_PATTERN = re.compile(r"^(\d+)([mhdw])$")


def timeframe_ms(timeframe: str) -> int:
    """Bar length in milliseconds; a clear ValueError for anything not in TIMEFRAMES."""
    match = _PATTERN.match(timeframe or "")
    if timeframe not in TIMEFRAMES or match is None:
        raise ValueError(
            f"unknown timeframe {timeframe!r}; expected one of {', '.join(TIMEFRAMES)}"
        )
    return int(match.group(1)) * _UNIT_MS[match.group(2)]
