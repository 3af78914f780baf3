"""`fractal backtest` — run one strategy backtest on one symbol and timeframe."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal, cast

import typer

from cluster.cli_common import console, fail, report_frame, settings_or_exit, split_params
from strategies.registry import names as strategy_names


def _parse_params(pairs: list[str], params_model: Any) -> Any:
    """`k=v` strings -> the strategy's pydantic Params (unknown keys and bad values fail)."""
    from pydantic import ValidationError

    try:
        raw = split_params(pairs)
    except ValueError as err:
        raise fail(str(err), 2) from None
    known = set(params_model.model_fields)
    unknown = sorted(set(raw) - known)
    if unknown:
        raise fail(
            f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}", 2
        )
    try:
        return params_model.model_validate(raw)
    except ValidationError as err:
        msgs = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'params'}: {e['msg']}" for e in err.errors()
        )
        raise fail(f"bad parameter: {msgs}", 2) from None


def _load(
    settings: Any, data: Path | None, venue: str | None, symbol: str | None, timeframe: str | None
) -> Any:
    """Candles + funding: the --data file (checked by load_user_bars) or store/shipped data."""
    from cluster.market_data import load_market_frame

    try:
        frame = load_market_frame(settings, venue, symbol, timeframe, data, with_funding=True)
    except (FileNotFoundError, ValueError) as err:
        raise fail(str(err), 2 if data is not None else 1) from None
    report_frame(frame)
    return frame


def _check_stops(strategy: str, default_sizing: str, signals: Any, index: Any) -> None:
    """--sizing risk sizes by the entry-to-stop distance: refuse, in CLI terms, a strategy
    whose entries carry no stop (the engine's own error speaks Python)."""
    import numpy as np

    bad = np.flatnonzero((signals.entry != 0) & np.isnan(signals.stop))
    if bad.size:
        alt = "all_in" if default_sizing == "risk" else default_sizing
        raise fail(
            f"--sizing risk needs a stop on every entry, and {strategy} sets none "
            f"(first entry without one: bar {int(bad[0])}, {index[bad[0]]:%Y-%m-%d %H:%M} UTC); "
            f"use --sizing {alt} ({strategy}'s default) or --sizing fraction",
            2,
        )


def _align(bars: Any, funding: Any) -> Any:
    import numpy as np
    import pandas as pd

    from research.backtest.funding import align_funding

    if funding is None or len(funding) == 0:
        return None
    if "timestamp" in funding.columns:
        ts = funding["timestamp"].to_numpy(dtype=np.int64)
    else:
        ts = np.asarray(pd.DatetimeIndex(funding.index).as_unit("ms").asi8, dtype=np.int64)
    return align_funding(bars.ts, bars.timeframe_ms, ts, funding["funding_rate"].to_numpy())


def _smc_zones(candles: Any, params: Any) -> list[Any]:
    """Order-block zones for the report, detected with the strategy's own detector
    parameters when it has them (so the boxes are the zones it traded on)."""
    from research.charts.smc_overlays import order_block_overlays
    from strategies.smc import detect

    kw = params.detector_params() if hasattr(params, "detector_params") else {}
    det = detect(candles, **kw)
    return order_block_overlays(candles.index, det, scale="swing")


def backtest_config(
    module: Any,
    fee: float | None,
    slippage: float | None,
    sizing: str | None,
    leverage: float,
    cash: float,
    no_funding: bool,
    fraction: float | None = None,
) -> Any:
    """The BacktestConfig of the cost/sizing options (shared by `fractal sweep`, so a sweep row
    and `fractal backtest` run on the same config); a bad value exits with code 2."""
    from pydantic import ValidationError

    from research.backtest.config import BacktestConfig
    from research.backtest.costs import CostModel

    # BacktestConfig validates the value below; the cast only tells mypy what it will be
    mode = cast(
        Literal["risk", "fraction", "all_in"], sizing or getattr(module, "DEFAULT_SIZING", "risk")
    )
    settings = settings_or_exit()
    cost_kw: dict[str, Any] = {"funding": not no_funding}
    if fee is not None:
        cost_kw["taker_fee"] = fee / 1e4
        cost_kw["maker_fee"] = min(CostModel().maker_fee, fee / 1e4)
    if slippage is not None:
        cost_kw["slippage_bps"] = slippage
    try:
        cfg = BacktestConfig(
            initial_cash=cash, sizing=mode, leverage=leverage,
            risk_percent=float(settings.base_risk_percent), costs=CostModel(**cost_kw),
            fraction=BacktestConfig.model_fields["fraction"].default if fraction is None
            else fraction,
        )  # fmt: skip
    except ValidationError as err:
        msgs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise fail(f"bad option: {msgs}", 2) from None
    if fraction is not None and mode != "fraction":
        raise fail(f"--fraction applies to --sizing fraction, not {mode}", 2)
    return cfg


def backtest(
    strategy: str = typer.Option(
        ..., "--strategy", help=f"strategy: {', '.join(strategy_names())}"
    ),
    symbol: str | None = typer.Option(
        None, "--symbol", help="default: from the --data file name, else DEFAULT_SYMBOL (BTC)"
    ),
    timeframe: str | None = typer.Option(
        None, "--timeframe", help="default: the --data file's (name or bar spacing), else 15m"
    ),
    data: Path | None = typer.Option(
        None,
        "--data",
        help="CSV(.gz) in the shipped format; validated like `fractal data import`",
    ),
    param: list[str] = typer.Option([], "--param", help="strategy parameter key=value"),
    fee: float | None = typer.Option(
        None, "--fee", help="taker fee in bps (default 4.5); maker = min(1.5, this)"
    ),
    slippage: float | None = typer.Option(None, "--slippage", help="slippage in bps (default 1)"),
    sizing: str | None = typer.Option(
        None,
        "--sizing",
        help="risk (needs a stop: liquidity_sweep, bos_orderblock) | fraction | all_in "
        "(default: the strategy's — sma_cross: all_in)",
    ),
    fraction: float | None = typer.Option(
        None, "--fraction", help="notional / equity with --sizing fraction (default 0.1)"
    ),
    leverage: float = typer.Option(1.0, "--leverage", help="max notional / equity"),
    cash: float = typer.Option(10_000.0, "--cash"),
    venue: str | None = typer.Option(None, "--venue", help="default: hyperliquid"),
    no_funding: bool = typer.Option(False, "--no-funding", help="ignore funding prints"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
    report: Path | None = typer.Option(None, "--report", help="write an HTML report here"),
    no_save: bool = typer.Option(
        False,
        "--no-save",
        help="do not keep the run under FRACTAL_DATA_DIR/backtests/ (the dashboard's results)",
    ),  # fmt: skip
    symbols: str | None = typer.Option(
        None, "--symbols", help="with --portfolio: comma-separated symbols, e.g. BTC,ETH,SOL"
    ),
    portfolio: bool = typer.Option(
        False,
        "--portfolio",
        help="one book over --symbols, every entry judged by the live risk rules "
        "(correlation, VaR, drawdown, exposure caps; settings as for `fractal live`)",
    ),
) -> None:
    """Backtest one strategy: next-bar-open fills, fees, slippage, funding, liquidation."""
    from research.backtest.bars import Bars, BarsError
    from research.backtest.runner import run_backtest
    from strategies import registry
    from strategies.signals import SignalError

    try:
        module = registry.get(strategy)
    except KeyError as err:
        raise fail(str(err.args[0]), 2) from None
    params = _parse_params(param, module.Params)
    if portfolio or symbols is not None:
        from cluster.cli_portfolio import run_portfolio_backtest

        if not portfolio or not symbols or symbol is not None or data is not None or report:
            raise fail("--symbols goes with --portfolio (and not with --symbol, --data or "
                       "--report)", 2)  # fmt: skip
        cost = backtest_config(module, fee, slippage, "risk", leverage, cash, no_funding)
        run_portfolio_backtest(strategy, module, params, symbols, timeframe, venue, cost.costs,
                               cash, as_json)  # fmt: skip
        return
    default_sizing = getattr(module, "DEFAULT_SIZING", "risk")
    cfg = backtest_config(module, fee, slippage, sizing, leverage, cash, no_funding, fraction)
    mode = cfg.sizing
    settings = settings_or_exit()
    frame = _load(settings, data, venue, symbol, timeframe)
    candles, funding, timeframe = frame.candles, frame.funding, frame.timeframe
    symbol = frame.symbol or (data.name if data is not None else None)  # an unnamed file
    source = frame.source
    try:  # the venue's own max leverage and margin tiers for this coin
        cfg = cfg.for_market(frame.venue, frame.symbol)
    except ValueError as err:
        raise fail(str(err), 2) from None
    try:
        bars = Bars.from_frame(candles, timeframe)
        signals = module.generate(candles, params)
        if mode == "risk":
            _check_stops(strategy, default_sizing, signals, candles.index)
        fa = _align(bars, funding) if cfg.costs.funding else None
        result = run_backtest(bars, signals, cfg, fa)
    except (BarsError, SignalError, ValueError) as err:
        raise fail(str(err), 2) from None
    result.info.update(
        {"strategy": strategy, "params": params.model_dump(), "symbol": symbol, "source": source,
         "sizing": mode}
    )  # fmt: skip
    if report is not None:
        from research.backtest.report import write_report

        write_report(
            report, bars, result, overlays=_smc_zones(candles, params),
            title=f"{strategy} {symbol} {timeframe}",
        )  # fmt: skip
    run_dir = None if no_save else _save(settings.fractal_data_dir, result, timeframe)
    if as_json:
        out = result.to_dict()
        if run_dir is not None:
            out["run_dir"] = str(run_dir)
        typer.echo(json.dumps(out))
        return
    m = result.metrics
    console.print(f"[bold]{strategy}[/bold] {symbol} {timeframe} — {source}")
    console.print(
        f"return {m['total_return']:.2%}  CAGR {m['cagr']:.2%}  Sharpe {m['sharpe']:.2f}  "
        f"Sortino {m['sortino']:.2f}  max DD {m['max_drawdown']:.2%}  trades {int(m['trade_count'])}  "
        f"win rate {m['win_rate']:.1%}  PF {m['profit_factor']:.2f}"
    )
    console.print(
        f"fees {m['fees_paid']:.2f}  funding paid {m['funding_paid']:.2f}  "
        f"(funding applied: {result.info['funding_applied']})"
    )
    if report is not None:
        console.print(f"report: {report}")
    if run_dir is not None:
        console.print(f"saved: {run_dir} (`fractal dashboard`, Research results)")


def _save(data_dir: Path, result: Any, timeframe: str) -> Path | None:
    """Keep the run for the dashboard; a failure to save is a warning, never a lost result."""
    from research.backtest.store import save_run

    try:
        return save_run(data_dir, result, timeframe)
    except OSError as err:
        typer.echo(f"warning: the run was not saved under {data_dir}: {err}", err=True)
        return None
