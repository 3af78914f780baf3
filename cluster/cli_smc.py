"""`fractal smc SYMBOL` — detect SMC structure and write an interactive chart."""

from __future__ import annotations


def smc() -> None:
    """Detect SMC structure (not wired yet in this commit)."""
    raise SystemExit("fractal smc: not available yet")
