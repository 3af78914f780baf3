"""Small builders for hand-computed engine cases."""

from __future__ import annotations

from typing import Any

import numpy as np

from research.backtest.bars import Bars
from research.backtest.config import BacktestConfig
from research.backtest.costs import CostModel
from research.backtest.funding import FundingAlignment
from research.backtest.result import BacktestResult
from research.backtest.runner import run_backtest
from strategies.signals import Signals


def bars(rows: list[tuple[float, float, float, float]], timeframe: str = "1h") -> Bars:
    """Bars from (open, high, low, close) tuples."""
    a = np.array(rows, dtype=float)
    return Bars.from_arrays(a[:, 0], a[:, 1], a[:, 2], a[:, 3], timeframe=timeframe)


def flat(price: float = 100.0) -> tuple[float, float, float, float]:
    return (price, price, price, price)


def config(**kw: Any) -> BacktestConfig:
    """Zero-cost, fraction-1 sizing unless overridden (costs via `costs=` or cost kwargs)."""
    cost_keys = {f for f in CostModel.model_fields}
    costs = {k: kw.pop(k) for k in list(kw) if k in cost_keys}
    base = {"taker_fee": 0.0, "maker_fee": 0.0, "slippage_bps": 0.0, "funding": True}
    base.update(costs)
    kw.setdefault("sizing", "fraction")
    kw.setdefault("fraction", 1.0)
    return BacktestConfig(costs=CostModel(**base), **kw)


def run(
    b: Bars,
    cfg: BacktestConfig | None = None,
    funding: list[float] | None = None,
    **signals: Any,
) -> BacktestResult:
    """Run with signals given as {bar: value} dicts or full arrays."""
    n = len(b)
    full: dict[str, Any] = {}
    defaults = {"entry": 0, "entry_kind": 0, "exit_long": False, "exit_short": False}
    for name, val in signals.items():
        if isinstance(val, dict):
            arr = np.full(n, defaults.get(name, np.nan), dtype=object)
            for i, v in val.items():
                arr[i] = v
            val = arr.astype(float) if name not in defaults else arr.astype(int)
        full[name] = val
    sig = Signals.build(n, **full)
    fa = None
    if funding is not None:
        fa = FundingAlignment(np.asarray(funding, dtype=float), len(funding), 0, 3_600_000)
    return run_backtest(b, sig, cfg or config(), fa)
