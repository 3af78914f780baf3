"""Numbers formatted for people: currency, percent, durations (the report is read on a phone)."""

from __future__ import annotations

import math


def money(x: float | None) -> str:
    """``+$1,234.56`` / ``-$12.00``; ``n/a`` for unknown."""
    if x is None or not math.isfinite(x):
        return "n/a"
    sign = "-" if x < 0 else ""
    return f"{sign}${abs(x):,.2f}"


def signed_money(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return ("+" if x > 0 else "") + money(x)


def pct(x: float | None, digits: int = 1) -> str:
    """A fraction as a percent: ``0.1234`` -> ``12.3%``."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x * 100:.{digits}f}%"


def num(x: float | None, digits: int = 2) -> str:
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x:,.{digits}f}"


def duration(ms: float | None) -> str:
    """``3d 4h``, ``2h 05m``, ``4m 10s``, ``12s``."""
    if ms is None or not math.isfinite(ms) or ms < 0:
        return "n/a"
    s = int(ms // 1000)
    d, rem = divmod(s, 86_400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m:02d}m"
    if m:
        return f"{m}m {sec:02d}s"
    return f"{sec}s"
