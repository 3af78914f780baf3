"""What a backtest returns: trades table, equity curve, metrics, and a JSON view."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from research.backtest import engine as k

TRADE_COLUMNS = (
    "entry_time", "exit_time", "entry_bar", "exit_bar", "side", "size", "entry_price",
    "exit_price", "fees", "funding", "pnl", "exit_reason",
)  # fmt: skip


def trades_frame(raw: np.ndarray, index: pd.DatetimeIndex) -> pd.DataFrame:
    """Turn the engine's float matrix into a typed table (bars -> UTC times)."""
    entry_bar = raw[:, k.T_ENTRY_BAR].astype(np.int64)
    exit_bar = raw[:, k.T_EXIT_BAR].astype(np.int64)
    return pd.DataFrame(
        {
            "entry_time": index[entry_bar],
            "exit_time": index[exit_bar],
            "entry_bar": entry_bar,
            "exit_bar": exit_bar,
            "side": pd.Categorical.from_codes(
                (raw[:, k.T_SIDE] > 0).astype(np.int8), categories=pd.Index(["short", "long"])
            ),
            "size": raw[:, k.T_SIZE],
            "entry_price": raw[:, k.T_ENTRY_PX],
            "exit_price": raw[:, k.T_EXIT_PX],
            "fees": raw[:, k.T_FEES],
            "funding": raw[:, k.T_FUNDING],
            "pnl": raw[:, k.T_PNL],
            "exit_reason": pd.Categorical.from_codes(
                raw[:, k.T_REASON].astype(np.int8), categories=pd.Index(list(k.EXIT_REASONS))
            ),
        },
        columns=list(TRADE_COLUMNS),
    )


@dataclass
class BacktestResult:
    """Trades and metrics; the per-bar curves (equity marked at each bar's close, cash, signed
    position) are built on first access by `curves`, which returns (equity, cash, position).

    Why lazy: writing three float64 rows per bar costs more than the simulation itself on a
    1M-bar run (fresh pages), and sweeps and most callers only read trades and metrics."""

    trades: pd.DataFrame
    metrics: dict[str, float]
    info: dict[str, Any] = field(default_factory=dict)  # funding applied, config, ...
    curves: Callable[[], tuple[pd.Series, pd.Series, pd.Series]] | None = field(
        default=None, repr=False
    )
    _curves: tuple[pd.Series, pd.Series, pd.Series] | None = field(
        default=None, init=False, repr=False
    )

    def _curve(self, k_: int) -> pd.Series:
        if self._curves is None:
            if self.curves is None:
                raise ValueError("this result was built without per-bar curves")
            self._curves = self.curves()
        return self._curves[k_]

    @property
    def equity(self) -> pd.Series:
        return self._curve(0)

    @property
    def cash(self) -> pd.Series:
        return self._curve(1)

    @property
    def position(self) -> pd.Series:
        return self._curve(2)

    @property
    def drawdown(self) -> pd.Series:
        peak = self.equity.cummax()
        return self.equity / peak - 1.0

    def to_dict(self) -> dict[str, Any]:
        """Metrics + info + trades with ISO-8601 UTC times; inf/NaN become None (valid JSON)."""
        t = self.trades
        trades = [
            {
                "entry_time": _iso(t["entry_time"].iloc[i]),
                "exit_time": _iso(t["exit_time"].iloc[i]),
                **{c: float(t[c].iloc[i]) for c in _FLOAT_FIELDS},
                "side": str(t["side"].iloc[i]),
                "exit_reason": str(t["exit_reason"].iloc[i]),
            }
            for i in range(len(t))
        ]
        out: dict[str, Any] = {k_: _clean(v) for k_, v in self.metrics.items()}
        out.update({k_: _clean(v) for k_, v in self.info.items()})
        out["trades"] = trades
        return out

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)


_FLOAT_FIELDS = ("entry_price", "exit_price", "size", "pnl", "fees", "funding")


def _iso(t: Any) -> str:
    return pd.Timestamp(t).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean(v: Any) -> Any:
    if isinstance(v, float | np.floating) and not math.isfinite(float(v)):
        return None
    if isinstance(v, np.generic):
        return v.item()
    return v
