"""`fractal sweep` — many variants of one strategy on Ray, resumable, tracked in MLflow.

Wiring only: data loading, costs and sizing are `fractal backtest`'s own helpers (so each row
equals what `fractal backtest` reports), Ray is started or joined by cluster/ray_runtime.py, the
work is research/sweep. With --json, stdout carries exactly one JSON object; the progress bar
and every library log go to stderr.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import typer

from cluster.cli_backtest import _align, _load, backtest_config
from cluster.cli_common import err_console, fail, reserved_stdout, settings_or_exit


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _datasets(
    data: Path | None, symbol: str | None, symbols: str | None, timeframe: str | None,
    timeframes: str | None, venue: str | None, config: Any,
) -> list[Any]:  # fmt: skip
    """Every (symbol, timeframe) of the sweep, loaded as `fractal backtest` loads it."""
    from research.backtest.bars import Bars, BarsError
    from research.sweep.dataset import build

    if data is not None and (symbols or timeframes):
        raise fail("--data takes one file; --symbols/--timeframes need the data store", 2)
    pairs: list[tuple[str | None, str | None]]
    if data is not None:
        pairs = [(symbol, timeframe)]
    else:
        syms: list[str | None] = list(_split(symbols)) or [symbol]
        tfs: list[str | None] = list(_split(timeframes)) or [timeframe]
        pairs = [(s, t) for s in syms for t in tfs]
    out = []
    for sym, tf in pairs:
        frame = _load(settings_or_exit(), data, venue, sym, tf)
        name = frame.symbol or (data.name if data is not None else str(sym))
        try:
            bars = Bars.from_frame(frame.candles, frame.timeframe)
            fa = _align(bars, frame.funding) if config.costs.funding else None
            config.for_market(frame.venue, frame.symbol)  # a leverage above the coin's max: exit 2
            out.append(build(frame.candles, bars, fa, config, name, frame.source, frame.venue))
        except (BarsError, ValueError) as err:
            raise fail(f"{name}/{frame.timeframe}: {err}", 2) from None
    labels = [d.label for d in out]
    if len(set(labels)) != len(labels):
        raise fail(f"the same dataset twice: {', '.join(labels)}", 2)
    return out


def _quiet_logs() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    for name in ("mlflow", "alembic", "optuna", "ray", "urllib3", "numba"):
        logging.getLogger(name).setLevel(logging.WARNING)


def sweep(
    strategy: str = typer.Option(..., "--strategy", help="strategy name (e.g. bos_orderblock)"),
    symbol: str | None = typer.Option(None, "--symbol", help="one symbol (default BTC)"),
    timeframe: str | None = typer.Option(None, "--timeframe", help="default: file name, else 15m"),
    data: Path | None = typer.Option(None, "--data", help="one CSV(.gz) instead of the store"),
    symbols: str | None = typer.Option(None, "--symbols", help="several symbols: BTC,ETH"),
    timeframes: str | None = typer.Option(None, "--timeframes", help="several: 15m,1h"),
    method: str = typer.Option("grid", "--method", help="grid | random | lhs | optuna"),
    param: list[str] = typer.Option(
        [], "--param", help="NAME=LO:HI[:STEP], NAME=a,b or NAME=v (none: the Params' own space)"
    ),
    variants: int = typer.Option(100, "--variants", help="points drawn (random/lhs/optuna)"),
    seed: int = typer.Option(0, "--seed"),
    fee: float | None = typer.Option(None, "--fee", help="taker fee in bps (default 4.5)"),
    slippage: float | None = typer.Option(None, "--slippage", help="slippage in bps (default 1)"),
    sizing: str | None = typer.Option(None, "--sizing", help="risk | fraction | all_in"),
    fraction: float | None = typer.Option(
        None, "--fraction", help="notional / equity with --sizing fraction (default 0.1)"
    ),
    leverage: float = typer.Option(1.0, "--leverage"),
    cash: float = typer.Option(10_000.0, "--cash"),
    venue: str | None = typer.Option(None, "--venue", help="default: the file's, else hyperliquid"),
    no_funding: bool = typer.Option(False, "--no-funding", help="ignore funding prints"),
    address: str | None = typer.Option(
        None, "--address", help="auto | HOST:PORT of a Ray head (default: embedded local Ray)"
    ),
    tracking_uri: str | None = typer.Option(
        None, "--tracking-uri", help="MLflow tracking URI (default: SQLite under FRACTAL_DATA_DIR)"
    ),
    experiment: str = typer.Option("fractal-sweeps", "--experiment", help="MLflow experiment"),
    top: int = typer.Option(5, "--top", help="top variants logged as MLflow child runs"),
    study: str | None = typer.Option(None, "--study", help="Optuna study name (resumes by name)"),
    storage: str | None = typer.Option(
        None, "--storage", help="Optuna RDB URL (default: journal file under FRACTAL_DATA_DIR)"
    ),
    objective: list[str] = typer.Option(
        [], "--objective", help="optuna objective(s): sharpe, total_return, max_drawdown, ..."
    ),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Sweep a strategy's parameters on Ray; results table, MLflow run, overfitting report."""
    from research.sweep.optuna_study import ObjectiveError, parse_objectives
    from research.sweep.runner import SweepError, SweepInterrupted
    from research.sweep.space import Space, SpaceError
    from research.sweep.sweep import METHODS, SweepRequest, run_sweep
    from strategies import registry

    _quiet_logs()
    from cluster.ray_runtime import RayAddressError, RayStartError, ensure_ray, parse_address

    try:
        parse_address(address)  # a malformed --address fails before any data is loaded
    except RayAddressError as err:
        raise fail(str(err), 2) from None
    if method not in METHODS:
        raise fail(f"unknown --method {method!r}; use one of {', '.join(METHODS)}", 2)
    try:
        module = registry.get(strategy)
    except KeyError as err:
        raise fail(str(err.args[0]), 2) from None
    try:
        space = Space.parse(module.Params, param)
        objectives = parse_objectives(objective)
        if method != "grid" and variants < 1:
            raise SpaceError(f"--variants must be >= 1, got {variants}")
    except (SpaceError, ObjectiveError) as err:
        raise fail(str(err), 2) from None
    cfg = backtest_config(module, fee, slippage, sizing, leverage, cash, no_funding, fraction)
    settings = settings_or_exit()
    datasets = _datasets(data, symbol, symbols, timeframe, timeframes, venue, cfg)
    req = SweepRequest(
        strategy=strategy, method=method, space=space, config=cfg, datasets=datasets,
        data_dir=Path(settings.fractal_data_dir).resolve(), variants=None if method == "grid" else variants,
        seed=seed, tracking_uri=tracking_uri, experiment=experiment, top_n=top,
        progress=True, study=study, storage=storage, objectives=objectives,
    )  # fmt: skip
    try:
        with reserved_stdout(
            whole_process=as_json
        ) as emit:  # stdout carries the JSON only, whatever Ray prints
            ensure_ray(address)
            summary = run_sweep(req)
            if as_json:
                emit(json.dumps(summary, default=str))
    except RayAddressError as err:
        raise fail(str(err), 2) from None
    except RayStartError as err:
        raise fail(str(err)) from None
    except (SpaceError, SweepError) as err:
        raise fail(str(err), 2) from None
    except SweepInterrupted as err:
        err_console.print(
            f"interrupted: {err.computed} variants computed this run are kept; "
            "run the same command again to resume"
        )
        raise typer.Exit(130) from None
    if not as_json:
        _print(summary)


def _print(s: dict[str, Any]) -> None:
    from cluster.cli_common import console

    console.print(
        f"[bold]{s['strategy']}[/bold] {s['method']} sweep {s['sweep_id']}: {s['variants']} variants "
        f"({s['computed']} computed, {s['skipped']} already done) on {', '.join(s['datasets'])}"
    )
    b = s["best"]
    if b:
        console.print(
            f"best {b['symbol']}/{b['timeframe']} {b['params']}: Sharpe {b['sharpe']:.2f}  "
            f"return {b['total_return']:.2%}  max DD {b['max_drawdown']:.2%}  trades {b['trades']}"
        )
    console.print(f"DSR {s['dsr']:.3f}  PBO {s['pbo']:.3f}  PSR {s['psr']:.3f} — {s['verdict']}")
    console.print(f"results: {s['results']}")
    console.print(f"MLflow run {s['mlflow_run_id']} at {s['tracking_uri']}")
