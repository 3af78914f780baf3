"""`fractal run` — the main job on embedded defaults (what `make run` starts).

The live system in paper mode on embedded local Ray: the loopback simulator replays shipped
Hyperliquid data for DEFAULT_SYMBOL at an accelerated speed, the actors trade it with the
configured strategy, and the driver prints signals, orders, fills and P&L as readable lines. It
stops by itself after ``--duration`` (and on Ctrl-C); `fractal status` then shows the state.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cluster.cli_common import fail
from cluster.cli_live import _settings, parse_duration, run_live

RUN_SPEED = 3600.0  # one simulated hour per wall second: a 15m bar every 0.25 s
RUN_DURATION = "60s"


def run(
    duration: Annotated[str, typer.Option(help="Wall-clock time to run once live.")] = RUN_DURATION,
    speed: Annotated[
        float, typer.Option(help="Replay speed (simulated seconds per wall second).")
    ] = RUN_SPEED,
) -> None:
    """Paper-trade DEFAULT_SYMBOL on the simulator for a short while and print what happens."""
    try:
        seconds = parse_duration(duration)
    except ValueError as err:
        raise fail(str(err), 2) from None
    _settings(None, {})  # the configuration as written must be valid (exit 2 naming the field)
    settings = _settings(None, {"network": "paper", "paper_speed": speed})  # always paper
    run_live(settings, [settings.default_symbol], seconds)
