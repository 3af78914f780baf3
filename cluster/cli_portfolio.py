"""`fractal backtest --symbols BTC,ETH,SOL --portfolio` — one book over several symbols, every
entry judged by the live risk rules (research/backtest/portfolio.py).

Wiring only: the candles and funding come from the store (or the shipped files), the strategy's
signals per symbol, the limits from the same settings `fractal live` uses (settings.risk_limits),
so a portfolio backtest and the live PortfolioRisk decide alike; the circuit breakers' thresholds
too (settings.breaker_thresholds), and their trips are listed.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from cluster.cli_common import console, fail, report_frame, settings_or_exit


def run_portfolio_backtest(strategy: str, module: Any, params: Any, symbols: str,
                           timeframe: str | None, venue: str | None, costs: Any, cash: float,
                           as_json: bool) -> None:  # fmt: skip
    from cluster.cli_backtest import _align
    from cluster.market_data import load_market_frame
    from research.backtest.bars import Bars, BarsError
    from research.backtest.portfolio import PortfolioBacktest, SymbolData
    from strategies.metrics import timeframe_minutes
    from strategies.signals import SignalError

    settings = settings_or_exit()
    names = [s.strip().upper() for s in symbols.split(",") if s.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise fail(f"--portfolio needs two or more distinct symbols, got {symbols!r}", 2)
    data: dict[str, SymbolData] = {}
    tf = timeframe
    for name in names:
        try:
            frame = load_market_frame(settings, venue, name, timeframe, None, with_funding=True)
        except (FileNotFoundError, ValueError) as err:
            raise fail(str(err), 1) from None
        report_frame(frame)
        tf = frame.timeframe
        try:
            bars = Bars.from_frame(frame.candles, frame.timeframe)
            signals = module.generate(frame.candles, params)
        except (BarsError, SignalError, ValueError) as err:
            raise fail(f"{name}: {err}", 2) from None
        fa = _align(bars, frame.funding) if costs.funding else None
        data[name] = SymbolData(bars.ts, bars.open, bars.high, bars.low, bars.close, signals,
                                None if fa is None else fa.total())  # fmt: skip
    assert tf is not None
    corr_tf = settings.correlation_timeframe or tf
    tf_ms, bar_ms = (timeframe_minutes(x) * 60_000 for x in (tf, corr_tf))
    if bar_ms % tf_ms:
        raise fail(f"CORRELATION_TIMEFRAME {corr_tf} is not a multiple of the bars' {tf}", 2)
    bt = PortfolioBacktest(
        data,
        settings.risk_limits(),
        tf_ms,
        bar_ms,
        costs,
        cash,
        thresholds=settings.breaker_thresholds(),
    )  # the live breakers
    summary = {"strategy": strategy, "symbols": names, "timeframe": tf,
               **bt.run().summary(cash)}  # fmt: skip
    if as_json:
        typer.echo(json.dumps(summary))
        return
    console.print(f"[bold]{strategy}[/bold] portfolio {','.join(names)} {tf} — live risk rules")
    console.print(
        f"return {summary['total_return']:.2%}  max DD {summary['max_drawdown']:.2%}  "
        f"trades {summary['trade_count']}  win rate {summary['win_rate']:.1%}  "
        f"fees {summary['fees_paid']:.2f}  funding paid {summary['funding_paid']:.2f}"
    )
    console.print(f"signals {summary['signals']}, approved {summary['approved']}; decided by: "
                  + ", ".join(f"{k} {v}" for k, v in summary["decisions_by_rule"].items()),
                  highlight=False)  # fmt: skip
    for trip in summary["breaker_trips"]:
        console.print(
            f"breaker {trip['breaker']} tripped at {_utc(trip['time_ms'])}: "
            f"{trip['reason']} (stays tripped: no resume in a backtest)",
            highlight=False,
        )
    if not summary["breaker_trips"]:
        console.print("no circuit breaker tripped (exchange failures cannot occur in a backtest)")


def _utc(ms: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
