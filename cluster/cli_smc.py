"""`fractal smc SYMBOL` — detect SMC structure on stored/shipped candles and write a chart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from cluster.cli_common import console, fail, report_frame, settings_or_exit, split_params


def smc(
    symbol: Annotated[str, typer.Argument(help="Market, e.g. BTC (Hyperliquid coin) or BTCUSDT.")],
    timeframe: Annotated[
        str | None,
        typer.Option(
            "--timeframe", "-t", help="Bar timeframe (default: the --data file's, else 15m)."
        ),
    ] = None,
    venue: Annotated[
        str | None, typer.Option(help="Venue folder in the store (default hyperliquid).")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="Read this CSV(.gz) in the shipped format instead; a shipped-style name "
            "(<venue>_<SYMBOL>_<tf>.csv.gz) must agree with SYMBOL and --timeframe."
        ),
    ] = None,
    compat: Annotated[
        bool,
        typer.Option("--compat", help="Reference-package mode (HAS LOOK-AHEAD; analysis only)."),
    ] = False,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Detector parameter key=value.")
    ] = None,
    bars: Annotated[int, typer.Option(help="Bars shown in the chart (detection uses all).")] = 1500,
    out: Annotated[
        Path | None, typer.Option(help="Chart path (default under FRACTAL_DATA_DIR).")
    ] = None,
) -> None:
    """Detect SMC structure, print a summary and write an interactive Plotly chart."""
    from cluster.market_data import load_market_frame
    from cluster.smc_report import run_compat, run_native

    settings = settings_or_exit()
    if bars < 10:
        raise fail("--bars must be at least 10", 2)
    try:
        params = split_params(param or [])
    except ValueError as err:
        raise fail(str(err), 2) from None
    try:
        frame = load_market_frame(settings, venue, symbol, timeframe, data)
    except FileNotFoundError as err:
        raise fail(str(err), 2 if data is not None else 1) from None
    except ValueError as err:  # a bad --data file, or a shipped file that fails validation
        raise fail(str(err), 2 if data is not None else 1) from None
    report_frame(frame)
    df = frame.candles
    if df.empty:
        raise fail(f"{frame.source} holds no bars")
    label = frame.label
    chart = out or settings.fractal_data_dir / "charts" / (
        f"smc_{label.replace('/', '_').replace(' ', '_')}{'_compat' if compat else ''}.html"
    )
    t0 = time.perf_counter()
    try:
        runner = run_compat if compat else run_native
        with console.status(
            f"detecting SMC structure on {len(df):,} bars "
            "(the first run compiles the numba kernels, then they are cached)…"
        ):
            summary = runner(df, params, label, bars, chart)
    except ValueError as err:  # unknown or out-of-range detector parameters
        raise fail(str(err), 2) from None
    elapsed = time.perf_counter() - t0
    console.print(
        f"[bold]{label}[/bold]: {len(df):,} bars from {frame.source} "
        f"({df.index[0]:%Y-%m-%d %H:%M} → {df.index[-1]:%Y-%m-%d %H:%M} UTC)"
    )
    if compat:
        console.print(
            "[yellow]compat mode reproduces smartmoneyconcepts 0.0.27 including its "
            "look-ahead: for analysis/migration only, never for trading.[/yellow]"
        )
    console.print(summary)
    console.print(f"detection + chart in {elapsed:.2f}s → [green]{chart}[/green]")
