"""Helpers shared by the CLI modules: settings loading and clean error exits."""

from __future__ import annotations

import typer
from rich.console import Console

from cluster.settings import ConfigError, Settings, load_settings

console = Console()
err_console = Console(stderr=True)


def settings_or_exit() -> Settings:
    """Load settings or print one line per invalid field and exit with status 2."""
    try:
        settings = load_settings()
    except ConfigError as err:
        err_console.print(f"[red]{err}[/red]")
        raise typer.Exit(2) from None
    # strategies never read the environment: the wiring passes FRACTAL_SMC_THREADS in
    from strategies.smc import set_default_threads

    set_default_threads(settings.fractal_smc_threads)
    return settings


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a clear error naming the problem; return the Exit to raise."""
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


def split_params(items: list[str]) -> dict[str, str]:
    """``--param key=value`` strings -> dict of strings (the pydantic models coerce types)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param expects key=value, got {item!r}")
        out[key.strip()] = raw.strip()
    return out
