"""Numbers formatted for people: currency, percent, durations (the report is read on a phone).

The formatters live in :mod:`strategies.display` so the backtest report (``research``) shares
them; this module is the name the reports and the dashboard import.
"""

from __future__ import annotations

from strategies.display import (
    THEME,
    duration,
    label,
    metric,
    money,
    num,
    pct,
    signed_money,
)

__all__ = ["THEME", "duration", "label", "metric", "money", "num", "pct", "signed_money"]
