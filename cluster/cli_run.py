"""`fractal run` — the main job on embedded defaults."""

from __future__ import annotations


def run() -> None:
    """Run the main job (not wired yet in this commit)."""
    raise SystemExit("fractal run: not available yet")
