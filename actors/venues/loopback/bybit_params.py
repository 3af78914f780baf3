"""Bybit v5 request-parameter rules shared by the loopback's routes: integers, newest-first
cursor pages with a bounded ``limit``, and the 7-day time window of history endpoints.

Why apart: each rule is Bybit's, used by several endpoints, and testable without a server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

Params = dict[str, Any]
WINDOW_MS = 7 * 86_400_000  # execution and order history: at most 7 days per query


class BybitError(Exception):
    """A refusal with Bybit's retCode and retMsg (the envelope carries both)."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


def page_of(rows: list[Any], key: Callable[[Any], tuple[int, int]], p: Params, default: int,
            most: int) -> tuple[list[Any], str]:  # fmt: skip
    """Newest first; ``cursor`` is the key of the last row already returned."""
    rows = sorted(rows, key=key, reverse=True)
    if p.get("cursor"):
        try:
            t, i = (int(x) for x in unquote(str(p["cursor"])).split(":"))
        except ValueError:
            raise BybitError(10001, "params error: cursor invalid") from None
        rows = [r for r in rows if key(r) < (t, i)]
    limit = integer(p, "limit", default)
    if not 1 <= limit <= most:
        raise BybitError(10001, f"params error: limit must be in [1, {most}]")
    out = rows[:limit]
    more = len(rows) > limit
    return out, (f"{key(out[-1])[0]}:{key(out[-1])[1]}" if more else "")


def integer(p: Params, name: str, default: int | None = None) -> int:
    v = p.get(name)
    if v in (None, ""):
        if default is None:
            raise BybitError(10001, f"params error: {name} is required")
        return default
    try:
        return int(v)
    except (TypeError, ValueError):
        raise BybitError(10001, f"params error: {name} invalid") from None


def window(p: Params, now: int) -> tuple[int, int]:
    """Bybit's 7-day rule: neither -> the last 7 days; one -> 7 days from/to it."""
    start = integer(p, "startTime", -1)
    end = integer(p, "endTime", -1)
    if start < 0 and end < 0:
        return now - WINDOW_MS, now
    if end < 0:
        return start, start + WINDOW_MS
    if start < 0:
        return end - WINDOW_MS, end
    if end - start > WINDOW_MS:
        raise BybitError(10001, "The time range between startTime and endTime cannot exceed 7 days")
    return start, end
