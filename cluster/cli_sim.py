"""`fractal sim` — loopback Hyperliquid simulator."""

from __future__ import annotations


def sim() -> None:
    """Start the simulator (not wired yet in this commit)."""
    raise SystemExit("fractal sim: not available yet")
