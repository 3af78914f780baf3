"""`fractal backtest` — run one strategy backtest."""

from __future__ import annotations


def backtest() -> None:
    """Run a backtest (not wired yet in this commit)."""
    raise SystemExit("fractal backtest: not available yet")
