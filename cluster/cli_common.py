"""Helpers shared by the CLI modules: settings loading and clean error exits."""

from __future__ import annotations

import contextlib
import functools
import io
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from cluster.settings import ENV_FILE, ConfigError, Settings, env_file_warnings, load_settings

if TYPE_CHECKING:
    from cluster.market_data import MarketFrame

console = Console()
# soft_wrap: an error line is never broken at the terminal width (it may name a file and a row)
err_console = Console(stderr=True, soft_wrap=True)


def settings_or_exit() -> Settings:
    """Load settings or print one line per invalid field and exit with status 2."""
    _warn_about_env_file(Path.cwd() / ENV_FILE)
    try:
        settings = load_settings()
    except ConfigError as err:
        err_console.print(f"[red]{err}[/red]", highlight=False)
        raise typer.Exit(2) from None
    # strategies never read the environment: the wiring passes FRACTAL_SMC_THREADS in
    from strategies.smc import set_default_threads

    set_default_threads(settings.fractal_smc_threads)
    return settings


@functools.cache
def _warn_about_env_file(path: Path) -> None:
    """Once per file and process (commands that call each other load settings again)."""
    for warning in env_file_warnings(path):
        err_console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print a clear error naming the problem; return the Exit to raise."""
    err_console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)


@contextlib.contextmanager
def reserved_stdout(whole_process: bool = True) -> Iterator[Callable[[str], None]]:
    """Keep stdout for one document: everything else written to it goes to stderr.

    Why at the file-descriptor level: Ray's C++ core, native libraries and exit handlers write
    to fd 1 directly, after the command has printed its JSON (seen on a cluster whose worker
    node died mid-sweep). Yields ``emit(text)``, the only writer of the real stdout. Under an
    in-process runner (no real fd 1), or with ``whole_process=False`` (a human report follows on
    stdout), only Python-level prints are redirected.
    """
    try:
        real_fd = whole_process and sys.stdout.fileno() == 1
    except (AttributeError, OSError, io.UnsupportedOperation, ValueError):
        real_fd = False
    if not real_fd:
        target = sys.stdout

        def emit_py(text: str) -> None:
            target.write(text + "\n")
            target.flush()

        with contextlib.redirect_stdout(sys.stderr):
            yield emit_py
        return
    sys.stdout.flush()
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # not restored: exit handlers of native libraries print late

    def emit_fd(text: str) -> None:
        out.write(text + "\n")
        out.flush()

    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield emit_fd
    finally:
        out.close()


def split_params(items: list[str]) -> dict[str, str]:
    """``--param key=value`` strings -> dict of strings (the pydantic models coerce types)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--param expects key=value, got {item!r}")
        out[key.strip()] = raw.strip()
    return out


def report_frame(frame: MarketFrame) -> None:
    """Tell the user what loading the candles did: shipped files imported into the store just
    now, and gaps in a --data file (reported, never filled). On stderr: --json owns stdout."""
    for path in frame.imported:
        err_console.print(f"imported the shipped file {path} into the store (first use)")
    if frame.gaps is not None and frame.gaps.gaps:
        err_console.print(
            f"[yellow]warning:[/yellow] {frame.source} has {frame.gaps} — kept as they are "
            "(never filled); indicators see the bars on either side as adjacent",
            highlight=False,
        )
