"""`fractal run` — the main job on embedded defaults (what `make run` starts).

Until the live actors exist this runs the research side end to end on shipped Hyperliquid
data: import into the parquet store, causal SMC detection and an interactive chart for
DEFAULT_SYMBOL / DEFAULT_TIMEFRAME. Later issues upgrade it to the live paper system.
"""

from __future__ import annotations

from cluster.cli_common import console, settings_or_exit


def run() -> None:
    """Detect SMC structure for DEFAULT_SYMBOL/DEFAULT_TIMEFRAME on shipped data and chart it."""
    from cluster.cli_smc import smc

    settings = settings_or_exit()
    console.print(
        f"[bold]Fractal Trader[/bold] — network={settings.network.value}, "
        f"data dir={settings.fractal_data_dir.resolve()}"
    )
    smc(
        symbol=settings.default_symbol,
        timeframe=settings.default_timeframe,
        venue="hyperliquid",
        data=None,
        compat=False,
        param=None,
        bars=1500,
        out=None,
    )
