"""What the portfolio rules see of the market, built from closed bars the same way live and in
the portfolio backtest.

Why one module: PortfolioRisk (bars from the DataFeed's history) and the portfolio backtest
(bars from the data store) must hand the rules of :mod:`strategies.risk` identical inputs, or
research and live would decide differently. Everything here is a pure function of closed bars
(oldest first) and the book; nothing reads a clock: the caller passes the decision time.

* Returns on a common grid of ``bar_ms`` buckets (the correlation "bar size", a multiple of the
  feed's timeframe); a bucket missing in a symbol is NaN, so the rules fail closed on it.
* Equity **marked to market**: the venue's account value at its last refresh, with each open
  position re-marked from the venue's mark to the latest close (failure_modes F15).
* ATR now vs its baseline (the median ATR of the history) for the ``volatility`` breaker.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from strategies.risk import PortfolioState

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
MAX_LAG_BUCKETS = 2  # a symbol whose newest bucket is older than this is stale: fail closed


@dataclass(frozen=True)
class BarHistory:
    """Closed bars of one symbol, oldest first (open times in epoch ms)."""

    time_ms: IntArray
    high: FloatArray
    low: FloatArray
    close: FloatArray

    @classmethod
    def of(cls, rows: list[tuple[int, float, float, float]]) -> BarHistory:
        """From ``(time_ms, high, low, close)`` rows."""
        a = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
        return cls(a[:, 0].astype(np.int64), a[:, 1].copy(), a[:, 2].copy(), a[:, 3].copy())

    def upto(self, time_ms: int) -> BarHistory:
        """The bars that opened at or before ``time_ms`` (a causal prefix)."""
        n = int(np.searchsorted(self.time_ms, time_ms, side="right"))
        return BarHistory(self.time_ms[:n], self.high[:n], self.low[:n], self.close[:n])

    def tail(self, n: int) -> BarHistory:
        return BarHistory(self.time_ms[-n:], self.high[-n:], self.low[-n:], self.close[-n:])

    def __len__(self) -> int:
        return int(self.time_ms.shape[0])


def bucket_closes(h: BarHistory, tf_ms: int, bar_ms: int) -> tuple[IntArray, FloatArray]:
    """(bucket open times, closes) of the *complete* ``bar_ms`` buckets: a bucket counts only
    when its last ``tf_ms`` bar has closed (a forming bucket is never used)."""
    if bar_ms % tf_ms:
        raise ValueError(f"bar size {bar_ms} ms is not a multiple of the timeframe {tf_ms} ms")
    if bar_ms == tf_ms or len(h) == 0:
        return h.time_ms, h.close
    bucket = h.time_ms // bar_ms
    last = np.r_[bucket[1:] != bucket[:-1], True]
    times, closes = bucket[last] * bar_ms, h.close[last]
    complete = h.time_ms[last] == times + bar_ms - tf_ms
    return times[complete], closes[complete]


def return_grid(
    histories: Mapping[str, BarHistory], end_ms: int, tf_ms: int, bar_ms: int, n: int
) -> dict[str, FloatArray]:
    """Per-symbol simple returns over the ``n`` buckets ending at the newest complete bucket at
    or before ``end_ms`` that every symbol has (one may lag by ``MAX_LAG_BUCKETS``). A missing
    bucket gives NaN returns (the rules then fail closed); a stale symbol gives all NaN."""
    per = {s: bucket_closes(h, tf_ms, bar_ms) for s, h in histories.items()}
    want_end = (end_ms + tf_ms) // bar_ms * bar_ms - bar_ms  # newest bucket complete at end_ms
    lasts = [int(t[t <= want_end][-1]) for t, _ in per.values() if np.any(t <= want_end)]
    end = min(lasts) if len(lasts) == len(per) else want_end
    if want_end - end > MAX_LAG_BUCKETS * bar_ms:
        end = want_end  # a stale symbol must not freeze everyone else's window
    grid = end - bar_ms * np.arange(n, -1, -1, dtype=np.int64)
    out: dict[str, FloatArray] = {}
    for s, (t, c) in per.items():
        closes = np.full(grid.size, np.nan)
        if t.size:
            idx = np.clip(np.searchsorted(t, grid), 0, t.size - 1)
            hit = t[idx] == grid
            closes[hit] = c[idx[hit]]
        out[s] = closes[1:] / closes[:-1] - 1.0
    return out


def wilder_atr(h: BarHistory, period: int = 14) -> FloatArray:
    """Wilder's ATR per bar (NaN until ``period`` true ranges exist)."""
    n = len(h)
    out = np.full(n, np.nan)
    if n < period + 1:
        return out
    prev = h.close[:-1]
    tr = np.maximum(h.high[1:] - h.low[1:],
                    np.maximum(np.abs(h.high[1:] - prev), np.abs(h.low[1:] - prev)))  # fmt: skip
    atr = float(tr[:period].mean())
    out[period] = atr
    for i in range(period, tr.size):
        atr += (tr[i] - atr) / period
        out[i + 1] = atr
    return out


def volatility(h: BarHistory, period: int, baseline_bars: int) -> tuple[float, float] | None:
    """(ATR of the newest bar, median ATR of the ``baseline_bars`` before it); None while the
    history is too short to say (the correlation and VaR gates fail closed meanwhile)."""
    atr = wilder_atr(h.tail(baseline_bars + period + 1), period)
    base = atr[:-1][np.isfinite(atr[:-1])]
    if base.size < max(period, baseline_bars // 2) or not math.isfinite(atr[-1]):
        return None
    return float(atr[-1]), float(np.median(base))


def marked_equity(s: PortfolioState) -> float:
    """The account value re-marked to the latest closes: ``equity`` is the venue's account value
    at its last refresh (unrealised P&L at the venue's mark then); each open position's part is
    replaced by ``size * (close - entry)``. A symbol without a close keeps the venue's figure."""
    eq = s.equity
    for sym, size in s.positions.items():
        mark, entry = s.marks.get(sym), s.entries.get(sym)
        if size == 0.0 or mark is None or entry is None:
            continue
        eq += size * (mark - entry) - s.unrealized.get(sym, 0.0)
    return eq


def with_market(
    s: PortfolioState,
    symbol: str,
    histories: Mapping[str, BarHistory],
    end_ms: int,
    tf_ms: int,
    bar_ms: int,
    window: int,
    peak: float,
) -> PortfolioState:
    """The state the rules judge a ``symbol`` entry on at ``end_ms``: latest closes as marks,
    equity marked to market, the (persisted) peak, and returns of the symbols involved (the
    candidate and every open or pending one). Missing histories are simply absent: the
    correlation and VaR rules fail closed on them."""
    involved = {symbol} | s.open_symbols()
    marks = dict(s.marks)
    for sym, h in histories.items():
        past = h.upto(end_ms)
        if len(past):
            marks[sym] = float(past.close[-1])
    s = replace(s, marks=marks)
    eq = marked_equity(s)
    hist = {k: histories[k].upto(end_ms) for k in involved if k in histories}
    hist = {k: h for k, h in hist.items() if len(h)}
    rets = return_grid(hist, end_ms, tf_ms, bar_ms, window) if hist else {}
    return replace(s, equity=eq, peak_equity=max(peak, eq), returns=rets,
                   unrealized={}, entries={})  # fmt: skip
